// PATCH of a User: the operations are applied, in order, to the stored SCIM representation with
// scim-patch (a well-kept implementation of RFC 7644 §3.5.2, which already creates the entry an
// Entra `Add`/`Replace` of `emails[type eq "work"].value` targets when none exists yet), after
// canonicalize() has brought Entra's and Okta's dialects to the RFC form. The result is then
// normalized like a PUT body and sent to the engine as one replace (see routes/users.ts).
import { InvalidScimPatch, NoTarget, ScimError as PatchLibraryError, scimPatch, type ScimPatchOperation, type ScimResource } from 'scim-patch';
import { ScimError } from '../errors/index.ts';
import { canonicalExtensionUrn, reservedKeyIn, reservedSegmentOf, resolveAttribute, type ResourceKind } from '../schemas/attributes.ts';
import { GROUP, USER } from '../schemas/urns.ts';
import { isObject, type Json } from '../resources/user.ts';
import { parsePath, serializePath, type PatchOperation } from './operations.ts';

const coreSchemaOf = (kind: ResourceKind) => (kind === 'User' ? USER : GROUP);

/** Attributes a PATCH may name but that are not the client's to change (or never stored). */
const IGNORED = new Set(['id', 'meta', 'schemas', 'groups', 'password']);

function isIgnored(kind: ResourceKind, path: string): boolean {
  const top = resolveAttribute(kind, path.split('[')[0]!)?.jsonPath[0] ?? path.split(/[.[]/)[0]!;
  return IGNORED.has(top.toLowerCase());
}

/** One operation in the form scim-patch applies, or null when there is nothing to apply. */
export function canonicalize(kind: ResourceKind, operation: PatchOperation): ScimPatchOperation | null {
  if (operation.path) {
    if (isIgnored(kind, operation.path)) return null; // e.g. Okta's password sync: accepted, never stored
    // add/replace of null: RFC 7643 §2.5 makes null the same as unassigned, so it is a remove.
    // (Given to scim-patch as it is, a null into an object attribute such as enterprise `manager`
    // threw a TypeError: a 500 instead of a cleared value.)
    if (operation.value === null) return { op: 'remove', path: serializePath(parsePath(kind, operation.path)) } as ScimPatchOperation;
    return { op: operation.op, path: serializePath(parsePath(kind, operation.path)), ...(operation.value !== undefined ? { value: operation.value } : {}) } as ScimPatchOperation;
  }
  // Null prototype: a "__proto__" key stays a key the check in applyPatch sees, not a prototype.
  const value: Json = Object.create(null);
  const put = (key: string, v: unknown) => {
    if (!isIgnored(kind, key)) value[serializePath(parsePath(kind, key))] = v;
  };
  for (const [key, v] of Object.entries(operation.value as Json)) {
    // { "<schema URN>": { attr: … } }: each attribute by its full path (a merge, not a replacement of the extension).
    const urn = canonicalExtensionUrn(kind, key) ?? (key.toLowerCase() === coreSchemaOf(kind).toLowerCase() ? '' : null);
    if (urn !== null && isObject(v)) {
      for (const [sub, subValue] of Object.entries(v)) put(urn ? `${urn}:${sub}` : sub, subValue);
    } else put(key, v);
  }
  if (!Object.keys(value).length) return null;
  return { op: operation.op, value } as ScimPatchOperation;
}

/** Applies the operations in order to a copy of `resource`; the first failing one fails them all. */
export function applyPatch(kind: ResourceKind, resource: Json, operations: PatchOperation[]): Json {
  const working = structuredClone(resource) as unknown as ScimResource;
  operations.forEach((operation, index) => {
    const canonical = canonicalize(kind, operation);
    if (!canonical) return;
    // scim-patch follows every segment of a path (and of each key of an object value) with plain
    // property assignment: a "__proto__" or "constructor.prototype" segment would change
    // Object.prototype for the whole process. readJsonBody and readPatchRequest refuse them
    // already; checked again here, at the one place that walks paths, whatever the caller.
    const reservedPath = canonical.path === undefined ? undefined : reservedSegmentOf(canonical.path);
    if (reservedPath) throw new ScimError(400, 'invalidPath', `Operations[${index}]: "${reservedPath}" is not an attribute`);
    const reservedKey = reservedKeyIn(canonical.value);
    if (reservedKey) throw new ScimError(400, 'invalidValue', `Operations[${index}]: "${reservedKey}" is not an attribute name`);
    try {
      scimPatch(working, [canonical], { mutateDocument: true, treatMissingAsAdd: true });
    } catch (error) {
      // A null for what is already unassigned changes nothing (a remove of it would be noTarget).
      if (error instanceof NoTarget && canonical.op === 'remove' && operation.op !== 'remove') return;
      if (error instanceof NoTarget) throw new ScimError(400, 'noTarget', `Operations[${index}]: no value matches "${operation.path}"`);
      if (error instanceof InvalidScimPatch || error instanceof PatchLibraryError) {
        throw new ScimError(400, operation.path ? 'invalidPath' : 'invalidValue', `Operations[${index}]: ${(error as Error).message}`);
      }
      throw error;
    }
  });
  if (!isObject(working)) throw new ScimError(400, 'invalidValue', 'the PATCH did not produce a resource');
  return working as unknown as Json;
}
