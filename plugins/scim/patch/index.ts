// PATCH (RFC 7644 §3.5.2): operations.ts reads and canonicalizes the request, user.ts applies it
// to a stored User, group.ts splits a Group PATCH into attribute changes and membership commands.
export { readPatchRequest, parsePath, serializePath, type PatchOperation } from './operations.ts';
export { applyPatch, canonicalize } from './user.ts';
export { planGroupPatch, type GroupPatchPlan, type MemberChange } from './group.ts';
