// PATCH requests (RFC 7644 §3.5.2) as identity providers send them: `op` in any case ("Replace",
// "Add" from Entra ID), paths with any attribute-name case and with value filters, path-less
// values whose keys are themselves paths ("name.givenName", full URN paths: Entra with
// aadOptscim062020). Everything is brought to one canonical form here before it is applied.
import { invalidPath, invalidSyntax, invalidValue, ScimError } from '../errors/index.ts';
import { parseFilter, type FilterNode } from '../filter/parse.ts';
import { reservedSegmentOf, resolveAttribute, type ResourceKind } from '../schemas/attributes.ts';
import { PATCH_OP } from '../schemas/urns.ts';
import { isObject } from '../resources/user.ts';

export interface PatchOperation {
  op: 'add' | 'remove' | 'replace';
  path?: string;
  value?: unknown;
}

export interface ParsedPath {
  /** The attribute (canonical when known), e.g. "emails" or "<enterprise URN>:manager". */
  attribute: string;
  filter?: FilterNode;
  /** Sub-attribute after the filter, or after a dot. */
  subAttribute?: string;
}

export const MAX_OPERATIONS = 1000;

export function readPatchRequest(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw invalidSyntax('a PATCH body must be a JSON object with "schemas" and "Operations"');
  const schemas = body.schemas;
  if (schemas !== undefined && !(Array.isArray(schemas) && schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP.toLowerCase()))) {
    throw invalidSyntax(`a PATCH body's schemas must contain "${PATCH_OP}"`);
  }
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const operations = key ? body[key] : undefined;
  if (!Array.isArray(operations) || !operations.length) throw invalidSyntax('"Operations" must be a non-empty array');
  if (operations.length > MAX_OPERATIONS) throw new ScimError(400, 'tooMany', `at most ${MAX_OPERATIONS} operations per PATCH`);
  return operations.map((raw, i) => {
    if (!isObject(raw)) throw invalidSyntax(`Operations[${i}] must be an object`);
    const field = (name: string) => raw[Object.keys(raw).find((k) => k.toLowerCase() === name) ?? name];
    const op = field('op');
    const lower = typeof op === 'string' ? op.toLowerCase() : '';
    if (lower !== 'add' && lower !== 'remove' && lower !== 'replace') throw invalidSyntax(`Operations[${i}].op must be "add", "remove" or "replace" (found ${JSON.stringify(op)})`);
    const path = field('path');
    if (path !== undefined && path !== null && (typeof path !== 'string' || !path.trim())) throw invalidSyntax(`Operations[${i}].path must be a non-empty string`);
    const reserved = typeof path === 'string' ? reservedSegmentOf(path) : undefined;
    if (reserved) throw invalidPath(`Operations[${i}].path "${path}" names "${reserved}", which is not an attribute (reserved: "__proto__", "constructor", "prototype")`);
    const value = field('value');
    if (lower === 'remove' && !path) throw new ScimError(400, 'noTarget', `Operations[${i}]: "remove" needs a path`);
    if (lower !== 'remove' && value === undefined) throw invalidValue(`Operations[${i}]: "${lower}" needs a value`);
    if (!path && lower !== 'remove' && !isObject(value)) throw invalidValue(`Operations[${i}]: without a path, the value must be an object of attributes`);
    return { op: lower, ...(path ? { path: path.trim() } : {}), ...(value !== undefined ? { value } : {}) } as PatchOperation;
  });
}

/** Splits `attr[filter].sub` / `attr.sub` / `urn:…:attr.sub` into its parts. */
export function parsePath(kind: ResourceKind, path: string): ParsedPath {
  const open = path.indexOf('[');
  if (open === -1) {
    const resolved = resolveAttribute(kind, path);
    if (!resolved) return { attribute: path };
    const [attribute, subAttribute] = splitCanonical(resolved.canonical);
    return { attribute, ...(subAttribute ? { subAttribute } : {}) };
  }
  const close = path.lastIndexOf(']');
  if (close < open) throw new ScimError(400, 'invalidPath', `"${path}" has an unbalanced "["`);
  const head = path.slice(0, open);
  const after = path.slice(close + 1);
  if (after && !/^\.[A-Za-z$][\w$-]*$/.test(after)) throw new ScimError(400, 'invalidPath', `"${path}": only ".subAttribute" may follow "]"`);
  let filter: FilterNode;
  try {
    filter = parseFilter(path.slice(open + 1, close));
  } catch (error) {
    throw new ScimError(400, 'invalidPath', `"${path}": ${(error as Error).message}`);
  }
  const resolved = resolveAttribute(kind, head);
  const attribute = resolved ? resolved.canonical : head;
  let subAttribute = after ? after.slice(1) : undefined;
  if (resolved && subAttribute) {
    const sub = resolved.attribute.subAttributes?.find((s) => s.name.toLowerCase() === subAttribute!.toLowerCase());
    if (sub) subAttribute = sub.name;
  }
  return { attribute, filter: resolved ? canonicalFilter(resolved.attribute.subAttributes ?? [], filter) : filter, ...(subAttribute ? { subAttribute } : {}) };
}

function splitCanonical(canonical: string): [string, string | undefined] {
  const colon = canonical.lastIndexOf(':');
  const local = canonical.slice(colon + 1);
  const dot = local.indexOf('.');
  if (dot === -1) return [canonical, undefined];
  return [canonical.slice(0, colon + 1) + local.slice(0, dot), local.slice(dot + 1)];
}

/** Sub-attribute names inside a value filter, in their canonical case. */
function canonicalFilter(subs: ReadonlyArray<{ name: string }>, node: FilterNode): FilterNode {
  const name = (p: string) => subs.find((s) => s.name.toLowerCase() === p.toLowerCase())?.name ?? p;
  switch (node.kind) {
    case 'and':
    case 'or':
      return { ...node, left: canonicalFilter(subs, node.left), right: canonicalFilter(subs, node.right) };
    case 'not':
      return { ...node, expr: canonicalFilter(subs, node.expr) };
    case 'compare':
    case 'present':
      return { ...node, path: name(node.path) };
    case 'valuePath':
      return node;
  }
}

/** The filter back as text, values as JSON strings (what scim-patch's own parser expects). */
export function serializeFilter(node: FilterNode): string {
  switch (node.kind) {
    case 'and':
    case 'or':
      return `(${serializeFilter(node.left)} ${node.kind} ${serializeFilter(node.right)})`;
    case 'not':
      return `not (${serializeFilter(node.expr)})`;
    case 'present':
      return `${node.path} pr`;
    case 'compare':
      return `${node.path} ${node.op} ${JSON.stringify(node.value)}`;
    case 'valuePath':
      return `${node.path}[${serializeFilter(node.filter)}]`;
  }
}

export function serializePath(path: ParsedPath): string {
  return `${path.attribute}${path.filter ? `[${serializeFilter(path.filter)}]` : ''}${path.subAttribute ? `.${path.subAttribute}` : ''}`;
}
