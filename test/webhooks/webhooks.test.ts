// Outbound webhooks end to end, over real HTTP to a receiver on 127.0.0.1: signed per Standard
// Webhooks (verified by the standardwebhooks and svix libraries), queued with the events they carry,
// retried on failures with the same webhook-id, logged per attempt, replayed, resent, tested.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testConnector } from '../support/engine-fixture.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { eventIds, seedOrganization, type Seeded } from '../streams/support.ts';
import { deduped, startReceiver, verifiesWith, verifyBoth, type Receiver } from './receiver.ts';

let t: TestHub;
let org: Seeded;
let receiver: Receiver;
beforeAll(async () => {
  // Retries 200 ms apart: the schedule's shape is the backoff helper's test; here, that retries happen.
  t = await startTestHub({ connectors: [testConnector], env: { WEBHOOK_RETRY_SCHEDULE_SECONDS: '0.2,0.2,0.2,0.2,0.2,0.2' } });
  org = await seedOrganization(t, 'webhooks');
});
// A receiver of its own per test: a late attempt for a previous test's (deleted) endpoint lands nowhere.
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver?.close();
});
afterAll(async () => {
  await t?.close();
});

const CREATE = `mutation($o: ID!, $url: String!, $types: [String!], $d: String) {
  createWebhookEndpoint(input: { organizationId: $o, url: $url, eventTypes: $types, description: $d }) { endpoint { id url status } secret } }`;
const ENDPOINT = `query($id: ID!) { webhookEndpoint(id: $id) { id status consecutiveFailures lastSuccessAt lastFailureAt disabledReason
  deliveries(first: 10) { edges { node { id eventId eventType webhookId status attempts lastResponseStatus lastError attemptLog(first: 10) { responseStatus durationMs error responseExcerpt } } } } } }`;

async function createEndpoint(url: string, types?: string[]) {
  const { createWebhookEndpoint } = await t.gqlOk(CREATE, { o: org.orgId, url, types, d: 'test receiver' }, org.orgKey);
  return createWebhookEndpoint as { endpoint: { id: string; url: string; status: string }; secret: string };
}

const endpoint = async (id: string) => (await t.gqlOk(ENDPOINT, { id }, org.orgKey)).webhookEndpoint;

