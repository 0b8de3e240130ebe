// SCIM User ⇄ the hub's user record.
//
// What an identity provider sends is normalized once (canonical attribute names, enterprise
// extension under its URN whatever alias was used, booleans that arrive as "True"/"False", lists
// sent as single objects, nulls dropped) and kept whole in the user's sourceData, minus `password`
// (never stored) and read-only attributes. GET serves it back with `id`, `active` and `meta` from
// the record, so what was sent is what is read. The common model's columns (userName, emails,
// names, title, department, manager…) are derived from it, and attributes outside the schemas
// become the user's customAttributes (the engine drops the connection's denied attributes from both).
import type { DirectoryUser, UserProfile } from 'lifecycle-hub/connector';
import { invalidSyntax, invalidValue } from '../errors/index.ts';
import { canonicalExtensionUrn, splitSchemaPrefix } from '../schemas/attributes.ts';
import { commonAttributes, enterpriseUserSchema, userSchema, type AttributeDef } from '../schemas/definitions.ts';
import { ENTERPRISE_USER, USER } from '../schemas/urns.ts';

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Attributes a client may send but that are the server's (or never stored). */
const IGNORED = new Set(['id', 'meta', 'schemas', 'groups', 'password']);

const findAttr = (list: readonly AttributeDef[], key: string) => {
  const lower = key.toLowerCase();
  return list.find((a) => a.name.toLowerCase() === lower);
};

/** Booleans as identity providers send them: true/false, or "True"/"False" (Entra ID), "true"/"false". */
export function coerceBoolean(value: unknown, path: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  throw invalidValue(`${path} must be a boolean (true or false), not ${JSON.stringify(value)}`);
}

function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== null).map(dropNulls);
  if (isObject(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = dropNulls(v);
    return out;
  }
  return value;
}

/** Canonical sub-attribute names and typed values of one complex value. */
function normalizeComplex(def: AttributeDef, value: unknown, path: string): unknown {
  if (!isObject(value)) {
    // A bare value for a complex attribute: its "value" sub-attribute (e.g. manager sent as an id string).
    if (def.subAttributes?.some((s) => s.name === 'value') && (typeof value === 'string' || typeof value === 'number')) return { value: String(value) };
    throw invalidValue(`${path} must be an object`);
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    const sub = findAttr(def.subAttributes ?? [], k);
    if (!sub) {
      out[k] = v;
      continue;
    }
    out[sub.name] = sub.type === 'boolean' ? coerceBoolean(v, `${path}.${sub.name}`) : v;
  }
  return out;
}

function normalizeAttribute(def: AttributeDef, value: unknown, path: string): unknown {
  if (def.multiValued) {
    const list = Array.isArray(value) ? value : [value]; // OneLogin's templates send emails as one object.
    return list.map((item, i) => (def.type === 'complex' ? normalizeComplex(def, item, `${path}[${i}]`) : item));
  }
  if (def.type === 'complex') {
    // Entra's tutorial PATCHes manager as [{ value, $ref }]: one element for a single-valued attribute.
    const single = Array.isArray(value) ? value[0] : value;
    return normalizeComplex(def, single, path);
  }
  if (def.type === 'boolean') return coerceBoolean(value, path);
  if (def.type === 'string' || def.type === 'reference') {
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (typeof value !== 'string') throw invalidValue(`${path} must be a string`);
  }
  return value;
}

function normalizeManager(value: Json): Json {
  // OneLogin's enterprise template: { managerId, displayName }.
  if (value.value === undefined && typeof value.managerId === 'string') {
    const { managerId, ...rest } = value;
    return { value: managerId, ...rest };
  }
  return value;
}

export interface NormalizedUser {
  /** The SCIM resource as stored (sourceData). */
  resource: Json;
  profile: UserProfile;
  active: boolean | undefined;
}

