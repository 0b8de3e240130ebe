// What each lifecycle command does to state. Pure decisions over the unit of work's tracked rows;
// the only I/O is loading (and locking) what a decision needs.
import { v7 as uuidv7 } from 'uuid';
import { canonicalJson } from './audit-chain.ts';
import type { AuditDraft } from './audit-log.ts';
import type { GroupRef, LifecycleCommand, UserProfile, UserRef } from './commands.ts';
import { EngineError } from './errors.ts';
import { LINKED_DEPROVISION_REASON, personKeyOf, type LinkingSettings } from './identity-linking.ts';
import { invisibleCharacterIn, nameKey, showName } from './name-key.ts';
import { adminRole, computeRoles, ORG_WORKSPACE, sameRoles } from './roles.ts';
import type { Actor, CommandResult, GroupRecord, MembershipRecord, UserRecord } from './types.ts';
import type { ConnectionInfo, UnitOfWork } from './unit-of-work.ts';

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

type Cmd<T extends LifecycleCommand['type']> = Extract<LifecycleCommand, { type: T }>;

const profileFields = [
  'userName', 'externalId', 'email', 'emails', 'givenName', 'familyName', 'displayName', 'title', 'department',
  'employeeNumber', 'manager', 'customAttributes', 'sourceData',
] as const satisfies readonly (keyof UserProfile & keyof UserRecord)[];

const isStale = (stored: Date | null, at: Date) => stored !== null && at.getTime() < stored.getTime();
const laterOf = (a: Date | null, b: Date) => (a && a.getTime() > b.getTime() ? a : b);
const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

// Read with the batch's context (engine.ts).
function linkingOf(ctx: ApplyContext): LinkingSettings {
  const { identityLinking, authoritativeConnectionId } = ctx.uow.organization;
  return { mode: identityLinking, authoritativeConnectionId };
}

/** Users of other connections linked to this one (same person key), loaded and locked. */
async function linkedUsers(ctx: ApplyContext, user: UserRecord, state: 'ACTIVE' | 'DEPROVISIONED'): Promise<UserRecord[]> {
  if (!user.personKey) return [];
  const rows = await ctx.uow.tx.query<{ id: string }>(
    `SELECT id FROM directory_user WHERE organization_id = $1 AND person_key = $2 AND connection_id <> $3 AND state = $4::"UserState" ORDER BY id`,
    [user.organizationId, user.personKey, user.connectionId, state],
  );
  if (!rows.length) return [];
  await ctx.uow.loadUsers({ ids: rows.map((r) => r.id) });
  return rows.map((r) => ctx.uow.user(r.id)).filter((u): u is UserRecord => !!u && u.state === state && u.personKey === user.personKey);
}

// ---- prefetch ----------------------------------------------------------------------------------

/** Loads, in as few queries as possible, every user and group a batch of commands names. */
export async function prefetch(uow: UnitOfWork, connection: ConnectionInfo | null, commands: readonly LifecycleCommand[]) {
  const userSources = new Set<string>();
  const userIds = new Set<string>();
  const nameKeys = new Set<string>();
  const extKeys = new Set<string>();
  const groupSources = new Set<string>();
  const groupIds = new Set<string>();
  const groupNames = new Set<string>();
  const addUser = (ref: UserRef) => ('sourceId' in ref ? userSources.add(ref.sourceId) : userIds.add(ref.userId));
  const addGroup = (ref: GroupRef) => ('sourceId' in ref ? groupSources.add(ref.sourceId) : groupIds.add(ref.groupId));
  for (const c of commands) {
    switch (c.type) {
      case 'upsertUser': {
        userSources.add(c.sourceId);
        const name = nameKey(c.profile.userName);
        if (name) nameKeys.add(name);
        if (c.profile.externalId) extKeys.add(c.profile.externalId);
        break;
      }
      case 'recordRevocation':
        break;
      case 'deactivateUser':
      case 'reactivateUser':
      case 'deleteUser':
      case 'registerSession':
      case 'endSession':
      case 'registerCredential':
        addUser(c.user);
        break;
      case 'upsertGroup': {
        groupSources.add(c.sourceId);
        const name = nameKey(c.displayName);
        if (name) groupNames.add(name);
        break;
      }
      case 'deleteGroup':
      case 'setGroupMapping':
      case 'removeGroupMapping':
        addGroup(c.group);
        break;
      case 'addMembers':
      case 'removeMembers':
      case 'replaceMembers':
        addGroup(c.group);
        c.users.forEach(addUser);
        break;
    }
  }
  await uow.loadUsers({ connectionId: connection?.id, sourceIds: [...userSources], ids: [...userIds], userNameKeys: [...nameKeys], externalIdKeys: [...extKeys] });
  await uow.loadGroups({ connectionId: connection?.id, sourceIds: [...groupSources], ids: [...groupIds], displayNameKeys: [...groupNames] });
}

// Ids a connector asked for (upsertUser.id / upsertGroup.id) that some row, in any organization,
// already has (organization.takenIds, read with the batch's context): creating with one of them is
// refused, never an overwrite of that row.
function newRecordId(ctx: ApplyContext, requested: string | undefined, existing: (id: string) => unknown): string {
  if (!requested) return uuidv7();
  if (ctx.uow.organization.takenIds.includes(requested) || existing(requested)) {
    throw new EngineError('CONFLICT', `id ${requested} is already in use`, { field: 'id' });
  }
  return requested;
}

// ---- shared helpers ------------------------------------------------------------------------------

function occurredAt(ctx: ApplyContext, cmd: { occurredAt?: Date }) {
  return cmd.occurredAt ?? ctx.receivedAt;
}

function audit(ctx: ApplyContext, draft: Omit<AuditDraft, 'actor' | 'deliveryId' | 'testMode'>): number {
  return ctx.uow.addAudit({ ...draft, actor: ctx.actor, deliveryId: ctx.deliveryId, testMode: ctx.dryRun });
}

function event(ctx: ApplyContext, type: string, at: Date, fields: { userId?: string | null; groupId?: string | null; connectionId?: string | null; data?: Record<string, unknown>; auditIndex?: number }) {
  ctx.uow.addEvent({
    type,
    occurredAt: at,
    receivedAt: ctx.receivedAt,
    connectionId: ctx.connection?.id ?? null,
    deliveryId: ctx.deliveryId,
    ...fields,
  });
}