describe('webhook endpoints', () => {
  it('returns a Standard Webhooks secret once, and signs every committed event so both libraries verify it', async () => {
    receiver.received.length = 0;
    receiver.answer = () => ({ status: 200, body: 'thanks' });
    const { endpoint: created, secret } = await createEndpoint(receiver.url);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(created).toMatchObject({ url: receiver.url, status: 'ENABLED' });
    // Stored sealed, never in clear.
    const row = await t.hub.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: created.id } });
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));

    const before = (await eventIds(t, org.orgId)).length;
    const [ada] = await org.provision('ada', 1);
    await org.send([{ type: 'deactivateUser', user: { sourceId: 'ada0' } }]);
    const ids = (await eventIds(t, org.orgId)).slice(before);
    await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(ids.length);
    const payloads = receiver.received.map((r) => verifyBoth(r, secret));
    expect(payloads.map((p) => p.data.id).sort()).toEqual([...ids].sort());
    expect(payloads.map((p) => p.type)).toEqual(expect.arrayContaining(['user.provisioned', 'user.deprovisioned']));
    expect(payloads.find((p) => p.type === 'user.deprovisioned')!.data).toMatchObject({ organizationId: org.orgId, user: { id: ada, state: 'DEPROVISIONED' }, connection: { id: org.connectionId } });
    expect(receiver.received.map((r) => r.headers['webhook-id']).sort()).toEqual(ids.map((id) => `evt_${id}`).sort());
    expect(receiver.received[0]!.headers['content-type']).toBe('application/json');
    // A wrong secret verifies with neither.
    expect(verifiesWith(receiver.received[0]!, `whsec_${Buffer.alloc(32, 1).toString('base64')}`)).toEqual({ standard: false, svix: false });

    await expect.poll(async () => (await endpoint(created.id)).deliveries.edges.map((e: any) => e.node.status), { timeout: 10_000 }).toEqual(ids.map(() => 'DELIVERED'));
    const shown = await endpoint(created.id);
    expect(shown.deliveries.edges[0].node).toMatchObject({ eventId: ids.at(-1), attempts: 1, lastResponseStatus: 200, attemptLog: [{ responseStatus: 200, error: null, responseExcerpt: 'thanks' }] });
    expect(shown.lastSuccessAt).not.toBeNull();
    await t.gqlOk(`mutation($e: ID!) { deleteWebhookEndpoint(input: { endpointId: $e }) { endpointId } }`, { e: created.id }, org.orgKey);
  });

  it('sends only the event types asked for', async () => {
    receiver.received.length = 0;
    receiver.answer = () => ({ status: 204 });
    const { endpoint: created, secret } = await createEndpoint(receiver.url, ['user.deprovisioned']);
    await org.provision('bea', 1);
    await org.send([{ type: 'deactivateUser', user: { sourceId: 'bea0' } }]);
    await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(1);
    expect(verifyBoth(receiver.received[0]!, secret).type).toBe('user.deprovisioned');
    await t.gqlOk(`mutation($e: ID!) { deleteWebhookEndpoint(input: { endpointId: $e }) { endpointId } }`, { e: created.id }, org.orgKey);
  });

  it('retries a receiver that answers 500 for a while with the same webhook-id, and a deduping receiver gets every event once', async () => {
    receiver.received.length = 0;
    // The first five requests fail, whatever they carry.
    receiver.answer = (_r, i) => (i < 5 ? { status: 500, body: 'x'.repeat(5000) } : { status: 200 });
    const { endpoint: created, secret } = await createEndpoint(receiver.url);
    await org.provision('cyd', 3);
    const ids = (await eventIds(t, org.orgId)).slice(-3);
    await expect.poll(async () => (await endpoint(created.id)).deliveries.edges.map((e: any) => e.node.status), { timeout: 20_000 }).toEqual(['DELIVERED', 'DELIVERED', 'DELIVERED']);
    expect(receiver.received.length).toBeGreaterThan(3);
    for (const r of receiver.received) verifyBoth(r, secret);
    expect(deduped(receiver.received).map((r) => verifyBoth(r, secret).data.id).sort()).toEqual([...ids].sort());
    const shown = await endpoint(created.id);
    const retried = shown.deliveries.edges.map((e: any) => e.node).find((d: any) => d.attempts > 1);
    expect(retried.attemptLog.at(-1)).toMatchObject({ responseStatus: 500, error: 'HTTP 500' });
    // The response excerpt is bounded.
    expect(retried.attemptLog.at(-1).responseExcerpt).toHaveLength(1024);
    expect(retried.attemptLog[0]).toMatchObject({ responseStatus: 200 });
    // Metrics per endpoint: deliveries by outcome, attempts by answer, lag from commit to 2xx.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const series = (name: string, labels: string) => Number(new RegExp(`^lifecycle_hub_${name}\\{${labels}\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
    const endpointLabel = `endpoint_id="${created.id}"`;
    expect(series('outbound_webhook_deliveries_total', `${endpointLabel},outcome="delivered"`)).toBe(3);
    expect(series('outbound_webhook_deliveries_total', `${endpointLabel},outcome="retrying"`)).toBe(5);
    expect(series('outbound_webhook_attempts_total', `${endpointLabel},status_class="5xx"`)).toBe(5);
    expect(series('outbound_webhook_attempts_total', `${endpointLabel},status_class="2xx"`)).toBe(3);
    expect(series('outbound_webhook_lag_seconds_count', endpointLabel)).toBe(3);
    await t.gqlOk(`mutation($e: ID!) { deleteWebhookEndpoint(input: { endpointId: $e }) { endpointId } }`, { e: created.id }, org.orgKey);
  });

  it('signs with both secrets during a rotation overlap, and only with the new one after', async () => {
    receiver.received.length = 0;
    receiver.answer = () => ({ status: 200 });
    const { endpoint: created, secret: oldSecret } = await createEndpoint(receiver.url, ['webhook.test']);
    const ROTATE = `mutation($e: ID!, $s: Int) { rotateWebhookEndpointSecret(input: { endpointId: $e, overlapSeconds: $s }) { secret endpoint { previousSecretExpiresAt } } }`;
    const { rotateWebhookEndpointSecret: rotated } = await t.gqlOk(ROTATE, { e: created.id, s: 3600 }, org.orgKey);
    expect(rotated.secret).not.toBe(oldSecret);
    expect(rotated.endpoint.previousSecretExpiresAt).not.toBeNull();
    await t.gqlOk(`mutation($e: ID!) { sendTestWebhook(input: { endpointId: $e }) { delivery { id } } }`, { e: created.id }, org.orgKey);
    await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(1);
    const during = receiver.received[0]!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifiesWith(during, oldSecret)).toEqual({ standard: true, svix: true });
    expect(verifiesWith(during, rotated.secret)).toEqual({ standard: true, svix: true });
    expect(verifyBoth(during, rotated.secret).type).toBe('webhook.test');

    const { rotateWebhookEndpointSecret: again } = await t.gqlOk(ROTATE, { e: created.id, s: 0 }, org.orgKey);
    await t.gqlOk(`mutation($e: ID!) { sendTestWebhook(input: { endpointId: $e }) { delivery { id } } }`, { e: created.id }, org.orgKey);
    await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(2);
    const after = receiver.received[1]!;
    expect(verifiesWith(after, again.secret)).toEqual({ standard: true, svix: true });
    expect(verifiesWith(after, rotated.secret)).toEqual({ standard: false, svix: false });
    await t.gqlOk(`mutation($e: ID!) { deleteWebhookEndpoint(input: { endpointId: $e }) { endpointId } }`, { e: created.id }, org.orgKey);
  });

  it('replays a delivery with its webhook-id, and resends every event after an id', async () => {
    receiver.received.length = 0;
    receiver.answer = () => ({ status: 200 });
    const { endpoint: created, secret } = await createEndpoint(receiver.url, ['user.provisioned']);
    await org.provision('dan', 2);
    await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(2);
    const first = (await endpoint(created.id)).deliveries.edges.at(-1).node;
    const { replayWebhookDelivery } = await t.gqlOk(`mutation($d: ID!) { replayWebhookDelivery(input: { deliveryId: $d }) { delivery { id status } } }`, { d: first.id }, org.orgKey);
    expect(replayWebhookDelivery.delivery.id).toBe(first.id);
    await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(3);
    expect(receiver.received[2]!.headers['webhook-id']).toBe(first.webhookId);
    // Recorded (a resend skips events whose delivery is still pending).
    await expect.poll(async () => (await endpoint(created.id)).deliveries.edges.at(-1).node.status, { timeout: 10_000 }).toBe('DELIVERED');

    const provisioned = await eventIds(t, org.orgId, ['user.provisioned']);
    const afterId = provisioned.at(-3)!;
    const { resendWebhookEvents } = await t.gqlOk(`mutation($e: ID!, $a: ID!) { resendWebhookEvents(input: { endpointId: $e, afterEventId: $a }) { queued } }`, { e: created.id, a: afterId }, org.orgKey);
    expect(resendWebhookEvents.queued).toBe(2);
    await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(5);
    expect(receiver.received.slice(3).map((r) => verifyBoth(r, secret).data.id)).toEqual(provisioned.slice(-2));
    const bad = await t.gql(`mutation($e: ID!, $a: ID!) { resendWebhookEvents(input: { endpointId: $e, afterEventId: $a }) { queued } }`, { e: created.id, a: 'x' }, org.orgKey);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'afterEventId' });
    await t.gqlOk(`mutation($e: ID!) { deleteWebhookEndpoint(input: { endpointId: $e }) { endpointId } }`, { e: created.id }, org.orgKey);
  });

  it('lists endpoints on the organization, updates, disables and enables them; refuses bad input with codes', async () => {
    const { endpoint: created } = await createEndpoint(receiver.url, ['user.deprovisioned']);
    const update = await t.gqlOk(`mutation($e: ID!) { updateWebhookEndpoint(input: { endpointId: $e, eventTypes: [], description: "all" }) { endpoint { eventTypes } } }`, { e: created.id }, org.orgKey);
    expect(update.updateWebhookEndpoint.endpoint.eventTypes).toEqual([]);
    const disabled = await t.gqlOk(`mutation($e: ID!) { disableWebhookEndpoint(input: { endpointId: $e }) { endpoint { status disabledReason } } }`, { e: created.id }, org.orgKey);
    expect(disabled.disableWebhookEndpoint.endpoint).toEqual({ status: 'DISABLED', disabledReason: 'disabled through the API' });
    const { organization } = await t.gqlOk(`query($o: ID!) { organization(id: $o) { webhookEndpoints { id status description } } }`, { o: org.orgId }, org.orgKey);
    expect(organization.webhookEndpoints).toEqual([{ id: created.id, status: 'DISABLED', description: 'all' }]);
    const enabled = await t.gqlOk(`mutation($e: ID!) { enableWebhookEndpoint(input: { endpointId: $e }) { endpoint { status disabledReason } } }`, { e: created.id }, org.orgKey);
    expect(enabled.enableWebhookEndpoint.endpoint).toEqual({ status: 'ENABLED', disabledReason: null });
    await t.gqlOk(`mutation($e: ID!) { deleteWebhookEndpoint(input: { endpointId: $e }) { endpointId } }`, { e: created.id }, org.orgKey);
    expect((await t.gql(ENDPOINT, { id: created.id }, org.orgKey)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    for (const [url, types] of [['ftp://example.com/x', null], ['not a url', null], ['https://user:pw@example.com/', null], [receiver.url, ['bad type!']]] as const) {
      const { errors } = await t.gql(CREATE, { o: org.orgId, url, types }, org.orgKey);
      expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: types ? 'eventTypes' : 'url' });
    }
  });
});

