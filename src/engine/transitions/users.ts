// Users: the source's view of a user (upsertUser), deactivation, reactivation and deletion.
import { EngineError } from '../errors.ts';
import { personKeyOf } from '../identity-linking.ts';
import { nameKey } from '../name-key.ts';
import { computeRoles } from '../roles.ts';
import type { CommandResult, UserRecord } from '../types.ts';
import type { ConnectionInfo } from '../unit-of-work/index.ts';
import { audit, event, findUser, isStale, laterOf, linkingOf, newRecordId, occurredAt, pick, requireUser, touchUser, type ApplyContext, type Cmd } from './context.ts';
import { deprovision, deprovisionIfPersonLeft, reactivate, type TransitionOutcome } from './lifecycle.ts';
import { applyProfile, blankUser, changedFields, checkUserKeys, summarize } from './profile.ts';

/**
 * A source's full or partial view of a user. Two clocks decide what applies: the profile is
 * last-writer-wins on sourceUpdatedAt, the lifecycle state (active, deleted) on sourceStateAt, so a
 * late profile update still lands on a user deactivated or deleted after it, without undoing that.
 * Steps: find the record (none: provisionUser), check the caller's preconditions, read the clocks,
 * apply the profile and check its keys, record the update (audit row and event), then follow the
 * state the source reports.
 */
export async function upsertUser(ctx: ApplyContext, cmd: Cmd<'upsertUser'>): Promise<CommandResult> {
  const connection = ctx.connection;
  if (!connection) throw new EngineError('INVALID_COMMAND', 'upsertUser comes only from a connector delivery');
  const at = occurredAt(ctx, cmd);
  const existing = ctx.uow.userBySource(connection.id, cmd.sourceId);
  if (!existing) return provisionUser(ctx, connection, cmd, at);

  checkPreconditions(cmd, existing);
  const fresh = freshness(connection, existing, at);
  if (!fresh.profile && !fresh.state) return { status: 'stale', user: existing };
  const profiled = await profileUpdate(ctx, connection, cmd, existing, fresh);
  const update: UserUpdate = {
    existing,
    profiled,
    fresh,
    at,
    changed: changedFields(existing, profiled),
    active: fresh.state ? (cmd.active ?? (fresh.resurrect ? true : undefined)) : undefined,
  };
  const recorded = recordUpdate(ctx, update);
  const { user, transitioned, warnings } = await followSourceState(ctx, cmd, update, recorded);
  const applied = update.changed.length > 0 || transitioned || fresh.resurrect;
  return { status: applied ? (ctx.dryRun ? 'dry_run' : 'applied') : 'noop', user, changed: update.changed, warnings };
}

/** A user the hub has no record of: created from the command, active or provisioned inactive. */
async function provisionUser(ctx: ApplyContext, connection: ConnectionInfo, cmd: Cmd<'upsertUser'>, at: Date): Promise<CommandResult> {
  const { uow } = ctx;
  if (cmd.ifAbsent === 'fail') throw new EngineError('NOT_FOUND', `user ${cmd.sourceId} not found`);
  const user = applyProfile(ctx, { ...blankUser(ctx, connection, cmd.sourceId), id: newRecordId(ctx, cmd.id, (id) => uow.user(id)) }, cmd.profile, 'replace');
  checkUserKeys(ctx, user);
  Object.assign(user, { sourceUpdatedAt: at, sourceStateAt: at, sourceActive: cmd.active !== false });
  user.personKey = personKeyOf(linkingOf(ctx).mode, user);
  if (cmd.active === false) {
    Object.assign(user, { state: 'DEPROVISIONED', deprovisionedAt: uow.now, deprovisionReason: cmd.inactiveReason ?? 'provisioned inactive by the source' });
  } else {
    Object.assign(user, computeRoles([], [], uow.organization));
  }
  uow.setUser(user);
  const data = { state: user.state, roles: user.roles, profile: summarize(user) };
  const auditIndex = audit(ctx, { action: 'user.provisioned', targetType: 'user', targetId: user.id, data });
  event(ctx, 'user.provisioned', at, { userId: user.id, data: { state: user.state, roles: user.roles }, auditIndex });
  const left = await deprovisionIfPersonLeft(ctx, user, at);
  return { status: ctx.dryRun ? 'dry_run' : 'applied', user: left?.user ?? user, changed: ['*'], warnings: left?.warnings ?? [] };
}

