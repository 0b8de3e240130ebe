// What a user's lifecycle state changes bring with them: deprovision (access revoked, memberships
// suspended, roles dropped), reactivation, identity linking across connections, and roles recomputed
// from group mappings (with the warning when the organization loses its last admin).
import { LINKED_DEPROVISION_REASON } from '../identity-linking.ts';
import { adminRole, computeRoles, sameRoles } from '../roles.ts';
import type { UserRecord } from '../types.ts';
import { audit, event, isActiveMembership, linkingOf, touchUser, type ApplyContext } from './context.ts';

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

// ---- roles ---------------------------------------------------------------------------------------

interface RoleChange {
  userId: string;
  from: Record<string, string>;
  to: Record<string, string>;
}

/** Recomputes the roles of these users from their active memberships; returns what changed. */
export async function recomputeRoles(ctx: ApplyContext, userIds: Iterable<string>, at: Date): Promise<{ changes: RoleChange[]; warnings: string[] }> {
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

export async function adminOrphanWarnings(ctx: ApplyContext, losingAdmins: string[], at: Date): Promise<string[]> {
  const remaining = await ctx.uow.countOtherActiveAdmins(losingAdmins);
  if (remaining > 0) return [];
  const role = adminRole(ctx.uow.organization);
  const warning = `organization ${ctx.uow.organization.id} has no active ${role ?? 'admin'} left`;
  event(ctx, 'organization.admin_orphaned', at, { userId: losingAdmins[0], data: { formerAdmins: losingAdmins, warning } });
  return [warning];
}

// ---- state transitions ---------------------------------------------------------------------------

export interface TransitionOutcome {
  user: UserRecord;
  data: Record<string, unknown>;
  warnings: string[];
}

/** Deprovision: state, every session and credential revoked, memberships ended, roles dropped. */
export async function deprovision(ctx: ApplyContext, user: UserRecord, reason: string, at: Date, extra: Partial<UserRecord> = {}, eventData: Record<string, unknown> = {}): Promise<TransitionOutcome> {
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
export async function reactivate(ctx: ApplyContext, user: UserRecord, at: Date, extra: Partial<UserRecord> = {}): Promise<TransitionOutcome> {
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
export async function deprovisionIfPersonLeft(ctx: ApplyContext, user: UserRecord, at: Date): Promise<TransitionOutcome | null> {
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