describe('the outbox', () => {
  it('queues a delivery for each committed event, in the same statement, and none for a test-mode dry run', async () => {
    const { endpoint: created } = await createEndpoint(receiver.url);
    const queued = () => t.hub.db.prisma.webhookDelivery.count({ where: { endpointId: created.id } });
    // A connection in test mode writes audit rows marked testMode and no event: nothing queued.
    const { createDirectoryConnection } = await t.gqlOk(`mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "test", name: "dry", testMode: true }) { connection { id } } }`, { o: org.orgId });
    const dry = createDirectoryConnection.connection.id as string;
    const outcome = await t.hub.engine.execute({ connectionId: dry, actor: { type: 'connection', connectionId: dry }, commands: [{ type: 'upsertUser', sourceId: 'dry0', profile: { userName: 'dry0@acme.test' } }] });
    expect(outcome.status).toBe('dry_run');
    expect(await queued()).toBe(0);
    // What commits is queued in the same statement: as many deliveries as events.
    const before = (await eventIds(t, org.orgId)).length;
    await org.provision('fay', 2);
    expect(await queued()).toBe((await eventIds(t, org.orgId)).length - before);
    await t.gqlOk(`mutation($e: ID!) { deleteWebhookEndpoint(input: { endpointId: $e }) { endpointId } }`, { e: created.id }, org.orgKey);
  });
});

