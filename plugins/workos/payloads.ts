// WorkOS directory objects as this connector reads them, from three places: a webhook body (parsed
// here from the raw bytes), the Events API and the directory listings (both through the SDK, which
// camelCases them and drops `name`, `emails`, `username` and `job_title`). Every path is reduced to
// the same view, holding only what all three carry, so a backfill never "changes" what a webhook
// set. WorkOS deprecated the dropped fields in favour of `raw_attributes` / `custom_attributes`,
// which is where the mapping reads titles, names and emails from.
import type { DirectoryGroup, DirectoryUser, Event } from '@workos-inc/node';
import { z } from 'zod';
import { parseWebhookJson } from 'lifecycle-hub/connector';

export interface WorkosUserView {
  id: string;
  directoryId: string;
  organizationId: string | null;
  idpId: string | null;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  /** "active" | "inactive" ("suspended" before WorkOS merged it into "inactive"). */
  state: string;
  rawAttributes: Record<string, unknown>;
  customAttributes: Record<string, unknown>;
  roles: string[];
  createdAt: string;
  updatedAt: string;
}

export interface WorkosGroupView {
  id: string;
  directoryId: string;
  organizationId: string | null;
  idpId: string | null;
  name: string;
  rawAttributes: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface WorkosDirectoryView {
  id: string;
  organizationId: string | null;
  name: string | null;
  state: string | null;
}

interface EventBase {
  id: string;
  createdAt: string;
}

export type WorkosEventView = EventBase &
  (
    | { type: 'dsync.user.created' | 'dsync.user.updated' | 'dsync.user.deleted'; user: WorkosUserView }
    | { type: 'dsync.group.created' | 'dsync.group.updated' | 'dsync.group.deleted'; group: WorkosGroupView }
    | { type: 'dsync.group.user_added' | 'dsync.group.user_removed'; directoryId: string; user: WorkosUserView; group: WorkosGroupView }
    | { type: 'dsync.activated' | 'dsync.deleted'; directory: WorkosDirectoryView }
    | { type: 'other'; name: string }
  );

/** The directory lifecycle events this connector reads (webhooks and Events API). */
export const DSYNC_EVENTS = [
  'dsync.activated',
  'dsync.deleted',
  'dsync.user.created',
  'dsync.user.updated',
  'dsync.user.deleted',
  'dsync.group.created',
  'dsync.group.updated',
  'dsync.group.deleted',
  'dsync.group.user_added',
  'dsync.group.user_removed',
] as const;

// ---- webhook bodies (snake_case, as WorkOS sends them) ------------------------------------------

const timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 timestamp');
const id = z.string().min(1);
const record = z.record(z.string(), z.unknown());
const role = z.object({ slug: z.string() }).loose();

const wireUser = z
  .object({
    id,
    directory_id: id,
    organization_id: z.string().nullish(),
    idp_id: z.string().nullish(),
    email: z.string().nullish(),
    first_name: z.string().nullish(),
    last_name: z.string().nullish(),
    state: z.string(),
    raw_attributes: record.nullish(),
    custom_attributes: record.nullish(),
    role: role.nullish(),
    roles: z.array(role).nullish(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .loose();

const wireGroup = z
  .object({
    id,
    directory_id: id,
    organization_id: z.string().nullish(),
    idp_id: z.string().nullish(),
    name: z.string(),
    raw_attributes: record.nullish(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .loose();

const wireDirectory = z
  .object({ id, organization_id: z.string().nullish(), name: z.string().nullish(), state: z.string().nullish() })
  .loose();

const wireEnvelope = z.object({ id, event: z.string().min(1), data: z.unknown(), created_at: timestamp }).loose();

export type WireUser = z.infer<typeof wireUser>;
export type WireGroup = z.infer<typeof wireGroup>;

const roleSlugs = (role: { slug: string } | null | undefined, roles: Array<{ slug: string }> | null | undefined) =>
  [...new Set([...(roles ?? []).map((r) => r.slug), ...(role ? [role.slug] : [])])].sort();

function userFromWire(u: WireUser): WorkosUserView {
  return {
    id: u.id,
    directoryId: u.directory_id,
    organizationId: u.organization_id ?? null,
    idpId: u.idp_id ?? null,
    email: u.email ?? null,
    firstName: u.first_name ?? null,
    lastName: u.last_name ?? null,
    state: u.state,
    rawAttributes: u.raw_attributes ?? {},
    customAttributes: u.custom_attributes ?? {},
    roles: roleSlugs(u.role, u.roles),
    createdAt: u.created_at,
    updatedAt: u.updated_at,
  };
}

function groupFromWire(g: WireGroup): WorkosGroupView {
  return {
    id: g.id,
    directoryId: g.directory_id,
    organizationId: g.organization_id ?? null,
    idpId: g.idp_id ?? null,
    name: g.name,
    rawAttributes: g.raw_attributes ?? {},
    createdAt: g.created_at,
    updatedAt: g.updated_at,
  };
}

export class WorkosPayloadError extends Error {}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WorkosPayloadError(`${what}: ${[...issue.path].join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Parses a verified webhook body. Throws WorkosPayloadError naming the field at fault. */
export function eventFromWebhookBody(rawBody: string): WorkosEventView {
  let json: unknown;
  try {
    json = parseWebhookJson(rawBody);
  } catch (error) {
    throw new WorkosPayloadError((error as Error).message);
  }
  const envelope = parse(wireEnvelope, json, 'event');
  const base = { id: envelope.id, createdAt: envelope.created_at };
  switch (envelope.event) {
    case 'dsync.user.created':
    case 'dsync.user.updated':
    case 'dsync.user.deleted':
      return { ...base, type: envelope.event, user: userFromWire(parse(wireUser, envelope.data, `${envelope.event} data`)) };
    case 'dsync.group.created':
    case 'dsync.group.updated':
    case 'dsync.group.deleted':
      return { ...base, type: envelope.event, group: groupFromWire(parse(wireGroup, envelope.data, `${envelope.event} data`)) };
    case 'dsync.group.user_added':
    case 'dsync.group.user_removed': {
      const data = parse(z.object({ directory_id: id, user: wireUser, group: wireGroup }).loose(), envelope.data, `${envelope.event} data`);
      return { ...base, type: envelope.event, directoryId: data.directory_id, user: userFromWire(data.user), group: groupFromWire(data.group) };
    }
    case 'dsync.activated':
    case 'dsync.deleted': {
      const d = parse(wireDirectory, envelope.data, `${envelope.event} data`);
      return { ...base, type: envelope.event, directory: { id: d.id, organizationId: d.organization_id ?? null, name: d.name ?? null, state: d.state ?? null } };
    }
    default:
      return { ...base, type: 'other', name: envelope.event };
  }
}

// ---- SDK objects (camelCase: Events API and listings) -------------------------------------------

type SdkUser = Pick<DirectoryUser, 'id' | 'directoryId' | 'organizationId' | 'idpId' | 'email' | 'firstName' | 'lastName' | 'state' | 'rawAttributes' | 'customAttributes' | 'role' | 'roles' | 'createdAt' | 'updatedAt'>;

export function userFromSdk(u: SdkUser): WorkosUserView {
  return {
    id: u.id,
    directoryId: u.directoryId,
    organizationId: u.organizationId ?? null,
    idpId: u.idpId ?? null,
    email: u.email ?? null,
    firstName: u.firstName ?? null,
    lastName: u.lastName ?? null,
    state: u.state,
    rawAttributes: (u.rawAttributes as Record<string, unknown> | null) ?? {},
    customAttributes: (u.customAttributes as Record<string, unknown> | null) ?? {},
    roles: roleSlugs(u.role, u.roles),
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

export function groupFromSdk(g: DirectoryGroup): WorkosGroupView {
  return {
    id: g.id,
    directoryId: g.directoryId,
    organizationId: g.organizationId ?? null,
    idpId: g.idpId ?? null,
    name: g.name,
    rawAttributes: (g.rawAttributes as Record<string, unknown> | null) ?? {},
    createdAt: g.createdAt,
    updatedAt: g.updatedAt,
  };
}

export function eventFromSdk(event: Event): WorkosEventView {
  const base = { id: event.id, createdAt: event.createdAt };
  switch (event.event) {
    case 'dsync.user.created':
    case 'dsync.user.updated':
    case 'dsync.user.deleted':
      return { ...base, type: event.event, user: userFromSdk(event.data) };
    case 'dsync.group.created':
    case 'dsync.group.updated':
    case 'dsync.group.deleted':
      return { ...base, type: event.event, group: groupFromSdk(event.data) };
    case 'dsync.group.user_added':
    case 'dsync.group.user_removed':
      return { ...base, type: event.event, directoryId: event.data.directoryId, user: userFromSdk(event.data.user), group: groupFromSdk(event.data.group) };
    case 'dsync.activated':
    case 'dsync.deleted':
      return { ...base, type: event.event, directory: { id: event.data.id, organizationId: event.data.organizationId ?? null, name: event.data.name ?? null, state: event.data.state ?? null } };
    default:
      return { ...base, type: 'other', name: event.event };
  }
}

/** The directory an event belongs to (every dsync event names one). */
export function directoryOf(event: WorkosEventView): string | null {
  switch (event.type) {
    case 'dsync.user.created':
    case 'dsync.user.updated':
    case 'dsync.user.deleted':
      return event.user.directoryId;
    case 'dsync.group.created':
    case 'dsync.group.updated':
    case 'dsync.group.deleted':
      return event.group.directoryId;
    case 'dsync.group.user_added':
    case 'dsync.group.user_removed':
      return event.directoryId;
    case 'dsync.activated':
    case 'dsync.deleted':
      return event.directory.id;
    default:
      return null;
  }
}
