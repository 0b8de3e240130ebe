// Stytch B2B for tests: deliveries signed exactly as Svix signs Stytch's webhooks, payloads built from
// the recorded fixtures (test/fixtures/stytch), and a stand-in of the Stytch API that the `stytch`
// SDK is pointed at (members search, SCIM groups, sessions revoke), with request recording.
// Reusable by the connector conformance kit (Clerk's webhooks are Svix-signed the same way).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono, type Context } from 'hono';
import { startStandIn, type RecordedRequest, type StandIn } from './stand-in.ts';
import { signSvixDelivery, svixSecret } from './svix.ts';

const FIXTURES = new URL('../../fixtures/stytch/', import.meta.url);

export function stytchFixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as T;
}

/**
 * Stytch's webhooks are Svix's: `signStytchDelivery` is `signSvixDelivery` (test/support/vendors/svix.ts).
 */
export const signStytchDelivery = signSvixDelivery;
export { svixSecret };

// ---- payload builders -----------------------------------------------------------------------------

export const TEST_PROJECT = 'project-test-5f1e2d3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
export const TEST_ORGANIZATION = 'organization-test-0b7a6c5d-1e2f-4a3b-9c8d-7e6f5a4b3c2d';
export const TEST_SCIM_CONNECTION = 'scim-connection-test-2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e';

export type StytchMemberWire = Record<string, any> & { member_id: string; organization_id: string; status: string; updated_at: string };

/** A member in Stytch's shape (from the scim.member.create fixture); `scim: false` drops the SCIM registration. */
export function stytchMember(fields: {
  memberId?: string;
  organizationId?: string;
  email: string;
  name: string;
  status?: string;
  updatedAt?: string;
  groups?: Array<{ id: string; name: string }>;
  scim?: boolean;
  title?: string;
}): StytchMemberWire {
  const m = stytchFixture('scim.member.create').member as StytchMemberWire;
  const memberId = fields.memberId ?? `member-test-${randomUUID()}`;
  const [given, ...rest] = fields.name.split(' ');
  const member: StytchMemberWire = {
    ...m,
    member_id: memberId,
    organization_id: fields.organizationId ?? TEST_ORGANIZATION,
    email_address: fields.email,
    name: fields.name,
    status: fields.status ?? 'active',
    created_at: '2026-01-01T00:00:00Z',
    updated_at: fields.updatedAt ?? m.updated_at,
  };
  if (fields.scim === false) {
    delete member.scim_registration;
    return member;
  }
  member.scim_registration = {
    ...m.scim_registration,
    external_id: `idp-${memberId.slice(-8)}`,
    scim_attributes: {
      ...m.scim_registration.scim_attributes,
      id: memberId,
      user_name: fields.email,
      external_id: `idp-${memberId.slice(-8)}`,
      active: !['deleted', 'deactivated'].includes(fields.status ?? 'active'),
      display_name: fields.name,
      title: fields.title ?? m.scim_registration.scim_attributes.title,
      emails: [{ value: fields.email, type: 'work', primary: true }],
      groups: (fields.groups ?? []).map((g) => ({ value: g.id, display: g.name })),
      name: { ...m.scim_registration.scim_attributes.name, formatted: fields.name, given_name: given, family_name: rest.join(' ') },
    },
  };
  return member;
}

export type StytchEventWire = Record<string, any> & { event_id: string; action: string; object_type: string; source: string; id: string; timestamp: string };

/** An event envelope; `timestamp` in Stytch's format (ISO 8601 with microseconds). */
export function stytchEvent(fields: {
  source?: 'SCIM' | 'DIRECT' | 'DASHBOARD';
  objectType: string;
  action: string;
  id: string;
  sentAt?: Date;
  entity?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  eventId?: string;
}): StytchEventWire {
  const sentAt = fields.sentAt ?? new Date();
  const micro = `${sentAt.toISOString().slice(0, -1)}${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}Z`;
  return {
    action: fields.action,
    event_id: fields.eventId ?? `event-test-${randomUUID()}`,
    id: fields.id,
    object_type: fields.objectType,
    project_id: TEST_PROJECT,
    source: fields.source ?? 'SCIM',
    timestamp: micro,
    vertical: 'B2B',
    ...(fields.entity ? { [fields.objectType]: fields.entity } : {}),
    ...fields.extra,
  };
}

export function idpGroup(groupId: string, name: string, organizationId = TEST_ORGANIZATION) {
  return { group_id: groupId, group_name: name, organization_id: organizationId, connection_id: TEST_SCIM_CONNECTION };
}