/** What the caller (a SCIM POST, PUT or PATCH) required of the stored user. */
function checkPreconditions(cmd: Cmd<'upsertUser'>, existing: UserRecord) {
  if (cmd.ifExists === 'fail' && existing.sourceDeletedAt === null) {
    throw new EngineError('CONFLICT', `user ${cmd.sourceId} already exists`, { field: 'sourceId', existingId: existing.sourceId });
  }
  // Like upsertGroup: a user the source deleted is missing to an update that must not create (SCIM PUT/PATCH → 404).
  if (existing.sourceDeletedAt && cmd.ifAbsent === 'fail') throw new EngineError('NOT_FOUND', `user ${cmd.sourceId} not found`);
  if (cmd.expectedVersion !== undefined && cmd.expectedVersion !== existing.version) {
    throw new EngineError('PRECONDITION_FAILED', `user ${cmd.sourceId} is at version ${existing.version}, not ${cmd.expectedVersion}`);
  }
}

/** Which parts of a command at `at` apply to the stored user, by its two clocks. */
interface Freshness {
  /** The source had deleted the user. */
  deleted: boolean;
  /** Newer than the deletion: the source created the user again. */
  resurrect: boolean;
  /** The profile applies (newer than sourceUpdatedAt, and the user's data not erased). */
  profile: boolean;
  /** The active state applies (newer than sourceStateAt, and the user not deleted, unless resurrected). */
  state: boolean;
}

function freshness(connection: ConnectionInfo, existing: UserRecord, at: Date): Freshness {
  const deleted = existing.sourceDeletedAt !== null;
  const resurrect = deleted && existing.sourceStateAt !== null && at > existing.sourceStateAt;
  const erased = deleted && !resurrect && connection.deprovisionPolicy === 'HARD_DELETE';
  return {
    deleted,
    resurrect,
    profile: !isStale(existing.sourceUpdatedAt, at) && !erased,
    state: !isStale(existing.sourceStateAt, at) && (!deleted || resurrect),
  };
}

/** The stored user with the command's profile applied (when fresh), its keys recomputed and checked. */
async function profileUpdate(ctx: ApplyContext, connection: ConnectionInfo, cmd: Cmd<'upsertUser'>, existing: UserRecord, fresh: Freshness): Promise<UserRecord> {
  const base: UserRecord = fresh.resurrect ? { ...existing, sourceDeletedAt: null } : existing;
  const profiled = fresh.profile ? applyProfile(ctx, base, cmd.profile, cmd.mode) : { ...base, userNameKey: nameKey(base.userName), externalIdKey: base.externalId || null };
  if (fresh.deleted && !fresh.resurrect) Object.assign(profiled, { userNameKey: null, externalIdKey: null });
  // A key from before keys were normalized (checkUserKeys): whoever holds the normalized one is
  // loaded, to be seen (prefetch loaded only the holder of the command's userName, if it had one).
  if (profiled.userNameKey && existing.userNameKey && profiled.userNameKey !== existing.userNameKey && profiled.userName === existing.userName) {
    await ctx.uow.loadUsers({ connectionId: connection.id, userNameKeys: [profiled.userNameKey] });
  }
  checkUserKeys(ctx, profiled, existing);
  return profiled;
}

interface UserUpdate {
  existing: UserRecord;
  profiled: UserRecord;
  fresh: Freshness;
  at: Date;
  /** Profile fields that differ from the stored user. */
  changed: string[];
  /** The active state the source reports, when that part of the command applies. */
  active: boolean | undefined;
}

