// Unauthenticated requests (issue 14, item 7): a wrong or missing SCIM token, API key or webhook
// signature stays out of the target connection's request log, and past AUTH_FAILURES_PER_ADDRESS
// failures from one client address the next request is answered 429 with Retry-After, in each
// protocol's error format, while a token that already authenticated keeps working.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { clerkEvent, sendClerk } from '../clerk/clerk-objects.ts';
import { createScimConnection, scimRequest, type ScimConnection } from '../scim/support.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { randomWebhookSecret, svixHeaders } from '../support/svix-signing.ts';
import { createVendorConnection } from '../support/vendors/connections.ts';

const LIMIT = 3;
const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const REQUEST_LOG = `query($o: ID!) { organization(id: $o) { connections { id requestLog(first: 50) { method path status error } } } }`;

async function requestLog(t: TestHub, organizationId: string, connectionId: string) {
  // Entries are written together a few milliseconds after the request.
  await new Promise((r) => setTimeout(r, 100));
  const data = await t.gqlOk(REQUEST_LOG, { o: organizationId });
  return data.organization.connections.find((c: { id: string }) => c.id === connectionId).requestLog as Array<{ method: string; path: string; status: number; error: string | null }>;
}

/** Opens a graphql-ws socket with `key` and tells how it ended: acknowledged, or closed with a code. */
async function openSocket(t: TestHub, key: string, headers: Record<string, string>): Promise<{ acked: boolean; code?: number; reason?: string }> {
  const socket = new WebSocket(`${t.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') {
        resolve({ acked: true });
        socket.close();
      }
    });
    socket.once('close', (code, reason) => resolve({ acked: false, code, reason: String(reason) }));
  });
}

async function graphql(t: TestHub, key: string | null, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: JSON.stringify({ query: '{ organizations { id } }' }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
}

describe('refused credentials and the request log', () => {
  let t: TestHub;
  let scim: ScimConnection;
  beforeAll(async () => {
    t = await startTestHub();
    scim = await createScimConnection(t);
  });
  afterAll(() => t?.close());

  it('a wrong or missing SCIM token is not written to the connection\'s requestLog, a good one is', async () => {
    expect((await scim.request('GET', '/Users?count=1')).status).toBe(200);
    expect((await scim.request('GET', '/Users?filter=userName%20eq%20%22probe%40evil.test%22', { token: 'guess-0001' })).status).toBe(401);
    expect((await scim.request('GET', '/Groups?probe=1', { token: null })).status).toBe(401);
    const log = await requestLog(t, scim.organizationId, scim.connectionId);
    expect(log.map((e) => [e.method, e.status])).toEqual([['GET', 200]]);
    expect(JSON.stringify(log)).not.toContain('probe');
  });

  it('a webhook whose signature does not verify is not written to the connection\'s requestLog', async () => {
    const secret = randomWebhookSecret();
    const clerk = await createVendorConnection(t, 'clerk', { webhookSigningSecret: secret, secretKey: 'sk_test_throttle' });
    const forged = await sendClerk(clerk.webhookUrl, randomWebhookSecret(), clerkEvent('user.deleted', { id: 'user_1', deleted: true, object: 'user' }));
    expect(forged.status).toBe(401);
    const signed = await sendClerk(clerk.webhookUrl, secret, clerkEvent('organization.deleted', { id: 'org_x', deleted: true, object: 'organization' }));
    expect(signed.status).toBe(200);
    const log = await requestLog(t, clerk.organizationId, clerk.connectionId);
    expect(log.map((e) => e.status)).toEqual([200]);
  });
});

describe(`after ${LIMIT} failed authentications from one address`, () => {
  let t: TestHub;
  let scim: ScimConnection;
  // TRUST_PROXY=1: each test is its own client, as a proxy in front of the hub would report it.
  const from = (address: string) => ({ 'x-forwarded-for': address });
  beforeAll(async () => {
    t = await startTestHub({ env: { AUTH_FAILURES_PER_ADDRESS: String(LIMIT), AUTH_FAILURE_WINDOW_SECONDS: '600', TRUST_PROXY: '1' } });
    scim = await createScimConnection(t);
  });
  afterAll(() => t?.close());

  it('SCIM answers the next request 429 with Retry-After in the SCIM error schema, and the right token still works', async () => {
    const client = from('203.0.113.10');
    // The IdP has been syncing from this address.
    expect((await scim.request('GET', '/Users?count=1', { headers: client })).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) expect((await scim.request('GET', '/Users', { token: `guess-${i}`, headers: client })).status).toBe(401);
    const refused = await scim.request('GET', '/Users', { token: 'guess-next', headers: client });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('content-type')).toContain('application/scim+json');
    expect(refused.body).toMatchObject({ schemas: [SCIM_ERROR], status: '429', detail: expect.stringContaining('retry after') });
    // Even a token guessed right is not checked while the address is throttled…
    const other = await createScimConnection(t);
    expect((await scimRequest(other.baseUrl, 'GET', '/Users', { token: other.token, headers: client })).status).toBe(429);
    // …but the token that authenticated here before the failures keeps working.
    expect((await scim.request('GET', '/Users?count=1', { headers: client })).status).toBe(200);
    // Another address is not affected.
    expect((await scimRequest(other.baseUrl, 'GET', '/Users', { token: other.token, headers: from('198.51.100.7') })).status).toBe(200);
  });

  it('GraphQL answers the next request 429 with a GraphQL error coded RATE_LIMITED and Retry-After', async () => {
    const client = from('203.0.113.20');
    expect((await graphql(t, t.adminKey, client)).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) expect((await graphql(t, `lhk_wrong_${i}`, client)).status).toBe(401);
    const refused = await graphql(t, null, client);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(refused.body.errors[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: Number(refused.retryAfter) } });
    expect((await graphql(t, t.adminKey, client)).status).toBe(200);
  });

  it('graphql-ws counts keys refused when a socket opens, and past the limit closes new sockets with 4429 unchecked', async () => {
    const client = from('203.0.113.25');
    expect(await openSocket(t, t.adminKey, client)).toEqual({ acked: true });
    for (let i = 0; i < LIMIT; i++) expect(await openSocket(t, `lhk_wrong_ws_${i}`, client)).toMatchObject({ acked: false, code: 4403 });
    const refused = await openSocket(t, 'lhk_wrong_ws_next', client);
    expect(refused).toMatchObject({ acked: false, code: 4429, reason: expect.stringMatching(/retry after \d+ s/) });
    // The limit is per address and shared with HTTP: this address is throttled on /graphql too…
    expect((await graphql(t, null, client)).status).toBe(429);
    // …the key that authenticated here before still opens sockets, and other addresses are unaffected.
    expect(await openSocket(t, t.adminKey, client)).toEqual({ acked: true });
    expect(await openSocket(t, 'lhk_wrong_ws_elsewhere', from('198.51.100.25'))).toMatchObject({ acked: false, code: 4403 });
  });

  it('webhooks answer the next delivery 429 with a JSON error and Retry-After', async () => {
    const client = from('203.0.113.30');
    const clerk = await createVendorConnection(t, 'clerk', { webhookSigningSecret: randomWebhookSecret(), secretKey: 'sk_test_throttle' });
    const body = clerkEvent('user.deleted', { id: 'user_1', deleted: true, object: 'user' });
    for (let i = 0; i < LIMIT - 1; i++) expect((await sendClerk(clerk.webhookUrl, randomWebhookSecret(), body, { headers: client })).status).toBe(401);
    // An unknown connection id counts too.
    expect((await sendClerk(clerk.webhookUrl.replace(clerk.connectionId, randomUUID()), randomWebhookSecret(), body, { headers: client })).status).toBe(404);
    const refused = await fetch(clerk.webhookUrl, { method: 'POST', headers: { ...svixHeaders(randomWebhookSecret(), 'msg_next', body), ...client }, body });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited', message: expect.stringContaining('retry after') });
  });

  it('counts refusals and throttled requests in metrics by endpoint, never by anything the caller sent', async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/lifecycle_hub_auth_failures_total\{endpoint="scim",outcome="refused"\} [1-9]/);
    expect(metrics).toMatch(/lifecycle_hub_auth_failures_total\{endpoint="graphql",outcome="throttled"\} [1-9]/);
    expect(metrics).toMatch(/lifecycle_hub_auth_failures_total\{endpoint="graphql-ws",outcome="throttled"\} [1-9]/);
    expect(metrics).not.toContain('203.0.113');
    expect(metrics).not.toContain('guess-');
  });
});

describe('without TRUST_PROXY', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ env: { AUTH_FAILURES_PER_ADDRESS: String(LIMIT), AUTH_FAILURE_WINDOW_SECONDS: '600' } });
  });
  afterAll(() => t?.close());

  it('a client cannot escape the limit by writing a new X-Forwarded-For each time', async () => {
    for (let i = 0; i < LIMIT; i++) expect((await graphql(t, `wrong-${i}`, { 'x-forwarded-for': `192.0.2.${i}` })).status).toBe(401);
    expect((await graphql(t, 'wrong-next', { 'x-forwarded-for': '192.0.2.99' })).status).toBe(429);
  });
});