/** POSTs a signed delivery to the hub's webhook URL. */
export async function deliverStytch(webhookUrl: string, event: StytchEventWire | string, secret: string, options: Parameters<typeof signStytchDelivery>[2] = {}) {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  const response = await fetch(webhookUrl, { method: 'POST', headers: signStytchDelivery(body, secret, options), body });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

// ---- API stand-in ---------------------------------------------------------------------------------------

export interface StytchState {
  organizations: Map<string, Record<string, any>>;
  members: StytchMemberWire[];
  scimGroups: Array<{ group_id: string; group_name: string; organization_id: string; connection_id: string }>;
  sessions: Array<{ member_session_id: string; member_id: string; organization_id: string }>;
  /** Answer at most this many results per page whatever `limit` asks (an API may), to exercise cursors. */
  pageSizeCap: number;
}

export interface StytchStandIn extends StandIn {
  state: StytchState;
  failNext(path: string, status: number, body?: Record<string, unknown>): void;
}

const requestId = () => `request-id-test-${randomUUID()}`;

export function stytchError(status: number, errorType: string, message: string) {
  return { status_code: status, request_id: requestId(), error_type: errorType, error_message: message, error_url: `https://stytch.com/docs/api/errors/${status}#${errorType}` };
}

/** An organization as members.search returns it (fixture), with an active SCIM connection. */
export function stytchOrganization(organizationId = TEST_ORGANIZATION, scimConnectionId: string | null = TEST_SCIM_CONNECTION) {
  const fixture = stytchFixture('api-members-search').organizations[TEST_ORGANIZATION];
  return { ...fixture, organization_id: organizationId, scim_active_connection: scimConnectionId ? { ...fixture.scim_active_connection, connection_id: scimConnectionId } : null };
}

const cursorOf = (offset: number) => Buffer.from(JSON.stringify({ offset })).toString('base64url');
const offsetOf = (cursor: unknown) => (typeof cursor === 'string' && cursor ? (JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { offset: number }).offset : 0);

export async function startStytchStandIn(options: { projectId: string; secret: string; state?: Partial<StytchState> }): Promise<StytchStandIn> {
  const state: StytchState = { organizations: new Map(), members: [], scimGroups: [], sessions: [], pageSizeCap: 1000, ...options.state };
  const faults = new Map<string, { status: number; body: Record<string, unknown> }>();
  const requests: RecordedRequest[] = [];
  const app = new Hono();
  const json = (c: Context, body: unknown, status = 200) => c.json(body as object, status as 200);
  const basic = `Basic ${Buffer.from(`${options.projectId}:${options.secret}`).toString('base64')}`;

  app.use('*', async (c, next) => {
    if (c.req.header('authorization') !== basic) return json(c, stytchError(401, 'unauthorized_credentials', 'Unauthorized credentials.'), 401);
    const fault = faults.get(c.req.path);
    if (fault) {
      faults.delete(c.req.path);
      return json(c, fault.body, fault.status);
    }
    return next();
  });

  app.post('/v1/b2b/organizations/members/search', async (c) => {
    const body = (await c.req.json().catch(() => null)) as Record<string, any> | null;
    if (!body || !Array.isArray(body.organization_ids) || !body.organization_ids.length) return json(c, stytchError(400, 'organization_ids_required', 'organization_ids is required.'), 400);
    const limit = body.limit ?? 100;
    if (typeof limit !== 'number' || limit < 1 || limit > 1000) return json(c, stytchError(400, 'invalid_limit', 'limit must be between 1 and 1000.'), 400);
    const operands: Array<{ filter_name: string; filter_value: unknown }> = body.query?.operands ?? [];
    const statuses = operands.find((o) => o.filter_name === 'statuses')?.filter_value as string[] | undefined;
    const ids = operands.find((o) => o.filter_name === 'member_ids')?.filter_value as string[] | undefined;
    // Without a status filter Stytch leaves deleted members out.
    const matching = state.members.filter(
      (m) => body.organization_ids.includes(m.organization_id) && (statuses ? statuses.includes(m.status) : m.status !== 'deleted') && (!ids || ids.includes(m.member_id)),
    );
    const offset = offsetOf(body.cursor);
    const size = Math.min(limit, state.pageSizeCap);
    const page = matching.slice(offset, offset + size);
    const next = offset + size < matching.length ? cursorOf(offset + size) : undefined;
    const organizations = Object.fromEntries([...new Set(page.map((m) => m.organization_id))].map((id) => [id, state.organizations.get(id) ?? stytchOrganization(id)]));
    return json(c, { request_id: requestId(), status_code: 200, members: page, results_metadata: { total: matching.length, ...(next ? { next_cursor: next } : {}) }, organizations });
  });

  app.get('/v1/b2b/scim/:organizationId/connection/:connectionId', (c) => {
    const q = new URL(c.req.url).searchParams;
    const groups = state.scimGroups.filter((g) => g.organization_id === c.req.param('organizationId') && g.connection_id === c.req.param('connectionId'));
    const limit = Math.min(Number(q.get('limit') ?? 100), state.pageSizeCap);
    const offset = offsetOf(q.get('cursor'));
    const next = offset + limit < groups.length ? cursorOf(offset + limit) : undefined;
    return json(c, { request_id: requestId(), status_code: 200, scim_groups: groups.slice(offset, offset + limit), ...(next ? { next_cursor: next } : {}) });
  });

  app.post('/v1/b2b/sessions/revoke', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as Record<string, string>;
    if (body.member_id) {
      if (!state.members.some((m) => m.member_id === body.member_id)) return json(c, stytchFixture('api-error-404'), 404);
      state.sessions = state.sessions.filter((s) => s.member_id !== body.member_id);
    } else if (body.member_session_id) {
      if (!state.sessions.some((s) => s.member_session_id === body.member_session_id)) return json(c, stytchError(404, 'session_not_found', 'Session could not be found.'), 404);
      state.sessions = state.sessions.filter((s) => s.member_session_id !== body.member_session_id);
    } else {
      return json(c, stytchError(400, 'bad_request', 'One of member_id, member_session_id, session_token or session_jwt is required.'), 400);
    }
    return json(c, { ...stytchFixture<Record<string, unknown>>('api-sessions-revoke'), request_id: requestId() });
  });

  app.notFound((c) => json(c, stytchError(404, 'route_not_found', `No route ${c.req.method} ${c.req.path}.`), 404));

  const standIn = await startStandIn(app, requests);
  return {
    ...standIn,
    state,
    failNext(path, status, body = stytchError(status, 'internal_server_error', 'Oops, something went wrong.')) {
      faults.set(path, { status, body });
    },
  };
}
