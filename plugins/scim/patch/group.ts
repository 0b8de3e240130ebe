// PATCH of a Group. Membership operations become the engine's addMembers / removeMembers /
// replaceMembers, never a read-modify-write of the member list: Entra ID sends membership PATCHes
// for one group concurrently, and adds and removes commute. The other attributes (displayName,
// externalId, anything custom) are applied to the stored resource like a User PATCH.
//
// Member removal comes in three shapes, all handled: RFC `members[value eq "id"]` (Okta, Entra
// with aadOptscim062020), `path: "members"` with a `value` list naming who to remove (Entra's
// default, JumpCloud, OneLogin), and `path: "members"` without a value (everyone, per the RFC).
import { invalidPath, invalidValue } from '../errors/index.ts';
import type { FilterNode } from '../filter/parse.ts';
import { memberIds } from '../resources/group.ts';
import type { Json } from '../resources/user.ts';
import { parsePath, type PatchOperation } from './operations.ts';

export type MemberChange = { type: 'addMembers' | 'removeMembers' | 'replaceMembers'; ids: string[] };

export interface GroupPatchPlan {
  /** Operations on attributes other than members, in order. */
  attributeOperations: PatchOperation[];
  /** Membership changes, in order. */
  memberChanges: MemberChange[];
}

/** `value eq "a" or value eq "b"`: the ids a members filter names. */
function idsOfMemberFilter(node: FilterNode, path: string): string[] {
  if (node.kind === 'or') return [...idsOfMemberFilter(node.left, path), ...idsOfMemberFilter(node.right, path)];
  if (node.kind === 'compare' && node.op === 'eq' && node.path.toLowerCase() === 'value' && node.value !== null) return [String(node.value)];
  throw invalidPath(`"${path}": only members[value eq "<id>"] (optionally or-ed) selects members`);
}

export function planGroupPatch(operations: PatchOperation[]): GroupPatchPlan {
  const plan: GroupPatchPlan = { attributeOperations: [], memberChanges: [] };
  operations.forEach((operation, index) => {
    if (!operation.path) {
      // Path-less add/replace: { displayName, externalId, members, id (Okta re-sends it) ... }.
      const rest: Json = {};
      for (const [key, value] of Object.entries(operation.value as Json)) {
        const lower = key.toLowerCase();
        if (lower === 'members') plan.memberChanges.push({ type: operation.op === 'add' ? 'addMembers' : 'replaceMembers', ids: memberIds(value, `Operations[${index}].value.members`) });
        else if (lower !== 'id' && lower !== 'schemas' && lower !== 'meta') rest[key] = value;
      }
      if (Object.keys(rest).length) plan.attributeOperations.push({ op: operation.op, value: rest });
      return;
    }
    const parsed = parsePath('Group', operation.path);
    if (parsed.attribute !== 'members') {
      plan.attributeOperations.push(operation);
      return;
    }
    if (parsed.filter) {
      // members[value eq "…"].display and the like: read-only parts of a membership.
      if (parsed.subAttribute) return;
      if (operation.op !== 'remove') throw invalidPath(`Operations[${index}]: "${operation.op}" of "${operation.path}": add members with path "members" and a value list`);
      plan.memberChanges.push({ type: 'removeMembers', ids: idsOfMemberFilter(parsed.filter, operation.path) });
      return;
    }
    if (parsed.subAttribute) throw invalidPath(`Operations[${index}]: "${operation.path}" cannot be changed; add or remove members instead`);
    const path = `Operations[${index}].value`;
    if (operation.op === 'add') plan.memberChanges.push({ type: 'addMembers', ids: memberIds(operation.value, path) });
    else if (operation.op === 'replace') plan.memberChanges.push({ type: 'replaceMembers', ids: memberIds(operation.value, path) });
    // No value: every member (RFC 7644). A value list, even empty: just those (Entra, JumpCloud, OneLogin).
    else if (operation.value === undefined) plan.memberChanges.push({ type: 'replaceMembers', ids: [] });
    else plan.memberChanges.push({ type: 'removeMembers', ids: memberIds(operation.value, path) });
  });
  for (const change of plan.memberChanges) if (change.ids.length > 50_000) throw invalidValue('at most 50,000 members per operation');
  return plan;
}