describe('a receiver answering 429 with Retry-After', () => {
  let slow: TestHub;
  afterAll(async () => {
    await slow?.close();
  });

  it('is tried again when Retry-After says, not at the (much later) scheduled retry', async () => {
    // The schedule's first retry is a minute away: only Retry-After can bring the retry within the poll.
    slow = await startTestHub({ connectors: [testConnector], env: { WEBHOOK_RETRY_SCHEDULE_SECONDS: '60,60' } });
    const o = await seedOrganization(slow, 'retry-after');
    receiver.received.length = 0;
    receiver.answer = (_r, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 });
    const { createWebhookEndpoint } = await slow.gqlOk(CREATE, { o: o.orgId, url: receiver.url, types: ['webhook.test'] }, o.orgKey);
    await slow.gqlOk(`mutation($e: ID!) { sendTestWebhook(input: { endpointId: $e }) { delivery { id } } }`, { e: createWebhookEndpoint.endpoint.id }, o.orgKey);
    await expect.poll(() => receiver.received.length, { timeout: 15_000 }).toBe(2);
    expect(receiver.received[1]!.at - receiver.received[0]!.at).toBeGreaterThanOrEqual(900);
    expect(receiver.received[1]!.headers['webhook-id']).toBe(receiver.received[0]!.headers['webhook-id']);
    verifyBoth(receiver.received[1]!, createWebhookEndpoint.secret);
  });
});
