// Endpoints that do not work: one failing past the window is disabled with a visible reason and a
// `webhook_endpoint.disabled` lifecycle event (sent to the organization's other endpoints too); and
// with OUTBOUND_ALLOW_PRIVATE_NETWORKS off, private targets are refused with a clear error, at
// configuration (an IP literal) and at delivery (a name that resolves to loopback).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testConnector } from '../support/engine-fixture.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { eventIds, seedOrganization } from '../streams/support.ts';
import { startReceiver, verifyBoth, type Receiver } from './receiver.ts';

const CREATE = `mutation($o: ID!, $url: String!, $types: [String!]) {
  createWebhookEndpoint(input: { organizationId: $o, url: $url, eventTypes: $types }) { endpoint { id url status } secret } }`;
const HEALTH = `query($id: ID!) { webhookEndpoint(id: $id) { status disabledReason disabledAt consecutiveFailures failingSince lastFailureAt lastSuccessAt
  deliveries(first: 5) { edges { node { status lastError attemptLog(first: 3) { responseStatus error } } } } } }`;

let receiver: Receiver;
let t: TestHub | undefined;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await t?.close();
  t = undefined;
});
afterAll(async () => {
  await receiver?.close();
});

describe('an endpoint failing for the whole window', () => {
  it('is disabled with a reason and a webhook_endpoint.disabled event, which other endpoints receive', async () => {
    // About 1.1 s of failures disables; retries every 200 ms until then.
    t = await startTestHub({ connectors: [testConnector], env: { WEBHOOK_RETRY_SCHEDULE_SECONDS: Array(30).fill('0.2').join(','), WEBHOOK_DISABLE_AFTER_HOURS: '0.0003' } });
    const org = await seedOrganization(t, 'failing');
    const watcher = await startReceiver();
    try {
      receiver.answer = () => ({ status: 500, body: 'down' });
      const failing = (await t.gqlOk(CREATE, { o: org.orgId, url: receiver.url, types: ['webhook.test'] }, org.orgKey)).createWebhookEndpoint;
      const watching = (await t.gqlOk(CREATE, { o: org.orgId, url: watcher.url, types: ['webhook_endpoint.disabled'] }, org.orgKey)).createWebhookEndpoint;
      await t.gqlOk(`mutation($e: ID!) { sendTestWebhook(input: { endpointId: $e }) { delivery { id } } }`, { e: failing.endpoint.id }, org.orgKey);

      await expect.poll(async () => (await t!.gqlOk(HEALTH, { id: failing.endpoint.id }, org.orgKey)).webhookEndpoint.status, { timeout: 20_000 }).toBe('DISABLED');
      const { webhookEndpoint: health } = await t.gqlOk(HEALTH, { id: failing.endpoint.id }, org.orgKey);
      expect(health.disabledReason).toMatch(/^every delivery failed for 1 s \(last: HTTP 500\); fix the endpoint, then enable it$/);
      expect(health.consecutiveFailures).toBeGreaterThanOrEqual(2);
      expect(health).toMatchObject({ lastSuccessAt: null, failingSince: expect.any(String), lastFailureAt: expect.any(String) });
      expect(health.deliveries.edges[0].node).toMatchObject({ status: 'PENDING', lastError: 'HTTP 500' });
      expect(health.deliveries.edges[0].node.attemptLog.length).toBeGreaterThanOrEqual(2);
      for (const attempt of health.deliveries.edges[0].node.attemptLog) expect(attempt).toEqual({ responseStatus: 500, error: 'HTTP 500' });

      // The event: in the events API, and delivered to the endpoint that asked for it.
      const [eventId] = await eventIds(t, org.orgId, ['webhook_endpoint.disabled']);
      expect(eventId).toBeDefined();
      const { events } = await t.gqlOk(`query($o: ID!) { events(organizationId: $o, types: ["webhook_endpoint.disabled"]) { edges { node { id type } } } }`, { o: org.orgId }, org.orgKey);
      expect(events.edges).toEqual([{ node: { id: eventId, type: 'webhook_endpoint.disabled' } }]);
      await expect.poll(() => watcher.received.length, { timeout: 10_000 }).toBe(1);
      const payload = verifyBoth(watcher.received[0]!, watching.secret);
      expect(payload).toMatchObject({ type: 'webhook_endpoint.disabled', data: { id: eventId, data: { endpointId: failing.endpoint.id, reason: health.disabledReason, lastResponseStatus: 500 } } });

      // Disabled: nothing more is attempted, and the delivery waits for the endpoint to be enabled.
      const attempts = receiver.received.length;
      receiver.answer = () => ({ status: 200 });
      await t.gqlOk(`mutation($e: ID!) { enableWebhookEndpoint(input: { endpointId: $e }) { endpoint { status } } }`, { e: failing.endpoint.id }, org.orgKey);
      await expect.poll(async () => (await t!.gqlOk(HEALTH, { id: failing.endpoint.id }, org.orgKey)).webhookEndpoint.deliveries.edges[0].node.status, { timeout: 10_000 }).toBe('DELIVERED');
      expect(receiver.received.length).toBe(attempts + 1);
    } finally {
      await watcher.close();
    }
  });
});

