// SCIM Group ⇄ the hub's group record. Members live in group_membership (changed only through
// the engine's addMembers / removeMembers / replaceMembers), the rest of the resource in the
// group's sourceData.
import type { DirectoryGroup, DirectoryMember } from 'lifecycle-hub/connector';
import { invalidSyntax, invalidValue } from '../errors/index.ts';
import { GROUP } from '../schemas/urns.ts';
import { etagOf, isObject, type Json } from './user.ts';

const IGNORED = new Set(['id', 'meta', 'schemas', 'members']);

export interface NormalizedGroup {
  displayName: string;
  externalId: string | null;
  /** Member ids as sent (undefined: the request did not mention members). */
  members: string[] | undefined;
  /** The resource minus members, id and meta. */
  resource: Json;
}

/** Member ids from a members value: [{ value }], [{ value, $ref: null, display }], or bare ids. */
export function memberIds(value: unknown, path = 'members'): string[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return list.map((m, i) => {
    const id = isObject(m) ? m.value : m;
    if (typeof id !== 'string' || !id) throw invalidValue(`${path}[${i}].value must be the id of a user`);
    return id;
  });
}

export function normalizeGroup(input: unknown): NormalizedGroup {
  if (!isObject(input)) throw invalidSyntax('a Group must be a JSON object');
  const resource: Json = {};
  let members: string[] | undefined;
  for (const [key, value] of Object.entries(input)) {
    if (value === null || value === undefined) continue;
    const lower = key.toLowerCase();
    if (lower === 'members') members = memberIds(value);
    else if (IGNORED.has(lower)) continue;
    else if (lower === 'displayname') resource.displayName = value;
    else if (lower === 'externalid') resource.externalId = typeof value === 'number' ? String(value) : value;
    else resource[key] = value;
  }
  if (typeof resource.displayName !== 'string' || !resource.displayName.trim()) throw invalidValue('displayName is required (a non-empty string)');
  if (resource.externalId !== undefined && typeof resource.externalId !== 'string') throw invalidValue('externalId must be a string');
  return { displayName: resource.displayName, externalId: (resource.externalId as string | undefined) ?? null, members, resource };
}

/** A group and its members as the hub's directory reads return them. */
export type GroupRow = DirectoryGroup;
export type MemberRow = DirectoryMember;

const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString();

export function toScimGroup(row: GroupRow, members: MemberRow[] | undefined, baseUrl: string): Json {
  const stored = isObject(row.sourceData) ? row.sourceData : {};
  const { displayName: _d, externalId: _e, ...rest } = stored;
  return {
    schemas: [GROUP],
    id: row.id,
    ...(row.externalId ? { externalId: row.externalId } : {}),
    displayName: row.displayName,
    ...rest,
    ...(members ? { members: members.map((m) => ({ value: m.value, display: m.display ?? undefined, type: 'User', $ref: `${baseUrl}/Users/${m.value}` })) } : {}),
    meta: {
      resourceType: 'Group',
      created: iso(row.createdAt),
      lastModified: iso(row.updatedAt),
      location: `${baseUrl}/Groups/${row.id}`,
      version: etagOf(row.version),
    },
  };
}
