// Stytch B2B members and SCIM groups → normalized lifecycle commands.
//
// Order: Svix retries and does not order deliveries. A member is stamped with its own `updated_at`
// (the clock members.search shows too), which Stytch gives in whole seconds: two changes in one
// second would tie, so the envelope's microsecond `timestamp` (when Stytch sent the event) breaks the
// tie within that second. Events without an entity clock (deletions, group changes, memberships)
// are stamped with the envelope's `timestamp`.
import type { LifecycleCommandInput, UserProfile } from 'lifecycle-hub/connector';
import type { StytchEvent, StytchMember } from './payloads.ts';

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);
const object = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

/** Status `deleted` (the API) or `deactivated` (Stytch's SCIM page) is a deprovisioned member. */
export const DELETED_STATUSES = new Set(['deleted', 'deactivated']);
/** Statuses members.search is asked for: every documented one, so deleted members show as such. */
export const SEARCH_STATUSES = ['active', 'invited', 'pending', 'deleted'];

/** The member's `updated_at` (seconds), refined within its second by when the event was sent. */
export function memberClock(member: StytchMember, sentAt?: Date): Date {
  const updated = member.updated_at ? Date.parse(member.updated_at) : Number.NaN;
  if (Number.isNaN(updated)) return sentAt ?? new Date();
  if (!sentAt) return new Date(updated);
  return new Date(Math.min(Math.max(sentAt.getTime(), updated), updated + 999));
}

export function memberProfile(member: StytchMember): UserProfile {
  const scim = object(member.scim_registration?.scim_attributes);
  const name = object(scim.name);
  const enterprise = object(scim.enterprise_extension);
  const manager = object(enterprise.manager);
  const email = text(member.email_address);
  const emails: NonNullable<UserProfile['emails']> = email ? [{ value: email, type: null, primary: true, verified: member.email_address_verified ?? null }] : [];
  for (const e of Array.isArray(scim.emails) ? scim.emails.map(object) : []) {
    const value = text(e.value);
    if (value && !emails.some((x) => x.value.toLowerCase() === value.toLowerCase())) emails.push({ value, type: text(e.type), primary: false, verified: null });
  }
  return {
    userName: text(scim.user_name) ?? email,
    externalId: text(member.scim_registration?.external_id) ?? text(member.external_id),
    email,
    emails,
    givenName: text(name.given_name),
    familyName: text(name.family_name),
    displayName: text(member.name) ?? text(scim.display_name),
    title: text(scim.title),
    department: text(enterprise.department),
    employeeNumber: text(enterprise.employee_number),
    manager: text(manager.value) ? { value: manager.value as string, displayName: text(manager.display_name) } : null,
    customAttributes: member.trusted_metadata ?? {},
    sourceData: {
      organization_id: member.organization_id,
      status: member.status,
      roles: (member.roles ?? []).map((r) => r.role_id).sort(),
      is_breakglass: member.is_breakglass ?? false,
      scim_connection_id: text(member.scim_registration?.connection_id),
    },
  };
}

/** A member as it is at Stytch: deleted ones are deleted here, the rest upserted (active unless deactivated). */
export function memberCommands(member: StytchMember, sentAt?: Date): LifecycleCommandInput[] {
  const at = memberClock(member, sentAt);
  if (member.status === 'deleted') {
    return [{ type: 'deleteUser', user: { sourceId: member.member_id }, reason: 'deleted in Stytch (status "deleted")', occurredAt: at }];
  }
  return [{ type: 'upsertUser', sourceId: member.member_id, profile: memberProfile(member), active: !DELETED_STATUSES.has(member.status), mode: 'replace', occurredAt: at }];
}

/** Group ids a SCIM-provisioned member lists (`scim_attributes.groups[].value`), with their names. */
export function memberGroups(member: StytchMember): Array<{ id: string; name: string | null }> {
  const groups = object(member.scim_registration?.scim_attributes).groups;
  return (Array.isArray(groups) ? groups.map(object) : []).filter((g) => text(g.value)).map((g) => ({ id: g.value as string, name: text(g.display) }));
}

export type Translation = { commands: LifecycleCommandInput[] } | { ignored: string };

export function translateEvent(event: StytchEvent, organizationId: string): Translation {
  const elsewhere = (org: string | null | undefined) => (org && org !== organizationId ? { ignored: `${event.type} of organization ${org}; this connection follows ${organizationId}` } : null);
  const at = event.sentAt;
  if (event.objectType === 'member') {
    if (event.action === 'delete') {
      // The envelope names no organization: a member of another one is not held here and the
      // deletion leaves only a tombstone (which also keeps a late, older create of it from applying).
      return { commands: [{ type: 'deleteUser', user: { sourceId: event.id }, reason: `deleted in Stytch (${event.type})`, occurredAt: at }] };
    }
    if (event.action === 'create' || event.action === 'update') {
      if (!event.member) throw new Error(`${event.type} carries no member`);
      return elsewhere(event.member.organization_id) ?? { commands: memberCommands(event.member, at) };
    }
  }
  if (event.objectType === 'idp_group') {
    const group = event.idpGroup;
    const outside = elsewhere(group?.organization_id);
    if (outside) return outside;
    const groupId = group?.group_id ?? event.id;
    switch (event.action) {
      case 'create':
      case 'update':
        if (!group) throw new Error(`${event.type} carries no idp_group`);
        return { commands: [{ type: 'upsertGroup', sourceId: groupId, displayName: group.group_name ?? groupId, sourceData: { organization_id: group.organization_id, connection_id: group.connection_id }, occurredAt: at }] };
      case 'delete':
        return { commands: [{ type: 'deleteGroup', group: { sourceId: groupId }, occurredAt: at }] };
      case 'member_add':
      case 'member_delete': {
        const memberId = event.memberId ?? event.member?.member_id ?? null;
        if (!memberId) throw new Error(`${event.type} names no member (member_id)`);
        const users = [{ sourceId: memberId }];
        if (event.action === 'member_delete') {
          // A member not seen yet is refused (409, the hub's default for webhooks) so the removal is retried once it exists.
          return { commands: [{ type: 'removeMembers', group: { sourceId: groupId }, users, occurredAt: at }] };
        }
        return {
          commands: [
            // An add names the group whole: create it if its own event has not arrived yet. (Not on
            // removals: Stytch may send those after deleting the group, and must not revive it.)
            ...(group ? [{ type: 'upsertGroup' as const, sourceId: groupId, displayName: group.group_name ?? groupId, sourceData: { organization_id: group.organization_id, connection_id: group.connection_id }, occurredAt: at }] : []),
            { type: 'addMembers', group: { sourceId: groupId }, users, occurredAt: at },
          ],
        };
      }
    }
  }
  return { ignored: `${event.type} is not a member or SCIM group lifecycle event` };
}
