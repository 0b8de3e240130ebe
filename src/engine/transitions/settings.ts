// Organization-level settings: group-to-role mappings, the role ranking and default role, and the
// sync runner's records.
import { EngineError } from '../errors.ts';
import { adminRole, computeRoles, ORG_WORKSPACE } from '../roles.ts';
import type { CommandResult } from '../types.ts';
import { audit, event, isActiveMembership, requireGroup, same, type ApplyContext, type Cmd } from './context.ts';
import { adminOrphanWarnings, recomputeRoles } from './lifecycle.ts';

export async function setGroupMapping(ctx: ApplyContext, cmd: Cmd<'setGroupMapping' | 'removeGroupMapping'>): Promise<CommandResult> {
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
export async function setRoleSettings(ctx: ApplyContext, cmd: Cmd<'setRoleSettings'>): Promise<CommandResult> {
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

export async function recordSync(ctx: ApplyContext, cmd: Cmd<'recordSync'>): Promise<CommandResult> {
  if (ctx.actor.type !== 'system') throw new EngineError('INVALID_COMMAND', 'recordSync is issued by the hub\'s sync runner only');
  const { type: _t, connectionId, phase, ...data } = cmd;
  const auditIndex = audit(ctx, { action: `sync.${phase}`, targetType: 'connection', targetId: connectionId, data: { ...data }, warnings: cmd.error ? [cmd.error] : [] });
  ctx.uow.addEvent({ type: `sync.${phase}`, occurredAt: ctx.receivedAt, receivedAt: ctx.receivedAt, connectionId, deliveryId: ctx.deliveryId, data: { ...data }, auditIndex });
  return { status: ctx.dryRun ? 'dry_run' : 'applied' };
}
