// WorkOS directory objects and events → normalized lifecycle commands.
//
// Order: WorkOS retries for days and does not order deliveries, so every command carries the source
// time it describes and the engine ignores anything older than what it holds. A user or group is
// stamped with its own `updated_at` (the clock the listings show too); a deletion with the later of
// that and the event's `created_at` (the object's last `updated_at` can equal the one of the update
// just before it, and a deletion must outrank that update); a membership change, which has no clock
// of its own, with the event's `created_at`.
import type { LifecycleCommandInput, UserProfile } from 'lifecycle-hub/connector';
import type { WorkosEventView, WorkosGroupView, WorkosUserView } from './payloads.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);
const object = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
const later = (a: string, b: string) => new Date(Math.max(Date.parse(a), Date.parse(b)));

/** Inactive (or the pre-2023 "suspended") means deprovisioned. */
export const isActiveState = (state: string) => state === 'active';

export function userProfile(user: WorkosUserView): UserProfile {
  const raw = user.rawAttributes;
  const enterprise = object(raw[ENTERPRISE]);
  const custom = user.customAttributes;
  const manager = object(enterprise.manager);
  const rawEmails = Array.isArray(raw.emails) ? raw.emails.map(object).filter((e) => text(e.value)) : [];
  const emails = rawEmails.length
    ? rawEmails.map((e) => ({ value: e.value as string, type: text(e.type), primary: e.primary === true }))
    : user.email
      ? [{ value: user.email, type: null, primary: true }]
      : [];
  const fullName = [user.firstName, user.lastName].filter((p) => text(p)).join(' ');
  return {
    userName: text(raw.userName) ?? user.email,
    externalId: user.idpId,
    email: user.email,
    emails,
    givenName: user.firstName,
    familyName: user.lastName,
    displayName: text(raw.displayName) ?? (fullName || null),
    title: text(raw.title) ?? text(custom.job_title),
    department: text(enterprise.department) ?? text(custom.department),
    employeeNumber: text(enterprise.employeeNumber) ?? text(custom.employee_number),
    manager: text(manager.value) ? { value: manager.value as string, displayName: text(manager.displayName) } : null,
    customAttributes: custom,
    sourceData: {
      directory_id: user.directoryId,
      organization_id: user.organizationId,
      idp_id: user.idpId,
      state: user.state,
      roles: user.roles,
      raw_attributes: raw,
    },
  };
}

export function upsertUser(user: WorkosUserView): LifecycleCommandInput {
  return {
    type: 'upsertUser',
    sourceId: user.id,
    profile: userProfile(user),
    active: isActiveState(user.state),
    mode: 'replace',
    occurredAt: new Date(user.updatedAt),
  };
}

export function upsertGroup(group: WorkosGroupView): LifecycleCommandInput {
  return {
    type: 'upsertGroup',
    sourceId: group.id,
    displayName: group.name,
    externalId: group.idpId,
    sourceData: { directory_id: group.directoryId, organization_id: group.organizationId, idp_id: group.idpId, raw_attributes: group.rawAttributes },
    occurredAt: new Date(group.updatedAt),
  };
}

export type Translation =
  | { commands: LifecycleCommandInput[] }
  | { ignored: string }
  /** dsync.deleted: the caller looks up what the hub holds of the directory. */
  | { directoryDeleted: { directoryId: string; at: Date } };

export function translateEvent(event: WorkosEventView): Translation {
  switch (event.type) {
    case 'dsync.user.created':
    case 'dsync.user.updated':
      return { commands: [upsertUser(event.user)] };
    case 'dsync.user.deleted':
      return {
        commands: [{ type: 'deleteUser', user: { sourceId: event.user.id }, reason: 'deleted in the directory (WorkOS dsync.user.deleted)', occurredAt: later(event.user.updatedAt, event.createdAt) }],
      };
    case 'dsync.group.created':
    case 'dsync.group.updated':
      return { commands: [upsertGroup(event.group)] };
    case 'dsync.group.deleted':
      return { commands: [{ type: 'deleteGroup', group: { sourceId: event.group.id }, occurredAt: later(event.group.updatedAt, event.createdAt) }] };
    case 'dsync.group.user_added':
    case 'dsync.group.user_removed':
      // The event carries both objects whole: upserting them first makes each delivery
      // self-sufficient, whatever order the user's and group's own events arrive in.
      return {
        commands: [
          upsertGroup(event.group),
          upsertUser(event.user),
          {
            type: event.type === 'dsync.group.user_added' ? 'addMembers' : 'removeMembers',
            group: { sourceId: event.group.id },
            users: [{ sourceId: event.user.id }],
            occurredAt: new Date(event.createdAt),
          },
        ],
      };
    case 'dsync.activated':
      return { ignored: `directory ${event.directory.id} activated: its users and groups arrive as dsync.user.* and dsync.group.* events (or run a sync)` };
    case 'dsync.deleted':
      return { directoryDeleted: { directoryId: event.directory.id, at: new Date(event.createdAt) } };
    case 'other':
      return { ignored: `${event.name} is not a directory lifecycle event` };
  }
}

/** What dsync.deleted means here: WorkOS deleted every user and group of the directory and sends nothing more about them. */
export function directoryDeletedCommands(directoryId: string, at: Date, users: string[], groups: string[]): LifecycleCommandInput[] {
  const reason = `the WorkOS directory ${directoryId} was deleted (dsync.deleted)`;
  return [
    ...users.map((sourceId): LifecycleCommandInput => ({ type: 'deleteUser', user: { sourceId }, reason, occurredAt: at })),
    ...groups.map((sourceId): LifecycleCommandInput => ({ type: 'deleteGroup', group: { sourceId }, occurredAt: at })),
  ];
}
