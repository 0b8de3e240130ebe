// WorkOS for tests: deliveries signed exactly as WorkOS signs them, payloads built from the recorded
// fixtures (test/fixtures/workos), and a stand-in of the WorkOS REST API that @workos-inc/node is
// pointed at (directories, directory users and groups, the Events API), with request recording.
// Reusable by the connector conformance kit.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono, type Context } from 'hono';
import { startStandIn, type RecordedRequest, type StandIn } from './stand-in.ts';

const FIXTURES = new URL('../../fixtures/workos/', import.meta.url);

/** A recorded WorkOS payload (webhook body or API response), parsed afresh on every call. */
export function workosFixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as T;
}

/**
 * `WorkOS-Signature: t=<unix ms>, v1=<hex HMAC-SHA256(secret as UTF-8, "<t>.<raw body>")>`, the
 * scheme @workos-inc/node's webhooks.verifyHeader checks. Written with node:crypto, independently
 * of the SDK, so a test cannot pass by sharing a bug with it.
 */
export function signWorkosDelivery(body: string, secret: string, options: { timestamp?: number } = {}): Record<string, string> {
  const t = options.timestamp ?? Date.now();
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
  return { 'WorkOS-Signature': `t=${t}, v1=${v1}`, 'content-type': 'application/json' };
}

// ---- payload builders (wire format, snake_case) -----------------------------------------------------

export type WireUser = Record<string, any> & { id: string; directory_id: string; state: string; updated_at: string };
export type WireGroup = Record<string, any> & { id: string; directory_id: string; name: string; updated_at: string };
export type WireEvent = { object: 'event'; id: string; event: string; data: any; created_at: string; context: Record<string, unknown> };

let sequence = 0;
/** Ids that sort in creation order, like WorkOS's ULIDs. */
export function workosId(prefix: string): string {
  sequence += 1;
  return `${prefix}_${Date.now().toString(36).toUpperCase().padStart(10, '0')}${String(sequence).padStart(16, '0')}`;
}

const template = () => workosFixture('dsync.user.created').data as WireUser;

/** A directory user in WorkOS's wire shape (from the dsync.user.created fixture), with a consistent name and email. */
export function workosUser(fields: { id?: string; directoryId: string; organizationId?: string; email: string; firstName: string; lastName: string; state?: 'active' | 'inactive'; updatedAt?: string; title?: string }): WireUser {
  const u = template();
  const id = fields.id ?? workosId('directory_user');
  const displayName = `${fields.firstName} ${fields.lastName}`;
  return {
    ...u,
    id,
    directory_id: fields.directoryId,
    organization_id: fields.organizationId ?? u.organization_id,
    idp_id: `idp-${id.slice(-8)}`,
    email: fields.email,
    first_name: fields.firstName,
    last_name: fields.lastName,
    name: displayName,
    emails: [{ primary: true, type: 'work', value: fields.email }],
    username: fields.email,
    job_title: fields.title ?? u.job_title,
    state: fields.state ?? 'active',
    raw_attributes: {
      ...u.raw_attributes,
      id,
      externalId: `idp-${id.slice(-8)}`,
      userName: fields.email,
      name: { givenName: fields.firstName, familyName: fields.lastName },
      displayName,
      title: fields.title ?? u.raw_attributes.title,
      active: (fields.state ?? 'active') === 'active',
      emails: [{ primary: true, type: 'work', value: fields.email }],
    },
    created_at: fields.updatedAt ?? u.created_at,
    updated_at: fields.updatedAt ?? u.updated_at,
  };
}

export function workosGroup(fields: { id?: string; directoryId: string; organizationId?: string; name: string; updatedAt?: string }): WireGroup {
  const g = workosFixture('dsync.group.created').data as WireGroup;
  const id = fields.id ?? workosId('directory_group');
  return {
    ...g,
    id,
    directory_id: fields.directoryId,
    organization_id: fields.organizationId ?? g.organization_id,
    idp_id: `idp-${id.slice(-8)}`,
    name: fields.name,
    raw_attributes: { ...g.raw_attributes, displayName: fields.name },
    created_at: fields.updatedAt ?? g.created_at,
    updated_at: fields.updatedAt ?? g.updated_at,
  };
}

export function workosEvent(event: string, data: unknown, fields: { id?: string; createdAt?: string } = {}): WireEvent {
  return { object: 'event', id: fields.id ?? workosId('event'), event, data, created_at: fields.createdAt ?? new Date().toISOString(), context: {} };
}

/** POSTs a signed delivery to the hub's webhook URL (signed anew on each call, as WorkOS signs each attempt). */
export async function deliverWorkos(webhookUrl: string, event: WireEvent | string, secret: string, options: { timestamp?: number; headers?: Record<string, string>; signal?: AbortSignal } = {}) {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  const response = await fetch(webhookUrl, { method: 'POST', headers: { ...signWorkosDelivery(body, secret, options), ...options.headers }, body, signal: options.signal });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, any> };
}

// ---- REST API stand-in ------------------------------------------------------------------------------

