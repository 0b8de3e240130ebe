// Groups and their memberships, with the same clocks as users: stale changes are ignored, deletions
// and removals that arrive first leave tombstones.
import { v7 as uuidv7 } from 'uuid';
import { EngineError } from '../errors.ts';
import { nameKey } from '../name-key.ts';
import type { CommandResult, GroupRecord, UserRecord } from '../types.ts';
import { audit, event, findGroup, findUser, isStale, laterOf, newRecordId, occurredAt, pick, requireGroup, same, type ApplyContext, type Cmd } from './context.ts';
import { recomputeRoles } from './lifecycle.ts';

export async function upsertGroup(ctx: ApplyContext, cmd: Cmd<'upsertGroup'>): Promise<CommandResult> {
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

export async function deleteGroup(ctx: ApplyContext, cmd: Cmd<'deleteGroup'>): Promise<CommandResult> {
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

export async function changeMembers(ctx: ApplyContext, cmd: Cmd<'addMembers' | 'removeMembers' | 'replaceMembers'>): Promise<CommandResult> {
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
