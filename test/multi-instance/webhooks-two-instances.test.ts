// Two hub processes on one PostgreSQL share the webhook outbox: every event is delivered, and no
// delivery is attempted by both at once (the claim's row lock and lease): with a receiver that always
// answers 200, each webhook-id arrives exactly once, whichever instance committed the event.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnHubProcess, type HubProcess } from '../support/hub-process.ts';
import { createTestDatabaseUrl } from '../support/db.ts';
import { USER_SCHEMA } from '../scim/support.ts';
import { startReceiver, verifyBoth, type Receiver } from '../webhooks/receiver.ts';

let a: HubProcess;
let b: HubProcess;
let receiver: Receiver;

beforeAll(async () => {
  const databaseUrl = await createTestDatabaseUrl();
  if (!databaseUrl) throw new Error('the multi-instance suite runs on PostgreSQL: set TEST_DATABASE_URL');
  receiver = await startReceiver();
  const shared = {
    DATABASE_URL: databaseUrl,
    ADMIN_API_KEY: `multi-admin-${randomBytes(12).toString('hex')}`,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
  };
  a = await spawnHubProcess(shared, { seed: { organizations: [{ slug: 'shared-outbox', users: 0, source: 'scim' }] } });
  b = await spawnHubProcess(shared);
}, 180_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await receiver?.close();
});

async function gql(hub: HubProcess, key: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${hub.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

it('delivers each event once although both instances work the same outbox', async () => {
  const org = a.organizations[0]!;
  // Slow answers keep deliveries in flight while the other instance looks for work.
  receiver.answer = () => ({ status: 200, delayMs: 100 });
  const { createWebhookEndpoint } = await gql(a, org.key, `mutation($o: ID!, $u: String!) { createWebhookEndpoint(input: { organizationId: $o, url: $u }) { secret } }`, { o: org.id, u: receiver.url });
  const scimOn = (hub: HubProcess) => `${hub.url}/scim/v2/${org.connectionId}/Users`;
  await Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      const response = await fetch(scimOn(i % 2 ? b : a), {
        method: 'POST',
        headers: { 'content-type': 'application/scim+json', authorization: `Bearer ${org.scim!.token}` },
        body: JSON.stringify({ schemas: [USER_SCHEMA], userName: `u${i}@shared.test`, active: true }),
      });
      expect(response.status).toBe(201);
    }),
  );
  // The first SCIM request activates the connection after answering (connection.activated is an event
  // too, delivered like the others): the list is read once that has committed.
  await expect.poll(async () => (await gql(b, org.key, `query($c: ID!) { connection(id: $c) { status } }`, { c: org.connectionId })).connection.status, { timeout: 10_000 }).toBe('ACTIVE');
  const { events } = await gql(b, org.key, `query($o: ID!) { events(organizationId: $o, first: 500) { edges { cursor } } }`, { o: org.id });
  const eventIds: string[] = events.edges.map((e: { cursor: string }) => e.cursor);
  expect(eventIds.length).toBeGreaterThanOrEqual(40);
  await expect.poll(() => new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, { timeout: 60_000 }).toBe(eventIds.length);
  // Nothing more arrives once every delivery is recorded as delivered.
  await expect.poll(async () => (await gql(a, org.key, `query($o: ID!) { organization(id: $o) { webhookEndpoints { deliveries(first: 100, status: PENDING) { edges { node { id } } } } } }`, { o: org.id })).organization.webhookEndpoints[0].deliveries.edges.length, { timeout: 30_000 }).toBe(0);
  const ids = receiver.received.map((r) => String(r.headers['webhook-id']));
  expect(ids.length, 'each webhook-id exactly once').toBe(new Set(ids).size);
  expect(receiver.received.map((r) => verifyBoth(r, createWebhookEndpoint.secret).data.id).sort()).toEqual([...eventIds].sort());
});