async function findUser(ctx: ApplyContext, ref: UserRef): Promise<UserRecord | undefined> {
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

async function requireUser(ctx: ApplyContext, ref: UserRef): Promise<UserRecord> {
  const user = await findUser(ctx, ref);
  if (!user || user.state === 'DELETED') throw new EngineError('NOT_FOUND', `user ${'sourceId' in ref ? ref.sourceId : ref.userId} not found`);
  return user;
}

async function findGroup(ctx: ApplyContext, ref: GroupRef): Promise<GroupRecord | undefined> {
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

async function requireGroup(ctx: ApplyContext, ref: GroupRef): Promise<GroupRecord> {
  const group = await findGroup(ctx, ref);
  if (!group || group.deletedAt) throw new EngineError('NOT_FOUND', `group ${'sourceId' in ref ? ref.sourceId : ref.groupId} not found`);
  return group;
}

function touchUser(ctx: ApplyContext, user: UserRecord, changes: Partial<UserRecord>): UserRecord {
  const next = { ...user, ...changes, version: user.version + 1, updatedAt: ctx.uow.now };
  ctx.uow.setUser(next);
  return next;
}

function isActiveMembership(m: MembershipRecord | undefined) {
  return !!m && !m.suspendedAt && !m.removedAt;
}

/** Removes denied attribute names at any depth (matching the last segment of URN-style keys too). */
function dropDenied<T>(value: T, denied: Set<string>): T {
  if (Array.isArray(value)) return value.map((v) => dropDenied(v, denied)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const last = k.slice(k.lastIndexOf(':') + 1).toLowerCase();
      if (denied.has(k.toLowerCase()) || denied.has(last)) continue;
      out[k] = dropDenied(v, denied);
    }
    return out as T;
  }
  return value;
}

function primaryEmail(emails: UserRecord['emails']): string | null {
  return (emails.find((e) => e.primary) ?? emails[0])?.value ?? null;
}

function applyProfile(ctx: ApplyContext, base: UserRecord, profile: UserProfile, mode: 'merge' | 'replace'): UserRecord {
  const denied = new Set((ctx.connection?.deniedAttributes ?? []).map((d) => d.toLowerCase()));
  const next: UserRecord = { ...base };
  const set = <K extends (typeof profileFields)[number]>(field: K, value: UserRecord[K]) => {
    next[field] = value;
  };
  for (const field of profileFields) {
    const given = profile[field];
    if (field === 'customAttributes') {
      const incoming = dropDenied(given ?? {}, denied) as Record<string, unknown>;
      if (mode === 'replace') set('customAttributes', incoming);
      else if (given !== undefined) {
        const merged = { ...base.customAttributes };
        for (const [k, v] of Object.entries(incoming)) {
          if (v === null) delete merged[k];
          else merged[k] = v;
        }
        set('customAttributes', merged);
      }
      continue;
    }
    if (field === 'sourceData') {
      if (given !== undefined || mode === 'replace') set('sourceData', dropDenied(given ?? {}, denied) as Record<string, unknown>);
      continue;
    }
    if (field === 'emails') {
      if (given !== undefined || mode === 'replace') set('emails', (given as UserRecord['emails'] | undefined) ?? []);
      continue;
    }
    if (given !== undefined || mode === 'replace') set(field, (given ?? null) as never);
  }
  if (profile.email === undefined && (profile.emails !== undefined || mode === 'replace')) next.email = primaryEmail(next.emails);
  if (next.userName && next.userName !== base.userName) refuseInvisible(next.userName);
  const live = next.sourceDeletedAt === null;
  next.userNameKey = live ? nameKey(next.userName) : null;
  next.externalIdKey = live ? next.externalId || null : null;
  return next;
}

function changedFields(before: UserRecord, after: UserRecord): string[] {
  return profileFields.filter((f) => !same(before[f], after[f]));
}

// Only in a userName that is new or changed: a user stored with one before they were refused can
// still be updated and deprovisioned (its source re-sends the name with every change).
function refuseInvisible(userName: string) {
  const found = invisibleCharacterIn(userName);
  if (!found) return;
  throw new EngineError(
    'INVALID_COMMAND',
    `userName ${showName(userName)} contains an invisible character (${found.codePoint} at position ${found.index}), which would make it look like another userName: remove it at the source`,
    { field: 'userName', sourceValue: true },
  );
}

/**
 * Refuses a user whose userName or externalId key another live user of its connection holds.
 * `before`: the stored user this is an update of. Its key may predate today's keys (a collision the
 * migration that normalized them kept and reported, docs/operations.md): while its userName is
 * unchanged it keeps that key until the normalized one is free, so its source can still update
 * and deprovision it.
 */
function checkUserKeys(ctx: ApplyContext, user: UserRecord, before?: UserRecord) {
  const { uow } = ctx;
  if (user.userNameKey) {
    const holder = uow.userHoldingKey(user.connectionId, 'userNameKey', user.userNameKey, user.id);
    if (holder && before?.userNameKey && before.userName === user.userName) user.userNameKey = before.userNameKey;
    else if (holder) throw new EngineError('CONFLICT', `userName ${showName(user.userName ?? '')} is already taken in this connection`, { field: 'userName', existingId: holder.sourceId });
  }
  if (user.externalIdKey) {
    const holder = uow.userHoldingKey(user.connectionId, 'externalIdKey', user.externalIdKey, user.id);
    if (holder) throw new EngineError('CONFLICT', `externalId "${user.externalId}" is already taken in this connection`, { field: 'externalId', existingId: holder.sourceId });
  }
}

// ---- roles ---------------------------------------------------------------------------------------

interface RoleChange {
  userId: string;
  from: Record<string, string>;
  to: Record<string, string>;
}

/** Recomputes the roles of these users from their active memberships; returns what changed. */
async function recomputeRoles(ctx: ApplyContext, userIds: Iterable<string>, at: Date): Promise<{ changes: RoleChange[]; warnings: string[] }> {
  const { uow } = ctx;
  const ids = [...new Set(userIds)];
  await uow.loadMembershipsOfUsers(ids);
  const groupIds = ids.flatMap((id) => uow.membershipsOfUser(id).filter(isActiveMembership).map((m) => m.groupId));
  await uow.loadMappings(groupIds);
  const changes: RoleChange[] = [];
  const lostAdmin: string[] = [];
  for (const id of ids) {
    const user = uow.user(id);
    if (!user) continue;
    const memberOf = uow.membershipsOfUser(id).filter(isActiveMembership).map((m) => m.groupId);
    const mappings = memberOf.flatMap((g) => uow.mappingsOf(g));
    const next = user.state === 'ACTIVE' ? computeRoles(memberOf, mappings, uow.organization) : { roles: {}, isAdmin: false };
    if (sameRoles(user.roles, next.roles) && user.isAdmin === next.isAdmin) continue;
    if (user.isAdmin && !next.isAdmin && user.state === 'ACTIVE') lostAdmin.push(id);
    changes.push({ userId: id, from: user.roles, to: next.roles });
    touchUser(ctx, user, { roles: next.roles, isAdmin: next.isAdmin });
    event(ctx, 'role.changed', at, { userId: id, data: { from: user.roles, to: next.roles } });
  }
  const warnings = lostAdmin.length ? await adminOrphanWarnings(ctx, lostAdmin, at) : [];
  return { changes, warnings };
}

async function adminOrphanWarnings(ctx: ApplyContext, losingAdmins: string[], at: Date): Promise<string[]> {
  const remaining = await ctx.uow.countOtherActiveAdmins(losingAdmins);
  if (remaining > 0) return [];
  const role = adminRole(ctx.uow.organization);
  const warning = `organization ${ctx.uow.organization.id} has no active ${role ?? 'admin'} left`;
  event(ctx, 'organization.admin_orphaned', at, { userId: losingAdmins[0], data: { formerAdmins: losingAdmins, warning } });
  return [warning];
}

// ---- state transitions ---------------------------------------------------------------------------

interface TransitionOutcome {
  user: UserRecord;
  data: Record<string, unknown>;
  warnings: string[];
}

/** Deprovision: state, every session and credential revoked, memberships ended, roles dropped. */
async function deprovision(ctx: ApplyContext, user: UserRecord, reason: string, at: Date, extra: Partial<UserRecord> = {}, eventData: Record<string, unknown> = {}): Promise<TransitionOutcome> {
  const { uow } = ctx;
  const wasAdmin = user.isAdmin && user.state === 'ACTIVE';
  const warnings = wasAdmin ? await adminOrphanWarnings(ctx, [user.id], at) : [];

  const live = await uow.loadOffboarding(user.id);
  const ended = uow.membershipsOfUser(user.id).filter(isActiveMembership);
  for (const m of ended) uow.setMembership({ ...m, suspendedAt: uow.now });
  if (ended.length) await uow.loadGroups({ ids: ended.map((m) => m.groupId) });
  const endedMemberships = ended.map((m) => ({ groupId: m.groupId, displayName: uow.group(m.groupId)?.displayName ?? null }));

  const revoked: Record<'session' | 'credential', Array<{ id: string; externalRef: string; kind?: string; upstream: boolean }>> = { session: [], credential: [] };
  for (const table of ['session', 'credential'] as const) {
    for (const s of live[table]) {
      const upstream = !!s.provider && ctx.revokesUpstream(s.provider);
      uow.revokeSession(table, s.id, reason, upstream ? 'PENDING' : 'NOT_REQUIRED');
      revoked[table].push({ id: s.id, externalRef: s.externalRef, ...(s.kind ? { kind: s.kind } : {}), upstream });
    }
  }

  const previousRoles = user.roles;
  const next = touchUser(ctx, user, {
    ...extra,
    state: 'DEPROVISIONED',
    deprovisionedAt: uow.now,
    deprovisionReason: reason,
    roles: {},
    isAdmin: false,
  });
  const data = {
    reason,
    ...eventData,
    warnings,
    previousRoles,
    endedMemberships,
    revokedSessions: revoked.session.map((s) => s.id),
    revokedCredentials: revoked.credential.map((c) => c.id),
    revokedSessionRefs: revoked.session,
    revokedCredentialRefs: revoked.credential,
  };
  const auditIndex = audit(ctx, { action: 'user.deprovisioned', targetType: 'user', targetId: user.id, data, warnings, at: uow.now });
  event(ctx, 'user.deprovisioned', at, { userId: user.id, data, auditIndex });
  for (const s of revoked.session) event(ctx, 'session.revoked', at, { userId: user.id, data: { sessionId: s.id, externalRef: s.externalRef, reason, upstream: s.upstream }, auditIndex });
  for (const c of revoked.credential) event(ctx, 'credential.revoked', at, { userId: user.id, data: { credentialId: c.id, kind: c.kind, externalRef: c.externalRef, reason, upstream: c.upstream }, auditIndex });
  if (Object.keys(previousRoles).length) event(ctx, 'role.changed', at, { userId: user.id, data: { from: previousRoles, to: {} }, auditIndex });

  // One person, several sources: the authoritative source's leaver loses access everywhere.
  const linking = user.personKey ? linkingOf(ctx) : null;
  if (linking && linking.mode !== 'NONE' && linking.authoritativeConnectionId === user.connectionId) {
    for (const linked of await linkedUsers(ctx, user, 'ACTIVE')) {
      const out = await deprovision(ctx, linked, LINKED_DEPROVISION_REASON, at, {}, { linkedFrom: { userId: user.id, connectionId: user.connectionId, personKey: user.personKey } });
      warnings.push(...out.warnings);
    }
  }
  return { user: next, data, warnings };
}

/** Reactivation restores the memberships the source still holds and recomputes roles. */
async function reactivate(ctx: ApplyContext, user: UserRecord, at: Date, extra: Partial<UserRecord> = {}): Promise<TransitionOutcome> {
  const { uow } = ctx;
  await uow.loadMembershipsOfUsers([user.id]);
  const restored = uow.membershipsOfUser(user.id).filter((m) => m.suspendedAt && !m.removedAt);
  for (const m of restored) uow.setMembership({ ...m, suspendedAt: null });
  touchUser(ctx, user, { ...extra, state: 'ACTIVE', deprovisionedAt: null, deprovisionReason: null });
  const { changes, warnings } = await recomputeRoles(ctx, [user.id], at);
  const data = { restoredMemberships: restored.map((m) => m.groupId), roles: uow.user(user.id)!.roles, roleChanges: changes };
  const auditIndex = audit(ctx, { action: 'user.reactivated', targetType: 'user', targetId: user.id, data, warnings });
  event(ctx, 'user.reactivated', at, { userId: user.id, data, auditIndex });

  // Undo what linking did, and only that: a linked user deprovisioned for its own reasons stays so.
  const linking = user.personKey ? linkingOf(ctx) : null;
  if (linking && linking.mode !== 'NONE' && linking.authoritativeConnectionId === user.connectionId) {
    for (const linked of await linkedUsers(ctx, user, 'DEPROVISIONED')) {
      if (linked.deprovisionReason !== LINKED_DEPROVISION_REASON || !linked.sourceActive || linked.sourceDeletedAt) continue;
      const out = await reactivate(ctx, linked, at);
      warnings.push(...out.warnings);
    }
  }
  return { user: uow.user(user.id)!, data, warnings };
}

/**
 * A user arriving (or re-keyed) in a non-authoritative connection whose linked person the
 * authoritative connection has already deprovisioned starts deprovisioned.
 */
async function deprovisionIfPersonLeft(ctx: ApplyContext, user: UserRecord, at: Date): Promise<TransitionOutcome | null> {
  if (!user.personKey || user.state !== 'ACTIVE') return null;
  const linking = linkingOf(ctx);
  if (linking.mode === 'NONE' || !linking.authoritativeConnectionId || linking.authoritativeConnectionId === user.connectionId) return null;
  const [authoritative] = await ctx.uow.tx.query<{ id: string; state: string }>(
    'SELECT id, state FROM directory_user WHERE organization_id = $1 AND connection_id = $2 AND person_key = $3 ORDER BY (state = \'ACTIVE\') DESC, id LIMIT 1',
    [user.organizationId, linking.authoritativeConnectionId, user.personKey],
  );
  if (!authoritative || authoritative.state === 'ACTIVE') return null;
  return deprovision(ctx, user, LINKED_DEPROVISION_REASON, at, {}, { linkedFrom: { userId: authoritative.id, connectionId: linking.authoritativeConnectionId, personKey: user.personKey } });
}

// ---- command handlers ----------------------------------------------------------------------------

function blankUser(ctx: ApplyContext, connection: ConnectionInfo, sourceId: string): UserRecord {
  const now = ctx.uow.now;
  return {
    id: uuidv7(), organizationId: connection.organizationId, connectionId: connection.id, sourceId, externalId: null, userName: null,
    userNameKey: null, externalIdKey: null, email: null, emails: [], givenName: null, familyName: null, displayName: null, title: null,
    department: null, employeeNumber: null, manager: null, customAttributes: {}, sourceData: {}, state: 'ACTIVE', sourceActive: true,
    deprovisionedAt: null, deprovisionReason: null, sourceDeletedAt: null, sourceUpdatedAt: null, sourceStateAt: null, lastSyncedAt: now,
    roles: {}, isAdmin: false, personKey: null, version: 1, createdAt: now, updatedAt: now,
  };
}

/**
 * A source's full or partial view of a user. Two clocks decide what applies: the profile is
 * last-writer-wins on sourceUpdatedAt, the lifecycle state (active, deleted) on sourceStateAt, so a
 * late profile update still lands on a user deactivated or deleted after it, without undoing that.
 */
async function upsertUser(ctx: ApplyContext, cmd: Cmd<'upsertUser'>): Promise<CommandResult> {
  const { uow } = ctx;
  const connection = ctx.connection;
  if (!connection) throw new EngineError('INVALID_COMMAND', 'upsertUser comes only from a connector delivery');
  const at = occurredAt(ctx, cmd);
  const existing = uow.userBySource(connection.id, cmd.sourceId);

  if (!existing) {
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

  const deleted = existing.sourceDeletedAt !== null;
  if (cmd.ifExists === 'fail' && !deleted) {
    throw new EngineError('CONFLICT', `user ${cmd.sourceId} already exists`, { field: 'sourceId', existingId: existing.sourceId });
  }
  // Like upsertGroup: a user the source deleted is missing to an update that must not create (SCIM PUT/PATCH → 404).
  if (existing.sourceDeletedAt && cmd.ifAbsent === 'fail') throw new EngineError('NOT_FOUND', `user ${cmd.sourceId} not found`);
  if (cmd.expectedVersion !== undefined && cmd.expectedVersion !== existing.version) {
    throw new EngineError('PRECONDITION_FAILED', `user ${cmd.sourceId} is at version ${existing.version}, not ${cmd.expectedVersion}`);
  }
  const policy = connection.deprovisionPolicy;
  // Newer than the deletion: the source created the user again.
  const resurrect = deleted && existing.sourceStateAt !== null && at > existing.sourceStateAt;
  const erased = deleted && !resurrect && policy === 'HARD_DELETE';
  const profileFresh = !isStale(existing.sourceUpdatedAt, at) && !erased;
  const stateFresh = !isStale(existing.sourceStateAt, at) && (!deleted || resurrect);
  if (!profileFresh && !stateFresh) return { status: 'stale', user: existing };

  const base: UserRecord = resurrect ? { ...existing, sourceDeletedAt: null } : existing;
  const profiled = profileFresh ? applyProfile(ctx, base, cmd.profile, cmd.mode) : { ...base, userNameKey: nameKey(base.userName), externalIdKey: base.externalId || null };
  if (deleted && !resurrect) Object.assign(profiled, { userNameKey: null, externalIdKey: null });
  // A key from before keys were normalized (checkUserKeys): whoever holds the normalized one is
  // loaded, to be seen (prefetch loaded only the holder of the command's userName, if it had one).
  if (profiled.userNameKey && existing.userNameKey && profiled.userNameKey !== existing.userNameKey && profiled.userName === existing.userName) {
    await uow.loadUsers({ connectionId: connection.id, userNameKeys: [profiled.userNameKey] });
  }
  checkUserKeys(ctx, profiled, existing);
  const changed = changedFields(existing, profiled);
  const active = stateFresh ? (cmd.active ?? (resurrect ? true : undefined)) : undefined;
  const bookkeeping: Partial<UserRecord> = {
    sourceUpdatedAt: profileFresh ? laterOf(existing.sourceUpdatedAt, at) : existing.sourceUpdatedAt,
    sourceStateAt: active !== undefined ? laterOf(existing.sourceStateAt, at) : existing.sourceStateAt,
    sourceActive: active ?? existing.sourceActive,
    lastSyncedAt: uow.now,
    personKey: personKeyOf(linkingOf(ctx).mode, profiled),
  };

  let user = existing;
  if (changed.length || resurrect) {
    const { sourceUpdatedAt: _s, sourceStateAt: _t, lastSyncedAt: _l, sourceActive: _a, ...profileOnly } = profiled;
    user = touchUser(ctx, existing, { ...profileOnly, ...bookkeeping, state: resurrect && existing.state === 'DELETED' ? 'DEPROVISIONED' : existing.state });
    const data = { changed, before: pick(existing, changed), after: pick(user, changed), ...(resurrect ? { resurrected: true } : {}) };
    const auditIndex = audit(ctx, { action: 'user.updated', targetType: 'user', targetId: user.id, data });
    event(ctx, 'user.updated', at, { userId: user.id, data: { changed }, auditIndex });
  } else {
    // Nothing to say, but the clocks move and the source confirmed the user (drift detection uses it).
    const next = { ...existing, ...bookkeeping };
    const moved = next.sourceActive !== existing.sourceActive || next.sourceUpdatedAt !== existing.sourceUpdatedAt || next.sourceStateAt !== existing.sourceStateAt || next.personKey !== existing.personKey;
    if (moved || !existing.lastSyncedAt || uow.now.getTime() - existing.lastSyncedAt.getTime() > 1000) {
      uow.setUser(next);
      user = next;
    }
  }

  const warnings: string[] = [];
  let transitioned = false;
  if (active === false && user.state === 'ACTIVE') {
    const out = await deprovision(ctx, user, cmd.inactiveReason ?? 'the source reports the user inactive', at);
    user = out.user;
    warnings.push(...out.warnings);
    transitioned = true;
  } else if (active === true && (!existing.sourceActive || resurrect) && user.state !== 'ACTIVE') {
    const out = await reactivate(ctx, user, at);
    user = out.user;
    warnings.push(...out.warnings);
    transitioned = true;
  }
  if (!transitioned && user.personKey !== existing.personKey) {
    const out = await deprovisionIfPersonLeft(ctx, user, at);
    if (out) {
      user = out.user;
      warnings.push(...out.warnings);
      transitioned = true;
    }
  }
  const applied = changed.length > 0 || transitioned || resurrect;
  return { status: applied ? (ctx.dryRun ? 'dry_run' : 'applied') : 'noop', user, changed, warnings };
}

async function deactivateUser(ctx: ApplyContext, cmd: Cmd<'deactivateUser'>): Promise<CommandResult> {
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

async function reactivateUser(ctx: ApplyContext, cmd: Cmd<'reactivateUser'>): Promise<CommandResult> {
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

async function deleteUser(ctx: ApplyContext, cmd: Cmd<'deleteUser'>): Promise<CommandResult> {
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

async function upsertGroup(ctx: ApplyContext, cmd: Cmd<'upsertGroup'>): Promise<CommandResult> {
  const { uow } = ctx;
  const connection = ctx.connection;
  if (!connection) throw new EngineError('INVALID_COMMAND', 'upsertGroup comes only from a connector delivery');
  const at = occurredAt(ctx, cmd);
  const existing = uow.groupBySource(connection.id, cmd.sourceId);
  const displayNameKey = nameKey(cmd.displayName);
  // Checked when the group takes a name it does not hold: two groups one name from before names
  // were normalized (or case-folded) stay updatable.
  const takesName = !existing || existing.deletedAt !== null || existing.displayNameKey !== displayNameKey;
  const nameHolder = cmd.uniqueName && displayNameKey && takesName ? uow.groupHoldingName(connection.id, displayNameKey, existing?.id) : undefined;

  // Where the source keeps names unique, a source renaming groups out of order retries this until
  // the older holder of the name has been renamed (answered CONFLICT, not a constraint error).
  const nameTaken = () =>
    new EngineError('CONFLICT', `a group named "${cmd.displayName}" already exists in this connection`, { field: 'displayName', existingId: nameHolder!.sourceId });
  if (!existing) {
    if (cmd.ifAbsent === 'fail') throw new EngineError('NOT_FOUND', `group ${cmd.sourceId} not found`);
    if (nameHolder) throw nameTaken();
    const group: GroupRecord = {
      id: newRecordId(ctx, cmd.id, (id) => uow.group(id)), organizationId: connection.organizationId, connectionId: connection.id, sourceId: cmd.sourceId,
      externalId: cmd.externalId ?? null, displayName: cmd.displayName, displayNameKey, sourceData: cmd.sourceData ?? {},
      deletedAt: null, sourceUpdatedAt: at, memberCount: 0, version: 1, createdAt: uow.now, updatedAt: uow.now,
    };
    uow.setGroup(group);
    const auditIndex = audit(ctx, { action: 'group.created', targetType: 'group', targetId: group.id, data: { displayName: group.displayName, externalId: group.externalId } });
    event(ctx, 'group.created', at, { groupId: group.id, data: { displayName: group.displayName }, auditIndex });
    return { status: ctx.dryRun ? 'dry_run' : 'applied', group };
  }
  if (cmd.ifExists === 'fail' && !existing.deletedAt) throw new EngineError('CONFLICT', `group ${cmd.sourceId} already exists`, { field: 'sourceId', existingId: existing.sourceId });
  if (cmd.expectedVersion !== undefined && cmd.expectedVersion !== existing.version) {
    throw new EngineError('PRECONDITION_FAILED', `group ${cmd.sourceId} is at version ${existing.version}, not ${cmd.expectedVersion}`);
  }
  if (isStale(existing.sourceUpdatedAt, at)) return { status: 'stale', group: existing };
  if (existing.deletedAt && cmd.ifAbsent === 'fail') throw new EngineError('NOT_FOUND', `group ${cmd.sourceId} not found`);
  if (nameHolder) throw nameTaken();
  const next = {
    displayName: cmd.displayName,
    displayNameKey,
    externalId: cmd.externalId === undefined ? existing.externalId : cmd.externalId,
    sourceData: cmd.sourceData ?? existing.sourceData,
    deletedAt: null,
  };
  const changed = (Object.keys(next) as (keyof typeof next)[]).filter((k) => !same(existing[k], next[k]));
  if (!changed.length) {
    // Remember the newer source time, so an older rename arriving late stays stale.
    if (!existing.sourceUpdatedAt || at > existing.sourceUpdatedAt) uow.setGroup({ ...existing, sourceUpdatedAt: at });
    return { status: 'noop', group: existing };
  }
  const group = { ...existing, ...next, sourceUpdatedAt: laterOf(existing.sourceUpdatedAt, at), version: existing.version + 1, updatedAt: uow.now };
  uow.setGroup(group);
  const type = existing.deletedAt ? 'group.created' : 'group.updated';
  const auditIndex = audit(ctx, { action: type, targetType: 'group', targetId: group.id, data: { changed, before: pick(existing, changed), after: pick(group, changed) } });
  event(ctx, type, at, { groupId: group.id, data: { changed, displayName: group.displayName }, auditIndex });
  return { status: ctx.dryRun ? 'dry_run' : 'applied', group, changed };
}

async function deleteGroup(ctx: ApplyContext, cmd: Cmd<'deleteGroup'>): Promise<CommandResult> {
  const { uow } = ctx;
  const at = occurredAt(ctx, cmd);
  const group = await findGroup(ctx, cmd.group);
  if (!group) {
    if (!ctx.connection || !('sourceId' in cmd.group)) throw new EngineError('NOT_FOUND', 'group not found');
    const now = uow.now;
    const tombstone: GroupRecord = {
      id: uuidv7(), organizationId: ctx.connection.organizationId, connectionId: ctx.connection.id, sourceId: cmd.group.sourceId, externalId: null,
      displayName: '', displayNameKey: null, sourceData: {}, deletedAt: now, sourceUpdatedAt: at, memberCount: 0, version: 1, createdAt: now, updatedAt: now,
    };
    uow.setGroup(tombstone);
    return { status: 'noop', group: tombstone };
  }
  if (isStale(group.sourceUpdatedAt, at)) return { status: 'stale', group };
  if (group.deletedAt) {
    // Deleted again, later: move the clock so an upsert between the two deletions stays stale.
    if (!group.sourceUpdatedAt || at > group.sourceUpdatedAt) {
      const moved = { ...group, sourceUpdatedAt: at };
      uow.setGroup(moved);
      return { status: 'noop', group: moved };
    }
    return { status: 'noop', group };
  }
  await uow.loadMembershipsOfGroup(group.id);
  const members = uow.membershipsOfGroup(group.id).filter((m) => !m.removedAt);
  for (const m of members) uow.setMembership({ ...m, removedAt: uow.now, sourceUpdatedAt: laterOf(m.sourceUpdatedAt, at) });
  await uow.loadMappings([group.id]);
  const mapped = uow.mappingsOf(group.id);
  // recomputeRoles skips users the unit of work has not loaded: load the members first.
  if (mapped.length) await uow.loadUsers({ ids: members.map((m) => m.userId) });
  const { changes, warnings } = mapped.length ? await recomputeRoles(ctx, members.map((m) => m.userId), at) : { changes: [], warnings: [] };
  for (const m of mapped) uow.writeMapping('remove', group.id, m.workspace, null);
  const deleted = { ...group, deletedAt: uow.now, displayNameKey: null, sourceUpdatedAt: laterOf(group.sourceUpdatedAt, at), version: group.version + 1, updatedAt: uow.now };
  uow.setGroup(deleted);
  const data = { displayName: group.displayName, removedMembers: members.length, removedMappings: mapped, roleChanges: changes };
  const auditIndex = audit(ctx, { action: 'group.deleted', targetType: 'group', targetId: group.id, data, warnings });
  event(ctx, 'group.deleted', at, { groupId: group.id, data: { displayName: group.displayName, removedMembers: members.length }, auditIndex });
  return { status: ctx.dryRun ? 'dry_run' : 'applied', group: deleted, warnings };
}

async function changeMembers(ctx: ApplyContext, cmd: Cmd<'addMembers' | 'removeMembers' | 'replaceMembers'>): Promise<CommandResult> {
  const { uow } = ctx;
  const at = occurredAt(ctx, cmd);
  const found = await findGroup(ctx, cmd.group);
  if (found && isStale(found.sourceUpdatedAt, at) && found.deletedAt) return { status: 'stale', group: found };
  // Nobody is a member of a deleted group: nothing to remove (and nothing to retry).
  if (found?.deletedAt && cmd.type === 'removeMembers') return { status: 'noop', group: found };
  const group = await requireGroup(ctx, cmd.group);

  const users: UserRecord[] = [];
  for (const ref of cmd.users) {
    const user = await findUser(ctx, ref);
    const deletedAtSource = !!user && !!ctx.connection && user.sourceDeletedAt !== null;
    if (!user || user.state === 'DELETED' || (deletedAtSource && cmd.type !== 'removeMembers')) {
      if (cmd.type === 'removeMembers' && (user || cmd.ifUserAbsent === 'skip')) continue;
      // A change older than the user's deletion at the source is history: kept (suspended, as the
      // deletion left it) when the record is kept, dropped when it was erased. A newer one names a
      // user the source no longer has.
      if (user && deletedAtSource && isStale(user.sourceStateAt, at)) {
        if (user.state !== 'DELETED') users.push(user);
        continue;
      }
      throw new EngineError('NOT_FOUND', `user ${'sourceId' in ref ? ref.sourceId : ref.userId} not found`);
    }
    users.push(user);
  }
  if (cmd.type === 'replaceMembers') await uow.loadMembershipsOfGroup(group.id);
  else await uow.loadMembershipPairs(group.id, users.map((u) => u.id));

  const added: string[] = [];
  const removed: string[] = [];
  const add = (user: UserRecord) => {
    const m = uow.membership(group.id, user.id);
    if (m && isStale(m.sourceUpdatedAt, at)) return;
    const suspendedAt = user.state === 'ACTIVE' ? null : uow.now;
    if (m && !m.removedAt) {
      if (m.sourceUpdatedAt?.getTime() !== at.getTime() && ctx.connection) uow.setMembership({ ...m, sourceUpdatedAt: laterOf(m.sourceUpdatedAt, at) });
      return;
    }
    uow.setMembership({
      groupId: group.id, userId: user.id, organizationId: group.organizationId, suspendedAt, removedAt: null,
      sourceUpdatedAt: ctx.connection ? at : null, createdAt: m?.createdAt ?? uow.now,
    });
    added.push(user.id);
  };
  const remove = (userId: string) => {
    const m = uow.membership(group.id, userId);
    if (!m && ctx.connection) {
      // Removed before we saw it added: a tombstone makes the late, older "added" stale.
      uow.setMembership({ groupId: group.id, userId, organizationId: group.organizationId, suspendedAt: null, removedAt: uow.now, sourceUpdatedAt: at, createdAt: uow.now });
      return;
    }
    if (!m || m.removedAt) {
      if (m && ctx.connection && (!m.sourceUpdatedAt || at > m.sourceUpdatedAt)) uow.setMembership({ ...m, sourceUpdatedAt: at });
      return;
    }
    if (isStale(m.sourceUpdatedAt, at)) return;
    uow.setMembership({ ...m, removedAt: uow.now, sourceUpdatedAt: ctx.connection ? laterOf(m.sourceUpdatedAt, at) : m.sourceUpdatedAt });
    removed.push(userId);
  };

  if (cmd.type === 'addMembers') users.forEach(add);
  else if (cmd.type === 'removeMembers') users.forEach((u) => remove(u.id));
  else {
    const wanted = new Set(users.map((u) => u.id));
    for (const m of uow.membershipsOfGroup(group.id)) if (!m.removedAt && !wanted.has(m.userId)) remove(m.userId);
    users.forEach(add);
  }
  if (!added.length && !removed.length) return { status: 'noop', group: uow.group(group.id) };

  await uow.loadMappings([group.id]);
  const { changes, warnings } = uow.mappingsOf(group.id).length ? await recomputeRoles(ctx, [...added, ...removed], at) : { changes: [], warnings: [] };
  const data = { added, removed, roleChanges: changes };
  const auditIndex = audit(ctx, { action: `group.members.${cmd.type === 'addMembers' ? 'added' : cmd.type === 'removeMembers' ? 'removed' : 'replaced'}`, targetType: 'group', targetId: group.id, data, warnings });
  for (const userId of added) event(ctx, 'membership.added', at, { userId, groupId: group.id, auditIndex });
  for (const userId of removed) event(ctx, 'membership.removed', at, { userId, groupId: group.id, auditIndex });
  return { status: ctx.dryRun ? 'dry_run' : 'applied', group: uow.group(group.id), warnings };
}

async function setGroupMapping(ctx: ApplyContext, cmd: Cmd<'setGroupMapping' | 'removeGroupMapping'>): Promise<CommandResult> {
  const { uow } = ctx;
  const group = await requireGroup(ctx, cmd.group);
  const role = cmd.type === 'setGroupMapping' ? (cmd.role ?? null) : null;
  if (role !== null && !uow.organization.roleRanking.includes(role)) {
    throw new EngineError('INVALID_COMMAND', `role "${role}" is not one of this organization's roles (${uow.organization.roleRanking.join(', ')})`, { field: 'role' });
  }
  await uow.loadMappings([group.id]);
  const current = uow.mappingsOf(group.id).find((m) => m.workspace === cmd.workspace);
  if (cmd.type === 'removeGroupMapping' ? !current : current && current.role === role) return { status: 'noop', group };
  uow.writeMapping(cmd.type === 'setGroupMapping' ? 'set' : 'remove', group.id, cmd.workspace, role);
  await uow.loadMembershipsOfGroup(group.id);
  const members = uow.membershipsOfGroup(group.id).filter(isActiveMembership).map((m) => m.userId);
  await uow.loadUsers({ ids: members });
  const { changes, warnings } = await recomputeRoles(ctx, members, ctx.receivedAt);
  const data = { groupId: group.id, workspace: cmd.workspace, role, previousRole: current?.role ?? null, removed: cmd.type === 'removeGroupMapping', roleChanges: changes };
  audit(ctx, { action: cmd.type === 'setGroupMapping' ? 'group.mapping_set' : 'group.mapping_removed', targetType: 'group', targetId: group.id, data, warnings });
  return { status: ctx.dryRun ? 'dry_run' : 'applied', group, warnings };
}

const bulkDefaultRolesSql = `
  WITH before AS (
    SELECT u.id, u.roles FROM directory_user u
    WHERE u.organization_id = $1 AND u.state = 'ACTIVE' AND NOT (u.id = ANY($4::uuid[]))
      AND (u.roles IS DISTINCT FROM $2::jsonb OR u.is_admin IS DISTINCT FROM $3)
    FOR UPDATE
  )
  UPDATE directory_user u SET roles = $2::jsonb, is_admin = $3, version = u.version + 1, updated_at = $5
  FROM before WHERE u.id = before.id
  RETURNING u.id, before.roles AS "previous"`;

/**
 * New ranking or default role: the organization changes and every active member's roles are
 * recomputed. Users no mapped group reaches all get the default role, in one statement; the members
 * of mapped groups are recomputed one by one. Runs alone in its transaction (see entityKeys).
 */
async function setRoleSettings(ctx: ApplyContext, cmd: Cmd<'setRoleSettings'>): Promise<CommandResult> {
  const { uow } = ctx;
  if (ctx.connection) throw new EngineError('INVALID_COMMAND', 'role settings are changed through the API, not by a connector');
  const org = uow.organization;
  const ranking = cmd.roleRanking ?? org.roleRanking;
  if (new Set(ranking).size !== ranking.length) throw new EngineError('INVALID_COMMAND', 'roleRanking lists a role twice', { field: 'roleRanking' });
  const defaultRole = cmd.defaultRole === undefined ? org.defaultRole : cmd.defaultRole;
  if (defaultRole !== null && !ranking.includes(defaultRole)) throw new EngineError('INVALID_COMMAND', `defaultRole "${defaultRole}" is not in roleRanking (${ranking.join(', ')})`, { field: 'defaultRole' });
  const [mappedRole] = await uow.tx.query<{ role: string }>(
    'SELECT role FROM group_mapping WHERE organization_id = $1 AND role IS NOT NULL AND NOT (role = ANY($2::text[])) LIMIT 1',
    [org.id, ranking],
  );
  if (mappedRole) throw new EngineError('INVALID_COMMAND', `a group is mapped to "${mappedRole.role}", which the new roleRanking drops: change that mapping first`, { field: 'roleRanking' });
  if (same(ranking, org.roleRanking) && defaultRole === org.defaultRole) return { status: 'noop' };

  const previous = { roleRanking: org.roleRanking, defaultRole: org.defaultRole };
  await uow.tx.query('UPDATE organization SET role_ranking = $2, default_role = $3, updated_at = $4 WHERE id = $1', [org.id, ranking, defaultRole, uow.now]);
  org.roleRanking = ranking;
  org.defaultRole = defaultRole;

  const mappedMembers = (
    await uow.tx.query<{ userId: string }>(
      `SELECT DISTINCT m.user_id AS "userId" FROM group_membership m JOIN group_mapping gm ON gm.group_id = m.group_id
       WHERE m.organization_id = $1 AND m.suspended_at IS NULL AND m.removed_at IS NULL`,
      [org.id],
    )
  ).map((r) => r.userId);
  const defaults = computeRoles([], [], org);
  const bulk = await uow.tx.query<{ id: string; previous: Record<string, string> }>(bulkDefaultRolesSql, [org.id, JSON.stringify(defaults.roles), defaults.isAdmin, mappedMembers, uow.now]);
  for (const row of bulk) event(ctx, 'role.changed', ctx.receivedAt, { userId: row.id, data: { from: row.previous, to: defaults.roles } });
  await uow.loadUsers({ ids: mappedMembers });
  const { changes, warnings } = await recomputeRoles(ctx, mappedMembers.filter((id) => uow.user(id)?.state === 'ACTIVE'), ctx.receivedAt);
  const lostAdmins = bulk.filter((r) => r.previous[ORG_WORKSPACE] === adminRole({ roleRanking: previous.roleRanking, defaultRole: null }) && !defaults.isAdmin);
  if (lostAdmins.length && !warnings.length) warnings.push(...(await adminOrphanWarnings(ctx, lostAdmins.map((r) => r.id), ctx.receivedAt)));
  const data = { previous, roleRanking: ranking, defaultRole, usersChanged: bulk.length + changes.length };
  audit(ctx, { action: 'organization.role_settings_changed', targetType: 'organization', targetId: org.id, data, warnings });
  return { status: 'applied', warnings };
}

async function registerSession(ctx: ApplyContext, cmd: Cmd<'registerSession' | 'registerCredential'>): Promise<CommandResult> {
  const { uow } = ctx;
  const user = await requireUser(ctx, cmd.user);
  const table = cmd.type === 'registerSession' ? 'session' : 'credential';
  const kind = cmd.type === 'registerCredential' ? cmd.kind : undefined;
  const existing = await uow.findSession(table, user.id, cmd.externalRef, kind);
  if (existing) return { status: 'noop', user };
  const connectionId = ctx.connection?.id ?? null;
  // Access registered for someone already offboarded is revoked on arrival.
  const live = user.state === 'ACTIVE';
  const upstream = !!ctx.connection && ctx.revokesUpstream(ctx.connection.provider);
  const row = {
    id: uuidv7(), organizationId: user.organizationId, userId: user.id, connectionId, externalRef: cmd.externalRef, createdAt: uow.now,
    revokedAt: live ? null : uow.now, revokedReason: live ? null : 'registered after the user was deprovisioned',
    revocationStatus: live ? null : upstream ? 'PENDING' : 'NOT_REQUIRED',
    ...(kind ? { kind, name: cmd.type === 'registerCredential' ? (cmd.name ?? null) : null } : {}),
  };
  uow.addSession(table, row);
  const auditIndex = audit(ctx, { action: `${table}.registered`, targetType: table, targetId: row.id, data: { userId: user.id, externalRef: cmd.externalRef, ...(kind ? { kind } : {}), revokedOnArrival: !live } });
  if (!live) event(ctx, `${table}.revoked`, occurredAt(ctx, cmd), { userId: user.id, data: { [`${table}Id`]: row.id, externalRef: cmd.externalRef, reason: row.revokedReason, upstream }, auditIndex });
  return { status: ctx.dryRun ? 'dry_run' : 'applied', user, created: { type: table, id: row.id } };
}

async function endSession(ctx: ApplyContext, cmd: Cmd<'endSession'>): Promise<CommandResult> {
  const { uow } = ctx;
  const user = await findUser(ctx, cmd.user);
  if (!user) return { status: 'noop' };
  const session = await uow.findSession('session', user.id, cmd.externalRef);
  const reason = cmd.reason ?? 'ended at the source';
  if (!session && ctx.connection) {
    // Ended before we saw it start (unordered webhooks): record it ended, so the late
    // "registered" finds it and changes nothing.
    uow.addSession('session', {
      id: uuidv7(), organizationId: user.organizationId, userId: user.id, connectionId: ctx.connection.id, externalRef: cmd.externalRef,
      createdAt: uow.now, revokedAt: uow.now, revokedReason: reason, revocationStatus: 'CONFIRMED',
    });
    return { status: 'noop', user };
  }
  if (!session || session.revokedAt) return { status: 'noop', user };
  uow.revokeSession('session', session.id, reason, 'CONFIRMED');
  const auditIndex = audit(ctx, { action: 'session.ended', targetType: 'session', targetId: session.id, data: { userId: user.id, externalRef: cmd.externalRef, reason } });
  event(ctx, 'session.revoked', occurredAt(ctx, cmd), { userId: user.id, data: { sessionId: session.id, externalRef: cmd.externalRef, reason, endedAtSource: true }, auditIndex });
  return { status: ctx.dryRun ? 'dry_run' : 'applied', user };
}

async function recordSync(ctx: ApplyContext, cmd: Cmd<'recordSync'>): Promise<CommandResult> {
  if (ctx.actor.type !== 'system') throw new EngineError('INVALID_COMMAND', 'recordSync is issued by the hub\'s sync runner only');
  const { type: _t, connectionId, phase, ...data } = cmd;
  const auditIndex = audit(ctx, { action: `sync.${phase}`, targetType: 'connection', targetId: connectionId, data: { ...data }, warnings: cmd.error ? [cmd.error] : [] });
  ctx.uow.addEvent({ type: `sync.${phase}`, occurredAt: ctx.receivedAt, receivedAt: ctx.receivedAt, connectionId, deliveryId: ctx.deliveryId, data: { ...data }, auditIndex });
  return { status: ctx.dryRun ? 'dry_run' : 'applied' };
}

/**
 * Records one attempt to revoke a session or credential at its source (the revocation worker's
 * report): CONFIRMED, another try later, or FAILED, which emits `<session|credential>.revocation_failed`
 * so someone acts by hand. Only the next attempt of a PENDING row counts; anything else is a noop.
 */
async function recordRevocation(ctx: ApplyContext, cmd: Cmd<'recordRevocation'>): Promise<CommandResult> {
  const { uow } = ctx;
  // Only the hub's own worker reports revocations: a connector (or an API key) cannot confirm one.
  if (ctx.connection || ctx.actor.type !== 'system') throw new EngineError('INVALID_COMMAND', 'recordRevocation is reported by the revocation worker only');
  const table = cmd.target;
  const [row] = await uow.tx.query<{ id: string; userId: string; connectionId: string | null; externalRef: string; kind: string | null; status: string | null; attempts: number }>(
    `SELECT id, user_id AS "userId", connection_id AS "connectionId", external_ref AS "externalRef", ${table === 'credential' ? 'kind' : 'NULL::text AS kind'},
       revocation_status::text AS status, revocation_attempts AS attempts
     FROM ${table} WHERE id = $1 AND organization_id = $2 FOR UPDATE`,
    [cmd.id, uow.organization.id],
  );
  if (!row) throw new EngineError('NOT_FOUND', `${table} ${cmd.id} not found`);
  if (row.status !== 'PENDING' || row.attempts !== cmd.attempt - 1) return { status: 'noop' };
  if (cmd.outcome === 'retry' && !cmd.nextAttemptAt) throw new EngineError('INVALID_COMMAND', 'a retry needs nextAttemptAt', { field: 'nextAttemptAt' });
  const now = uow.now;
  const status = cmd.outcome === 'confirmed' ? 'CONFIRMED' : cmd.outcome === 'failed' ? 'FAILED' : 'PENDING';
  const error = cmd.outcome === 'confirmed' ? null : (cmd.error ?? 'unknown error');
  const nextAttemptAt = cmd.outcome === 'retry' ? cmd.nextAttemptAt! : null;
  uow.deferWrite((tx) =>
    tx.query(
      `UPDATE ${table} SET revocation_status = $2::"RevocationStatus", revocation_attempts = $3, revocation_error = $4, next_attempt_at = $5,
         revocation_confirmed_at = $6 WHERE id = $1`,
      [row.id, status, cmd.attempt, error, nextAttemptAt, status === 'CONFIRMED' ? now : null],
    ),
  );
  const action = cmd.outcome === 'confirmed' ? `${table}.revocation_confirmed` : cmd.outcome === 'failed' ? `${table}.revocation_failed` : `${table}.revocation_attempt_failed`;
  const data = {
    userId: row.userId,
    [`${table}Id`]: row.id,
    externalRef: row.externalRef,
    ...(row.kind ? { kind: row.kind } : {}),
    connectionId: row.connectionId,
    attempt: cmd.attempt,
    ...(error ? { error } : {}),
    ...(nextAttemptAt ? { nextAttemptAt } : {}),
  };
  const warnings = cmd.outcome === 'failed' ? [`could not revoke ${table} ${row.externalRef} at its source after ${cmd.attempt} attempts: revoke it by hand`] : [];
  const auditIndex = audit(ctx, { action, targetType: table, targetId: row.id, data, warnings });
  // A retry is audited only; a confirmation or a final failure is news for subscribers.
  if (cmd.outcome !== 'retry') event(ctx, action, now, { userId: row.userId, connectionId: row.connectionId, data, auditIndex });
  return { status: 'applied', warnings };
}

function pick<T extends object>(row: T, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = (row as Record<string, unknown>)[k];
  return out;
}

function summarize(user: UserRecord) {
  return { userName: user.userName, externalId: user.externalId, email: user.email, displayName: user.displayName };
}

export async function applyCommand(ctx: ApplyContext, cmd: LifecycleCommand): Promise<CommandResult> {
  switch (cmd.type) {
    case 'upsertUser':
      return upsertUser(ctx, cmd);
    case 'deactivateUser':
      return deactivateUser(ctx, cmd);
    case 'reactivateUser':
      return reactivateUser(ctx, cmd);
    case 'deleteUser':
      return deleteUser(ctx, cmd);
    case 'upsertGroup':
      return upsertGroup(ctx, cmd);
    case 'deleteGroup':
      return deleteGroup(ctx, cmd);
    case 'addMembers':
    case 'removeMembers':
    case 'replaceMembers':
      return changeMembers(ctx, cmd);
    case 'setGroupMapping':
    case 'removeGroupMapping':
      return setGroupMapping(ctx, cmd);
    case 'setRoleSettings':
      return setRoleSettings(ctx, cmd);
    case 'registerSession':
    case 'registerCredential':
      return registerSession(ctx, cmd);
    case 'endSession':
      return endSession(ctx, cmd);
    case 'recordSync':
      return recordSync(ctx, cmd);
    case 'recordRevocation':
      return recordRevocation(ctx, cmd);
  }
}
