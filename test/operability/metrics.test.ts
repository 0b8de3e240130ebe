// GET /metrics over real HTTP on a real hub: a SCIM deprovision watched by a graphql-ws and an SSE
// subscriber, a webhook with a bad signature and a SCIM call with a wrong token move the counters
// and histograms an operator alerts on; labels carry route patterns and connection ids, never raw
// paths, tokens or emails; a pulled feed that breaks shows on its connection; METRICS_TOKEN
// protects the endpoint.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScimConnection, patch, scimRequest, user, type ScimConnection } from '../scim/support.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { randomWebhookSecret, svixHeaders } from '../support/svix-signing.ts';
import { DEPROVISION_QUERY, subscribeSse, subscribeWs, wsClient } from '../streams/support.ts';
import { createVendorConnection } from '../support/vendors/connections.ts';
import { startWorkosStandIn, type WorkosStandIn } from '../support/vendors/workos.ts';
import { scrape, valueOf, type Sample } from './support.ts';

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe('a SCIM deprovision, a forged webhook and a wrong token, as /metrics shows them', () => {
  let t: TestHub;
  let scim: ScimConnection;
  let clerkConnectionId: string;
  let clerkWebhookUrl: string;
  const webhookSecret = randomWebhookSecret();
  const email = `ada.${randomUUID().slice(0, 8)}@acme.test`;
  let samples: Sample[];
  let text: string;
  const startedAt = Date.now() / 1000;

  beforeAll(async () => {
    t = await startTestHub();
    scim = await createScimConnection(t);
    const { createDirectoryConnection } = await t.gqlOk(
      `mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "clerk", name: "Clerk", config: $c }) { connection { id webhookUrl } } }`,
      { o: scim.organizationId, c: { webhookSigningSecret: webhookSecret, secretKey: 'sk_test_metrics', apiUrl: 'http://127.0.0.1:9' } },
    );
    clerkConnectionId = createDirectoryConnection.connection.id;
    clerkWebhookUrl = createDirectoryConnection.connection.webhookUrl;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('drives the hub and scrapes it', async () => {
    const client = wsClient(t.url, t.adminKey);
    const ws = subscribeWs(client, DEPROVISION_QUERY, { o: scim.organizationId }, 'deprovisionEvents');
    const sse = await subscribeSse(t.url, t.adminKey, DEPROVISION_QUERY, { o: scim.organizationId }, 'deprovisionEvents');
    expect(sse.status).toBe(200);
    // Both subscriptions are live once the gauge says so (and the stream knows its position).
    await expect
      .poll(async () => {
        const s = await scrape(t.url);
        return {
          ws: valueOf(s, 'lifecycle_hub_graphql_subscriptions_active', { transport: 'graphql-ws' }),
          sse: valueOf(s, 'lifecycle_hub_graphql_subscriptions_active', { transport: 'sse' }),
          subscribers: valueOf(s, 'lifecycle_hub_event_subscribers'),
        };
      }, { timeout: 20_000, interval: 50 })
      .toEqual({ ws: 1, sse: 1, subscribers: 2 });

    const created = await scim.request('POST', '/Users', { body: user(email) });
    expect(created.status).toBe(201);
    const deprovisioned = await scim.request('PATCH', `/Users/${created.body.id}`, { body: patch({ op: 'replace', path: 'active', value: false }) });
    expect(deprovisioned.status).toBe(200);
    await ws.waitFor(1);
    await sse.waitFor(1);

    // A token that is not this connection's (an IdP still on a rotated token), and one on a
    // connection that does not exist (must not become a label).
    expect((await scim.request('GET', '/Users', { token: 'not-the-token' })).status).toBe(401);
    const stranger = randomUUID();
    expect((await scimRequest(scim.baseUrl.replace(scim.connectionId, stranger), 'GET', '/Users', { token: 'whatever' })).status).toBe(401);

    // A Clerk delivery signed with another secret.
    const body = JSON.stringify({ type: 'user.deleted', object: 'event', data: { id: 'user_1', deleted: true, object: 'user' } });
    const forged = await fetch(clerkWebhookUrl, { method: 'POST', headers: svixHeaders(randomWebhookSecret(), 'msg_forged', body), body });
    expect(forged.status).toBe(401);

    // A GraphQL query with a key that is not valid.
    expect((await t.gql('query Orgs { organizations { id } }', {}, 'not-a-key')).status).toBe(401);

    ws.dispose();
    sse.dispose();
    await client.dispose();

    const response = await fetch(`${t.url}/metrics`);
    text = await response.text();
    samples = (await scrape(t.url));
  });

  it('counts HTTP requests by route pattern, method and status, with durations', () => {
    expect(valueOf(samples, 'lifecycle_hub_http_requests_total', { route: '/scim/v2/:connectionId/*', method: 'PATCH', status: '200' })).toBe(1);
    expect(valueOf(samples, 'lifecycle_hub_http_requests_total', { route: '/scim/v2/:connectionId/*', method: 'POST', status: '201' })).toBe(1);
    expect(valueOf(samples, 'lifecycle_hub_http_requests_total', { route: '/webhooks/:connectionId', method: 'POST', status: '401' })).toBe(1);
    expect(valueOf(samples, 'lifecycle_hub_http_request_duration_seconds_count', { route: '/graphql', method: 'POST' })).toBeGreaterThanOrEqual(3);
    const routes = samples.filter((s) => s.name === 'lifecycle_hub_http_requests_total').map((s) => s.labels.route!);
    expect(routes.filter((r) => uuid.test(r))).toEqual([]);
  });

  it('counts SCIM writes, webhook deliveries and signature failures by provider and outcome', () => {
    expect(valueOf(samples, 'lifecycle_hub_scim_writes_total', { provider: 'scim', outcome: 'success' })).toBe(2);
    expect(valueOf(samples, 'lifecycle_hub_webhook_deliveries_total', { provider: 'clerk', outcome: 'invalid_signature' })).toBe(1);
    expect(valueOf(samples, 'lifecycle_hub_webhook_signature_failures_total', { provider: 'clerk' })).toBe(1);
  });

  it('observes the deprovision in each latency stage: source → received → enforced → published', () => {
    for (const stage of ['source_to_received', 'received_to_enforced', 'enforced_to_published']) {
      // By the provider of the user's connection (the deprovision came over SCIM).
      expect(valueOf(samples, 'lifecycle_hub_deprovision_latency_seconds_count', { stage, provider: 'scim' }), stage).toBe(1);
      expect(valueOf(samples, 'lifecycle_hub_deprovision_latency_seconds_bucket', { stage, provider: 'scim', le: '+Inf' }), stage).toBe(1);
    }
    // The same single deprovision: the published stage is per instance fan-out, not per subscriber.
    expect(valueOf(samples, 'lifecycle_hub_deprovision_source_lag_seconds_count', { provider: 'scim' })).toBe(1);
  });

  it('shows each connection\'s last success, last error and error count, and nothing for unknown ids', () => {
    const scimLabels = { connection_id: scim.connectionId, provider: 'scim' };
    expect(valueOf(samples, 'lifecycle_hub_connection_last_success_timestamp_seconds', scimLabels)).toBeGreaterThanOrEqual(Math.floor(startedAt));
    expect(valueOf(samples, 'lifecycle_hub_connection_last_error_timestamp_seconds', scimLabels)).toBeGreaterThanOrEqual(Math.floor(startedAt));
    expect(valueOf(samples, 'lifecycle_hub_connection_errors_total', { ...scimLabels, kind: 'scim' })).toBe(1);
    expect(valueOf(samples, 'lifecycle_hub_connection_requests_total', { ...scimLabels, outcome: 'unauthorized' })).toBe(1);
    const clerkLabels = { connection_id: clerkConnectionId, provider: 'clerk' };
    expect(valueOf(samples, 'lifecycle_hub_connection_errors_total', { ...clerkLabels, kind: 'webhook' })).toBe(1);
    expect(valueOf(samples, 'lifecycle_hub_connection_last_error_timestamp_seconds', clerkLabels)).toBeGreaterThanOrEqual(Math.floor(startedAt));
    // Never heard from successfully: no success timestamp (an alert on "absent" catches it).
    expect(samples.some((s) => s.name === 'lifecycle_hub_connection_last_success_timestamp_seconds' && s.labels.connection_id === clerkConnectionId)).toBe(false);
    const ids = new Set(samples.map((s) => s.labels.connection_id).filter(Boolean));
    expect([...ids].sort()).toEqual([scim.connectionId, clerkConnectionId].sort());
  });

  it('counts GraphQL operations by type and name, and failures by phase', () => {
    expect(valueOf(samples, 'lifecycle_hub_graphql_operations_total', { operation_type: 'mutation' })).toBeGreaterThanOrEqual(3);
    expect(valueOf(samples, 'lifecycle_hub_graphql_errors_total', { operation_name: 'Orgs' })).toBe(1);
    expect(valueOf(samples, 'lifecycle_hub_graphql_operation_duration_seconds_count', { operation_type: 'mutation' })).toBeGreaterThanOrEqual(3);
  });

  it('holds no secret, token or email', () => {
    for (const secret of [t.adminKey, scim.token, webhookSecret, email, 'not-the-token', 'not-a-key']) expect(text).not.toContain(secret);
  });

  it('brings the subscriber gauges back down when subscribers leave', async () => {
    await expect
      .poll(async () => {
        const s = await scrape(t.url);
        return {
          subscriptions: valueOf(s, 'lifecycle_hub_graphql_subscriptions_active'),
          subscribers: valueOf(s, 'lifecycle_hub_event_subscribers'),
          wsConnections: valueOf(s, 'lifecycle_hub_graphql_ws_connections'),
        };
      }, { timeout: 20_000, interval: 50 })
      .toEqual({ subscriptions: 0, subscribers: 0, wsConnections: 0 });
    // A subscription is counted as an operation when it ends.
    const s = await scrape(t.url);
    expect(valueOf(s, 'lifecycle_hub_graphql_operations_total', { operation_type: 'subscription' })).toBe(2);
  });
});

describe('METRICS_TOKEN', () => {
  const token = `metrics-${randomUUID()}`;
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ env: { METRICS_TOKEN: token } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses a scrape without the token or with another one, and serves it with the token', async () => {
    const without = await fetch(`${t.url}/metrics`);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0000000' } })).status).toBe(401);
    const samples = await scrape(t.url, token);
    expect(valueOf(samples, 'lifecycle_hub_process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});

describe('a pulled feed that breaks (a WorkOS API key revoked at WorkOS)', () => {
  const API_KEY = 'sk_test_workos_metrics';
  let t: TestHub;
  let api: WorkosStandIn;
  beforeAll(async () => {
    t = await startTestHub();
    api = await startWorkosStandIn({ apiKey: API_KEY });
  });
  afterAll(async () => {
    await t?.close();
    await api?.close();
  });

  it('shows the working connection succeeding and the broken one erring, by connection id', async () => {
    const config = { webhookSecret: 'unused-here', apiBaseUrl: api.url, apiMaxRetries: 0 };
    const working = await createVendorConnection(t, 'workos', { ...config, apiKey: API_KEY });
    const broken = await createVendorConnection(t, 'workos', { ...config, apiKey: 'sk_test_revoked' }, { organizationId: working.organizationId, name: 'revoked' });
    await t.hub.sync.pullNow(working.connectionId);
    await t.hub.sync.pullNow(broken.connectionId);
    const samples = await scrape(t.url);
    const ok = { connection_id: working.connectionId, provider: 'workos' };
    const bad = { connection_id: broken.connectionId, provider: 'workos' };
    // The poller also reads feeds on its own (at start, on its interval): at least the reads asked for here.
    expect(valueOf(samples, 'lifecycle_hub_connection_requests_total', { ...ok, kind: 'pull', outcome: 'success' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'lifecycle_hub_connection_last_success_timestamp_seconds', ok)).toBeGreaterThan(0);
    expect(valueOf(samples, 'lifecycle_hub_connection_errors_total', { ...ok, kind: 'pull' })).toBe(0);
    expect(valueOf(samples, 'lifecycle_hub_connection_errors_total', { ...bad, kind: 'pull' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'lifecycle_hub_connection_last_error_timestamp_seconds', bad)).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'lifecycle_hub_connection_last_success_timestamp_seconds' && s.labels.connection_id === broken.connectionId)).toBe(false);
    expect(samples.map((s) => Object.values(s.labels).join(' ')).join('\n')).not.toContain('sk_test_revoked');
  });
});