describe('with OUTBOUND_ALLOW_PRIVATE_NETWORKS off', () => {
  it('refuses a loopback URL when it is configured, and a name resolving to loopback when it is sent', async () => {
    t = await startTestHub({ connectors: [testConnector], env: { OUTBOUND_ALLOW_PRIVATE_NETWORKS: '', OUTBOUND_ALLOWED_HOSTS: '' } });
    const org = await seedOrganization(t, 'ssrf');
    receiver.received.length = 0;
    for (const url of [receiver.url, 'http://169.254.169.254/latest/meta-data', 'http://[::1]:8080/x', 'http://10.0.0.1/x']) {
      const { errors } = await t.gql(CREATE, { o: org.orgId, url }, org.orgKey);
      expect(errors?.[0]?.extensions, url).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
      expect(errors?.[0]?.message, url).toMatch(/OUTBOUND_ALLOW_PRIVATE_NETWORKS=true/);
    }
    // A name is resolved when the request connects: localhost is loopback, refused then.
    const port = new URL(receiver.url).port;
    const { createWebhookEndpoint } = await t.gqlOk(CREATE, { o: org.orgId, url: `http://localhost:${port}/hooks`, types: ['webhook.test'] }, org.orgKey);
    await t.gqlOk(`mutation($e: ID!) { sendTestWebhook(input: { endpointId: $e }) { delivery { id } } }`, { e: createWebhookEndpoint.endpoint.id }, org.orgKey);
    await expect.poll(async () => (await t!.gqlOk(HEALTH, { id: createWebhookEndpoint.endpoint.id }, org.orgKey)).webhookEndpoint.deliveries.edges[0].node.lastError, { timeout: 10_000 })
      .toMatch(/localhost resolved to (127\.0\.0\.1|::1), a loopback address; the hub sends no requests to private networks unless OUTBOUND_ALLOW_PRIVATE_NETWORKS=true/);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('the delivery log', () => {
  it('forgets finished deliveries after WEBHOOK_LOG_RETENTION_DAYS, keeping pending ones and the events', async () => {
    // About 1.7 s of retention.
    t = await startTestHub({ connectors: [testConnector], env: { WEBHOOK_LOG_RETENTION_DAYS: '0.00002' } });
    const org = await seedOrganization(t, 'retention');
    receiver.answer = () => ({ status: 200 });
    const { createWebhookEndpoint } = await t.gqlOk(CREATE, { o: org.orgId, url: receiver.url, types: ['webhook.test'] }, org.orgKey);
    const SEND = `mutation($e: ID!) { sendTestWebhook(input: { endpointId: $e }) { delivery { id } } }`;
    const first = (await t.gqlOk(SEND, { e: createWebhookEndpoint.endpoint.id }, org.orgKey)).sendTestWebhook.delivery.id as string;
    const exists = async (id: string) => !!(await t!.hub.db.prisma.webhookDelivery.findUnique({ where: { id: BigInt(id) } }));
    await expect.poll(async () => (await t!.hub.db.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: BigInt(first) } })).status, { timeout: 10_000 }).toBe('DELIVERED');
    // Each poll sends another test event: the worker runs, and prunes what is past retention.
    let latest = first;
    await expect.poll(async () => {
      latest = (await t!.gqlOk(SEND, { e: createWebhookEndpoint.endpoint.id }, org.orgKey)).sendTestWebhook.delivery.id;
      return exists(first);
    }, { timeout: 20_000, interval: 500 }).toBe(false);
    expect(await t.hub.db.prisma.webhookAttempt.count({ where: { deliveryId: BigInt(first) } })).toBe(0);
    expect(await exists(latest)).toBe(true);
  });
});
