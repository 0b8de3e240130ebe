// What each lifecycle command does to state. Pure decisions over the unit of work's tracked rows;
// the only I/O is loading (and locking) what a decision needs. One file per command family:
// users.ts (with profile.ts and lifecycle.ts), groups.ts, sessions.ts, settings.ts.
import type { GroupRef, LifecycleCommand, UserRef } from '../commands.ts';
import { nameKey } from '../name-key.ts';
import type { CommandResult } from '../types.ts';
import type { ConnectionInfo, UnitOfWork } from '../unit-of-work/index.ts';
import type { ApplyContext } from './context.ts';
import { recordConnectionChange } from './connections.ts';
import { changeMembers, deleteGroup, upsertGroup } from './groups.ts';
import { endSession, recordRevocation, registerSession } from './sessions.ts';
import { recordSync, setGroupMapping, setRoleSettings } from './settings.ts';
import { deactivateUser, deleteUser, reactivateUser, upsertUser } from './users.ts';

export type { ApplyContext } from './context.ts';

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
      case 'recordConnectionChange':
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
    case 'recordConnectionChange':
      return recordConnectionChange(ctx, cmd);
  }
}
