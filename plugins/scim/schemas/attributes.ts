// Resolves attribute paths ("userName", "NAME.givenName", "emails.value",
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value") to their schema
// definition. Attribute names are case-insensitive (RFC 7643 §2.1); the canonical spelling is
// what gets stored, so "UserName" and "userName" are the same attribute.
import { commonAttributes, enterpriseUserSchema, groupSchema, userSchema, type AttributeDef, type SchemaDef } from './definitions.ts';
import { ENTERPRISE_ALIASES, ENTERPRISE_USER, GROUP, USER } from './urns.ts';

export type ResourceKind = 'User' | 'Group';

export interface ResolvedAttribute {
  /** The schema the attribute belongs to (core URN for id/externalId/meta). */
  schema: string;
  attribute: AttributeDef;
  subAttribute?: AttributeDef;
  /** Where the value lives in the stored resource: extension attributes nest under their URN. */
  jsonPath: string[];
  /** The canonical path, e.g. "emails.value" or "<enterprise URN>:manager.value". */
  canonical: string;
}

const coreOf = (kind: ResourceKind): SchemaDef => (kind === 'User' ? userSchema : groupSchema);
const extensionsOf = (kind: ResourceKind): SchemaDef[] => (kind === 'User' ? [enterpriseUserSchema] : []);

const find = (list: readonly AttributeDef[], name: string) => {
  const lower = name.toLowerCase();
  return list.find((a) => a.name.toLowerCase() === lower);
};

/** The schema URN a path starts with (canonical spelling), and the rest of the path. */
export function splitSchemaPrefix(kind: ResourceKind, path: string): { schema: string | null; rest: string } {
  const lower = path.toLowerCase();
  const candidates = [coreOf(kind).id, ...extensionsOf(kind).map((s) => s.id)];
  for (const urn of candidates) {
    if (lower.startsWith(`${urn.toLowerCase()}:`)) return { schema: urn, rest: path.slice(urn.length + 1) };
  }
  if (kind === 'User') {
    for (const alias of ENTERPRISE_ALIASES) if (lower.startsWith(`${alias}:`)) return { schema: ENTERPRISE_USER, rest: path.slice(alias.length + 1) };
  }
  return { schema: null, rest: path };
}

/** The canonical extension URN for an object key such as "urn:scim:schemas:extension:enterprise:1.0". */
export function canonicalExtensionUrn(kind: ResourceKind, key: string): string | null {
  const lower = key.toLowerCase();
  for (const s of extensionsOf(kind)) if (s.id.toLowerCase() === lower) return s.id;
  if (kind === 'User' && ENTERPRISE_ALIASES.includes(lower)) return ENTERPRISE_USER;
  return null;
}

export function resolveAttribute(kind: ResourceKind, path: string): ResolvedAttribute | null {
  const { schema, rest } = splitSchemaPrefix(kind, path);
  const [name, subName, ...extra] = rest.split('.');
  if (!name || extra.length) return null;
  const core = coreOf(kind);
  let owner: SchemaDef | null = null;
  let attribute: AttributeDef | undefined;
  if (schema === null || schema === core.id) {
    attribute = find(commonAttributes, name);
    if (attribute) owner = core;
    else {
      attribute = find(core.attributes, name);
      if (attribute) owner = core;
    }
    // Extension attributes named without their URN (Entra's "manager", "department"): accepted when unambiguous.
    if (!attribute && schema === null) {
      for (const ext of extensionsOf(kind)) {
        attribute = find(ext.attributes, name);
        if (attribute) {
          owner = ext;
          break;
        }
      }
    }
  } else {
    owner = extensionsOf(kind).find((s) => s.id === schema) ?? null;
    attribute = owner ? find(owner.attributes, name) : undefined;
  }
  if (!attribute || !owner) return null;
  let subAttribute: AttributeDef | undefined;
  if (subName !== undefined) {
    subAttribute = find(attribute.subAttributes ?? [], subName);
    if (!subAttribute) return null;
  }
  const isExtension = owner.id !== core.id;
  const jsonPath = [...(isExtension ? [owner.id] : []), attribute.name, ...(subAttribute ? [subAttribute.name] : [])];
  const local = `${attribute.name}${subAttribute ? `.${subAttribute.name}` : ''}`;
  return { schema: isExtension ? owner.id : core.id, attribute, subAttribute, jsonPath, canonical: isExtension ? `${owner.id}:${local}` : local };
}

export const schemaIdsOf = (kind: ResourceKind) => (kind === 'User' ? [USER, ENTERPRISE_USER] : [GROUP]);

/**
 * Names that walk into an object's prototype when a path is followed ("__proto__.x",
 * "constructor.prototype.x", also as keys of a path-less PATCH value, which are paths too): never
 * SCIM attribute names, refused wherever a name or path comes from a request (issue 14, item 1).
 * Case-insensitive like every attribute name.
 */
const RESERVED_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The reserved segment a path or attribute name contains, or undefined: split as paths are (at
 * ".", ":", "[", "]", spaces and parentheses), quoted filter values left out (`emails[value eq
 * "constructor"]` names a value, not an attribute).
 */
export function reservedSegmentOf(path: string): string | undefined {
  return path
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .split(/[.:[\]\s"()]+/)
    .find((segment) => RESERVED_SEGMENTS.has(segment.toLowerCase()));
}

/** The first key, at any depth of a request body, with a reserved segment, or undefined. Iterative (bodies nest at most 32 deep anyway). */
export function reservedKeyIn(value: unknown): string | undefined {
  const pending = [value];
  while (pending.length) {
    const current = pending.pop();
    if (Array.isArray(current)) for (const item of current) pending.push(item);
    else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        if (reservedSegmentOf(key)) return key;
        pending.push(item);
      }
    }
  }
  return undefined;
}