export function normalizeUser(input: unknown): NormalizedUser {
  if (!isObject(input)) throw invalidSyntax('a User must be a JSON object');
  const body = dropNulls(input) as Json;
  const core: Json = {};
  const enterprise: Json = {};
  const custom: Json = {};

  const putCore = (def: AttributeDef, value: unknown, path: string) => {
    // Other string attributes sent as numbers or booleans are taken as their text (normalizeAttribute).
    // Not the name a user is unique by: a number's text is not always what was meant (1e3 is "1000").
    if (def.name === 'userName' && typeof value !== 'string') {
      throw invalidValue(`userName must be a string, not ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : JSON.stringify(value)}`);
    }
    core[def.name] = normalizeAttribute(def, value, path);
  };
  const putEnterprise = (key: string, value: unknown, overwrite: boolean) => {
    const def = findAttr(enterpriseUserSchema.attributes, key);
    const name = def?.name ?? key;
    if (!overwrite && name in enterprise) return;
    enterprise[name] = def ? normalizeAttribute(def, value, `${ENTERPRISE_USER}:${name}`) : value;
  };

  const visit = (key: string, value: unknown) => {
    const lower = key.toLowerCase();
    if (IGNORED.has(lower)) return;
    if (lower === USER.toLowerCase() && isObject(value)) {
      for (const [k, v] of Object.entries(value)) visit(k, v);
      return;
    }
    if (canonicalExtensionUrn('User', key) === ENTERPRISE_USER) {
      if (!isObject(value)) throw invalidValue(`${key} must be an object`);
      for (const [k, v] of Object.entries(value)) putEnterprise(k, v, true);
      return;
    }
    if (key.includes(':')) {
      // A full attribute path used as a key ("urn:…:enterprise:2.0:User:department").
      const { schema, rest } = splitSchemaPrefix('User', key);
      if (schema === ENTERPRISE_USER) return putEnterprise(rest, value, true);
      if (schema === USER) return visit(rest, value);
      custom[key] = value; // another extension: kept as sent
      return;
    }
    const def = findAttr(userSchema.attributes, key) ?? findAttr(commonAttributes, key);
    if (def) {
      if (IGNORED.has(def.name.toLowerCase())) return;
      return putCore(def, value, def.name);
    }
    // Enterprise attributes sent at the top level (an old Entra example does): where they belong.
    if (findAttr(enterpriseUserSchema.attributes, key)) return putEnterprise(key, value, false);
    custom[key] = value;
  };
  for (const [key, value] of Object.entries(body)) visit(key, value);

  if (isObject(enterprise.manager)) enterprise.manager = normalizeManager(enterprise.manager);
  if (typeof core.userName !== 'string' || !core.userName.trim()) throw invalidValue('userName is required (a non-empty string)');

  const resource: Json = { ...core, ...(Object.keys(enterprise).length ? { [ENTERPRISE_USER]: enterprise } : {}), ...custom };
  const active = typeof core.active === 'boolean' ? core.active : undefined;
  return { resource, profile: profileOf(resource, custom), active };
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The common model's view of a normalized SCIM user. */
export function profileOf(resource: Json, custom: Json): UserProfile {
  const name = isObject(resource.name) ? resource.name : {};
  const enterprise = isObject(resource[ENTERPRISE_USER]) ? (resource[ENTERPRISE_USER] as Json) : {};
  const manager = isObject(enterprise.manager) && typeof enterprise.manager.value === 'string' && enterprise.manager.value
    ? { value: enterprise.manager.value, displayName: text(enterprise.manager.displayName) }
    : null;
  const emails = (Array.isArray(resource.emails) ? resource.emails : [])
    .filter((e): e is Json => isObject(e) && typeof e.value === 'string' && e.value !== '')
    .map((e) => ({ value: e.value as string, type: text(e.type), primary: typeof e.primary === 'boolean' ? e.primary : null }));
  const givenName = text(name.givenName);
  const familyName = text(name.familyName);
  return {
    userName: resource.userName as string,
    externalId: text(resource.externalId),
    emails,
    givenName,
    familyName,
    // The hub's display name: the IdP's, else the formatted or composed name (the SCIM resource keeps what was sent).
    displayName: text(resource.displayName) ?? text(name.formatted) ?? ([givenName, familyName].filter(Boolean).join(' ') || null),
    title: text(resource.title),
    department: text(enterprise.department),
    employeeNumber: text(enterprise.employeeNumber),
    manager,
    customAttributes: custom,
    sourceData: resource,
  };
}

/** The columns a SCIM User is served from. */
/** A user as the hub's directory reads return it (and as the engine returns what it applied). */
export type UserRow = DirectoryUser;

export const etagOf = (version: number) => `W/"${version}"`;
const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString();

/** The SCIM representation of a user (before attribute projection). */
export function toScimUser(row: UserRow, baseUrl: string): Json {
  const stored = isObject(row.sourceData) ? row.sourceData : {};
  const fallback: Json = Object.keys(stored).length
    ? {}
    : {
        ...(row.userName ? { userName: row.userName } : {}),
        ...(row.givenName || row.familyName ? { name: { ...(row.givenName ? { givenName: row.givenName } : {}), ...(row.familyName ? { familyName: row.familyName } : {}) } } : {}),
        ...(row.displayName ? { displayName: row.displayName } : {}),
        ...(Array.isArray(row.emails) && row.emails.length ? { emails: row.emails } : {}),
      };
  const { externalId, ...attributes } = { ...fallback, ...stored } as Json;
  const schemas = [USER, ...Object.keys(attributes).filter((k) => k.startsWith('urn:') && isObject(attributes[k]))];
  return {
    schemas,
    id: row.id,
    ...(externalId !== undefined ? { externalId } : row.externalId ? { externalId: row.externalId } : {}),
    ...attributes,
    active: row.sourceActive,
    meta: {
      resourceType: 'User',
      created: iso(row.createdAt),
      lastModified: iso(row.updatedAt),
      location: `${baseUrl}/Users/${row.id}`,
      version: etagOf(row.version),
    },
  };
}