export interface WorkosState {
  directories: Array<Record<string, any> & { id: string; organization_id: string }>;
  users: WireUser[];
  groups: WireGroup[];
  /** group id → user ids */
  memberships: Map<string, Set<string>>;
  events: WireEvent[];
  /** Serve `groups: []` on every user, as WorkOS does for teams created since 2026-05-01. */
  groupsDeprecated: boolean;
}

export interface WorkosStandIn extends StandIn {
  state: WorkosState;
  /** The next request to this path (exact) is answered with this status and WorkOS error body. */
  failNext(path: string, status: number, body?: Record<string, unknown>): void;
}

type Page<T> = { data: T[]; list_metadata: { before: string | null; after: string | null } };

/** WorkOS list pagination: items in id order (ids sort by creation), `order` desc by default, `after`/`before` cursors. */
function paginate<T extends { id: string }>(items: T[], query: URLSearchParams, defaultOrder: 'asc' | 'desc' = 'desc'): Page<T> {
  const order = query.get('order') ?? defaultOrder;
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (order === 'desc') sorted.reverse();
  const limit = Math.min(Number(query.get('limit') ?? 10), 100);
  const after = query.get('after');
  const before = query.get('before');
  let start = 0;
  let end = sorted.length;
  if (after) start = sorted.findIndex((i) => i.id === after) + 1;
  if (before) end = Math.max(0, sorted.findIndex((i) => i.id === before));
  const slice = before && !after ? sorted.slice(Math.max(start, end - limit), end) : sorted.slice(start, Math.min(end, start + limit));
  const firstIndex = sorted.indexOf(slice[0]!);
  const lastIndex = sorted.indexOf(slice.at(-1)!);
  return {
    data: slice,
    list_metadata: {
      before: slice.length && firstIndex > 0 ? slice[0]!.id : null,
      after: slice.length && lastIndex < sorted.length - 1 ? slice.at(-1)!.id : null,
    },
  };
}

export async function startWorkosStandIn(options: { apiKey: string; state?: Partial<WorkosState> }): Promise<WorkosStandIn> {
  const state: WorkosState = {
    directories: [],
    users: [],
    groups: [],
    memberships: new Map(),
    events: [],
    groupsDeprecated: false,
    ...options.state,
  };
  const faults = new Map<string, { status: number; body: Record<string, unknown> }>();
  const requests: RecordedRequest[] = [];
  const app = new Hono();
  const json = (c: Context, body: unknown, status = 200) => c.json(body as object, status as 200);

  app.use('*', async (c, next) => {
    if (c.req.header('authorization') !== `Bearer ${options.apiKey}`) return json(c, { message: 'Unauthorized', code: 'unauthorized' }, 401);
    const fault = faults.get(c.req.path);
    if (fault) {
      faults.delete(c.req.path);
      return json(c, fault.body, fault.status);
    }
    return next();
  });

  const query = (c: Context) => new URL(c.req.url).searchParams;
  const groupsOf = (userId: string) => (state.groupsDeprecated ? [] : state.groups.filter((g) => state.memberships.get(g.id)?.has(userId)));

  app.get('/directories', (c) => {
    const q = query(c);
    const org = q.get('organization_id');
    return json(c, { object: 'list', ...paginate(state.directories.filter((d) => !org || d.organization_id === org), q) });
  });

  app.get('/directory_users', (c) => {
    const q = query(c);
    const directory = q.get('directory');
    const group = q.get('group');
    if (!directory && !group) return json(c, workosFixture('api-error-422'), 422);
    const users = state.users.filter((u) => (directory ? u.directory_id === directory : state.memberships.get(group!)?.has(u.id)));
    const page = paginate(users, q);
    return json(c, { object: 'list', ...page, data: page.data.map((u) => ({ ...u, groups: groupsOf(u.id) })) });
  });

  app.get('/directory_groups', (c) => {
    const q = query(c);
    const directory = q.get('directory');
    const user = q.get('user');
    if (!directory && !user) return json(c, workosFixture('api-error-422'), 422);
    const groups = state.groups.filter((g) => (directory ? g.directory_id === directory : state.memberships.get(g.id)?.has(user!)));
    return json(c, { object: 'list', ...paginate(groups, q) });
  });

  app.get('/events', (c) => {
    const q = query(c);
    const types = q.get('events');
    if (!types) return json(c, { message: 'Validation failed', code: 'invalid_request_parameters', errors: [{ code: 'events_required', field: 'events' }] }, 422);
    const wanted = new Set(types.split(','));
    const org = q.get('organization_id');
    const orgOf = (e: WireEvent) => e.data?.organization_id ?? e.data?.user?.organization_id ?? null;
    const events = state.events.filter((e) => wanted.has(e.event) && (!org || orgOf(e) === org));
    // Events come oldest first; `after` is the last event id read.
    const page = paginate(events, q, 'asc');
    return json(c, { object: 'list', data: page.data, list_metadata: { after: page.list_metadata.after } });
  });

  app.notFound((c) => json(c, { message: `no route ${c.req.method} ${c.req.path}`, code: 'not_found' }, 404));

  const standIn = await startStandIn(app, requests);
  return {
    ...standIn,
    state,
    failNext(path, status, body = { message: 'Service Unavailable', code: 'service_unavailable' }) {
      faults.set(path, { status, body });
    },
  };
}
