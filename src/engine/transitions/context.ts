// What every transition works with: the batch's context, audit and event drafts, the lookups of
// the users and groups a command names, and the clocks that decide what is stale.
import { v7 as uuidv7 } from 'uuid';
import { canonicalJson } from '../audit-chain.ts';
import type { AuditDraft } from '../audit-log.ts';
import type { GroupRef, LifecycleCommand, UserRef } from '../commands.ts';
import { EngineError } from '../errors.ts';
import type { LinkingSettings } from '../identity-linking.ts';
import type { Actor, GroupRecord, MembershipRecord, UserRecord } from '../types.ts';
import type { ConnectionInfo, UnitOfWork } from '../unit-of-work/index.ts';

export interface ApplyContext {
  uow: UnitOfWork;
  /** The connection a connector delivery comes from; null for API actions. */
  connection: ConnectionInfo | null;
  actor: Actor;
  deliveryId: string | null;
  receivedAt: Date;
  dryRun: boolean;
  /** True when this provider's connector can revoke sessions and credentials upstream. */
  revokesUpstream(provider: string): boolean;
}

export type Cmd<T extends LifecycleCommand['type']> = Extract<LifecycleCommand, { type: T }>;

export const isStale = (stored: Date | null, at: Date) => stored !== null && at.getTime() < stored.getTime();
export const laterOf = (a: Date | null, b: Date) => (a && a.getTime() > b.getTime() ? a : b);
export const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

// Read with the batch's context (engine.ts).
export function linkingOf(ctx: ApplyContext): LinkingSettings {
  const { identityLinking, authoritativeConnectionId } = ctx.uow.organization;
  return { mode: identityLinking, authoritativeConnectionId };
}

// Ids a connector asked for (upsertUser.id / upsertGroup.id) that some row, in any organization,
// already has (organization.takenIds, read with the batch's context): creating with one of them is
// refused, never an overwrite of that row.
export function newRecordId(ctx: ApplyContext, requested: string | undefined, existing: (id: string) => unknown): string {
  if (!requested) return uuidv7();
  if (ctx.uow.organization.takenIds.includes(requested) || existing(requested)) {
    throw new EngineError('CONFLICT', `id ${requested} is already in use`, { field: 'id' });
  }
  return requested;
}

export function occurredAt(ctx: ApplyContext, cmd: { occurredAt?: Date }) {
  return cmd.occurredAt ?? ctx.receivedAt;
}

export function audit(ctx: ApplyContext, draft: Omit<AuditDraft, 'actor' | 'deliveryId' | 'testMode'>): number {
  return ctx.uow.addAudit({ ...draft, actor: ctx.actor, deliveryId: ctx.deliveryId, testMode: ctx.dryRun });
}

export function event(ctx: ApplyContext, type: string, at: Date, fields: { userId?: string | null; groupId?: string | null; connectionId?: string | null; data?: Record<string, unknown>; auditIndex?: number }) {
  ctx.uow.addEvent({
    type,
    occurredAt: at,
    receivedAt: ctx.receivedAt,
    connectionId: ctx.connection?.id ?? null,
    deliveryId: ctx.deliveryId,
    ...fields,
  });
}

export async function findUser(ctx: ApplyContext, ref: UserRef): Promise<UserRecord | undefined> {
  const { uow, connection } = ctx;
  if ('sourceId' in ref) {
    if (!connection) throw new EngineError('INVALID_COMMAND', 'a user can be named by sourceId only in a connector delivery; use userId');
    return uow.userBySource(connection.id, ref.sourceId);
  }
  await uow.loadUsers({ ids: [ref.userId] });
  const user = uow.user(ref.userId);
  // A connector only ever reaches its own connection's users.
  if (user && connection && user.connectionId !== connection.id) return undefined;
  return user;
}

export async function requireUser(ctx: ApplyContext, ref: UserRef): Promise<UserRecord> {
  const user = await findUser(ctx, ref);
  if (!user || user.state === 'DELETED') throw new EngineError('NOT_FOUND', `user ${'sourceId' in ref ? ref.sourceId : ref.userId} not found`);
  return user;
}

export async function findGroup(ctx: ApplyContext, ref: GroupRef): Promise<GroupRecord | undefined> {
  const { uow, connection } = ctx;
  if ('sourceId' in ref) {
    if (!connection) throw new EngineError('INVALID_COMMAND', 'a group can be named by sourceId only in a connector delivery; use groupId');
    return uow.groupBySource(connection.id, ref.sourceId);
  }
  await uow.loadGroups({ ids: [ref.groupId] });
  const group = uow.group(ref.groupId);
  if (group && connection && group.connectionId !== connection.id) return undefined;
  return group;
}

export async function requireGroup(ctx: ApplyContext, ref: GroupRef): Promise<GroupRecord> {
  const group = await findGroup(ctx, ref);
  if (!group || group.deletedAt) throw new EngineError('NOT_FOUND', `group ${'sourceId' in ref ? ref.sourceId : ref.groupId} not found`);
  return group;
}

export function touchUser(ctx: ApplyContext, user: UserRecord, changes: Partial<UserRecord>): UserRecord {
  const next = { ...user, ...changes, version: user.version + 1, updatedAt: ctx.uow.now };
  ctx.uow.setUser(next);
  return next;
}

export function isActiveMembership(m: MembershipRecord | undefined) {
  return !!m && !m.suspendedAt && !m.removedAt;
}

export function pick<T extends object>(row: T, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = (row as Record<string, unknown>)[k];
  return out;
}