/** Writes the update with its audit row and event or, when nothing changed, only the clocks that moved. */
function recordUpdate(ctx: ApplyContext, { existing, profiled, fresh, at, changed, active }: UserUpdate): UserRecord {
  const { uow } = ctx;
  const bookkeeping: Partial<UserRecord> = {
    sourceUpdatedAt: fresh.profile ? laterOf(existing.sourceUpdatedAt, at) : existing.sourceUpdatedAt,
    sourceStateAt: active !== undefined ? laterOf(existing.sourceStateAt, at) : existing.sourceStateAt,
    sourceActive: active ?? existing.sourceActive,
    lastSyncedAt: uow.now,
    personKey: personKeyOf(linkingOf(ctx).mode, profiled),
  };
  if (changed.length || fresh.resurrect) {
    const { sourceUpdatedAt: _s, sourceStateAt: _t, lastSyncedAt: _l, sourceActive: _a, ...profileOnly } = profiled;
    const user = touchUser(ctx, existing, { ...profileOnly, ...bookkeeping, state: fresh.resurrect && existing.state === 'DELETED' ? 'DEPROVISIONED' : existing.state });
    const data = { changed, before: pick(existing, changed), after: pick(user, changed), ...(fresh.resurrect ? { resurrected: true } : {}) };
    const auditIndex = audit(ctx, { action: 'user.updated', targetType: 'user', targetId: user.id, data });
    event(ctx, 'user.updated', at, { userId: user.id, data: { changed }, auditIndex });
    return user;
  }
  // Nothing to say, but the clocks move and the source confirmed the user (drift detection uses it).
  const next = { ...existing, ...bookkeeping };
  const moved = next.sourceActive !== existing.sourceActive || next.sourceUpdatedAt !== existing.sourceUpdatedAt || next.sourceStateAt !== existing.sourceStateAt || next.personKey !== existing.personKey;
  if (moved || !existing.lastSyncedAt || uow.now.getTime() - existing.lastSyncedAt.getTime() > 1000) {
    uow.setUser(next);
    return next;
  }
  return existing;
}

/** Deprovisions or reactivates as the source reports; else, a new person key may link to a leaver. */
async function followSourceState(ctx: ApplyContext, cmd: Cmd<'upsertUser'>, { existing, fresh, at, active }: UserUpdate, user: UserRecord) {
  let out: TransitionOutcome | null = null;
  if (active === false && user.state === 'ACTIVE') {
    out = await deprovision(ctx, user, cmd.inactiveReason ?? 'the source reports the user inactive', at);
  } else if (active === true && (!existing.sourceActive || fresh.resurrect) && user.state !== 'ACTIVE') {
    out = await reactivate(ctx, user, at);
  } else if (user.personKey !== existing.personKey) {
    out = await deprovisionIfPersonLeft(ctx, user, at);
  }
  return out ? { user: out.user, transitioned: true, warnings: [...out.warnings] } : { user, transitioned: false, warnings: [] as string[] };
}

export async function deactivateUser(ctx: ApplyContext, cmd: Cmd<'deactivateUser'>): Promise<CommandResult> {
  const user = await requireUser(ctx, cmd.user);
  const at = occurredAt(ctx, cmd);
  const fromSource = ctx.connection !== null;
  if (fromSource && isStale(user.sourceStateAt, at)) return { status: 'stale', user };
  if (fromSource && user.sourceDeletedAt) return { status: 'noop', user };
  const bookkeeping = fromSource ? { sourceActive: false, sourceStateAt: laterOf(user.sourceStateAt, at), lastSyncedAt: ctx.uow.now } : {};
  if (user.state !== 'ACTIVE') {
    if (fromSource) ctx.uow.setUser({ ...user, ...bookkeeping });
    return { status: 'noop', user: ctx.uow.user(user.id) };
  }
  const reason = cmd.reason ?? (fromSource ? 'deactivated at the source' : 'deprovisioned manually');
  const out = await deprovision(ctx, user, reason, at, bookkeeping);
  return { status: ctx.dryRun ? 'dry_run' : 'applied', user: ctx.uow.user(out.user.id), warnings: out.warnings };
}

export async function reactivateUser(ctx: ApplyContext, cmd: Cmd<'reactivateUser'>): Promise<CommandResult> {
  const user = await requireUser(ctx, cmd.user);
  const at = occurredAt(ctx, cmd);
  const fromSource = ctx.connection !== null;
  if (fromSource && isStale(user.sourceStateAt, at)) return { status: 'stale', user };
  if (user.sourceDeletedAt) {
    if (fromSource) return { status: 'noop', user };
    throw new EngineError('FAILED_PRECONDITION', `user ${user.id} was deleted at its source: provision it there again`);
  }
  if (!fromSource && !user.sourceActive) {
    throw new EngineError('FAILED_PRECONDITION', `the source of user ${user.id} still reports it inactive: reactivate it there (the directory is the source of truth)`);
  }
  const bookkeeping = fromSource ? { sourceActive: true, sourceStateAt: laterOf(user.sourceStateAt, at), lastSyncedAt: ctx.uow.now } : {};
  if (user.state === 'ACTIVE') {
    if (fromSource) ctx.uow.setUser({ ...user, ...bookkeeping });
    return { status: 'noop', user: ctx.uow.user(user.id) };
  }
  const out = await reactivate(ctx, user, at, bookkeeping);
  return { status: ctx.dryRun ? 'dry_run' : 'applied', user: out.user, warnings: out.warnings };
}

export async function deleteUser(ctx: ApplyContext, cmd: Cmd<'deleteUser'>): Promise<CommandResult> {
  const { uow } = ctx;
  const at = occurredAt(ctx, cmd);
  const connection = ctx.connection;
  const policy = connection?.deprovisionPolicy ?? 'SOFT';
  let user = await findUser(ctx, cmd.user);
  if (!user) {
    if (!connection || !('sourceId' in cmd.user)) throw new EngineError('NOT_FOUND', `user ${'userId' in cmd.user ? cmd.user.userId : cmd.user.sourceId} not found`);
    // Deleted before we saw it created: a tombstone keeps the late, older create from reviving it.
    const tombstone: UserRecord = {
      ...blankUser(ctx, connection, cmd.user.sourceId),
      state: policy === 'HARD_DELETE' ? 'DELETED' : 'DEPROVISIONED',
      sourceActive: false,
      deprovisionedAt: uow.now,
      deprovisionReason: 'deleted at the source before it was provisioned here',
      sourceDeletedAt: uow.now,
      sourceStateAt: at,
      sourceUpdatedAt: policy === 'HARD_DELETE' ? at : null,
    };
    uow.setUser(tombstone);
    return { status: 'noop', user: tombstone };
  }
  if (connection && isStale(user.sourceStateAt, at)) return { status: 'stale', user };
  if (user.state === 'DELETED' || (user.sourceDeletedAt && policy === 'SOFT')) {
    // Deleted again, later: the clock still moves, or a create older than this deletion (but newer
    // than the first one) would revive the user.
    if (connection && (!user.sourceStateAt || at > user.sourceStateAt)) {
      user = { ...user, sourceStateAt: at, ...(user.state === 'DELETED' ? { sourceUpdatedAt: laterOf(user.sourceUpdatedAt, at) } : {}) };
      uow.setUser(user);
    }
    return { status: 'noop', user };
  }

  const bookkeeping: Partial<UserRecord> = connection
    ? { sourceDeletedAt: uow.now, sourceActive: false, sourceStateAt: laterOf(user.sourceStateAt, at), userNameKey: null, externalIdKey: null }
    : {};
  const reason = cmd.reason ?? (connection ? 'deleted at the source' : 'deleted manually');
  const warnings: string[] = [];
  if (user.state === 'ACTIVE') {
    const out = await deprovision(ctx, user, reason, at, bookkeeping);
    user = out.user;
    warnings.push(...out.warnings);
  } else {
    user = touchUser(ctx, user, bookkeeping);
  }
  if (policy === 'HARD_DELETE') {
    await uow.loadMembershipsOfUsers([user.id]);
    for (const m of uow.membershipsOfUser(user.id)) if (!m.removedAt) uow.setMembership({ ...m, removedAt: uow.now, suspendedAt: m.suspendedAt ?? uow.now });
    user = touchUser(ctx, user, {
      state: 'DELETED',
      // Erased: older profile updates arriving later must not write personal data back.
      sourceUpdatedAt: laterOf(user.sourceUpdatedAt, at),
      // The person key is made of the email or externalId: personal data too.
      personKey: null,
      userName: null, userNameKey: null, externalIdKey: null, email: null, emails: [], givenName: null, familyName: null,
      displayName: null, title: null, department: null, employeeNumber: null, manager: null, customAttributes: {}, sourceData: {},
    });
  }
  const data = { policy, reason, erased: policy === 'HARD_DELETE' };
  const auditIndex = audit(ctx, { action: 'user.deleted', targetType: 'user', targetId: user.id, data, warnings });
  event(ctx, 'user.deleted', at, { userId: user.id, data, auditIndex });
  return { status: ctx.dryRun ? 'dry_run' : 'applied', user, warnings };
}
