// Two hub processes on one PostgreSQL through a real redis-server: an API key revoked on instance A
// closes its graphql-ws socket and ends its SSE stream on instance B at once (the revocation
// broadcast on Redis), and B refuses the key over HTTP from then on. With Redis down at the moment
// of the revocation, B ends them once Redis is back (it re-checks its live credentials).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHubProcess, type HubProcess } from '../support/hub-process.ts';
import { createTestDatabaseUrl } from '../support/db.ts';
import { LIFECYCLE_QUERY, subscribeSse, subscribeWs, wsClient } from '../streams/support.ts';
import { startRedis, type RedisServer } from './redis.ts';

let redis: RedisServer;
let a: HubProcess;
let b: HubProcess;
let adminKey: string;

beforeAll(async () => {
  const databaseUrl = await createTestDatabaseUrl();
  if (!databaseUrl) throw new Error('the multi-instance suite runs on PostgreSQL: set TEST_DATABASE_URL');
  redis = await startRedis();
  adminKey = `multi-admin-${randomBytes(12).toString('hex')}`;
  const shared = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, ADMIN_API_KEY: adminKey, ENCRYPTION_KEY: randomBytes(32).toString('base64') };
  a = await spawnHubProcess(shared, { seed: { organizations: [{ slug: 'revoking', users: 2 }] } });
  b = await spawnHubProcess(shared);
}, 180_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

async function gql(hub: HubProcess, key: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${hub.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

async function newKey(organizationId: string) {
  const { data, errors } = await gql(a, adminKey, `mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "on B" }) { secret apiKey { id } } }`, { o: organizationId });
  if (errors) throw new Error(JSON.stringify(errors));
  return { id: data.createApiKey.apiKey.id as string, secret: data.createApiKey.secret as string };
}

const revokeOnA = async (id: string) => {
  const { errors } = await gql(a, adminKey, `mutation($k: ID!) { revokeApiKey(input: { apiKeyId: $k }) { apiKey { revokedAt } } }`, { k: id });
  if (errors) throw new Error(JSON.stringify(errors));
};

const ORGANIZATION = `query($o: ID!) { organization(id: $o) { id } }`;

/** Resolves with the socket's close event. */
const closedEvent = () => {
  let resolve!: (event: { code: number; reason: string }) => void;
  const promise = new Promise<{ code: number; reason: string }>((r) => (resolve = r));
  return { promise, onClosed: (event: { code: number; reason: string }) => resolve(event) };
};

describe('revoking an API key on one instance', () => {
  it("closes its graphql-ws socket and ends its SSE stream on the other instance at once, and the other instance's cache forgets it", async () => {
    const org = a.organizations[0]!;
    const key = await newKey(org.id);
    // B has the key cached: without the broadcast it would go on accepting it for a while.
    expect((await gql(b, key.secret, ORGANIZATION, { o: org.id })).data?.organization?.id).toBe(org.id);
    const closed = closedEvent();
    const client = wsClient(b.url, key.secret, { onClosed: closed.onClosed });
    try {
      const ws = subscribeWs(client, LIFECYCLE_QUERY, { o: org.id, after: '0' }, 'lifecycleEvents');
      const sse = await subscribeSse(b.url, key.secret, LIFECYCLE_QUERY, { o: org.id, after: '0' }, 'lifecycleEvents');
      // Both running on B (they replay the seeded users' events first).
      await ws.waitFor(1);
      await sse.waitFor(1);

      await revokeOnA(key.id);

      expect(await closed.promise).toEqual(expect.objectContaining({ code: 4401, reason: 'API key revoked' }));
      expect(await ws.waitForError()).toEqual(expect.objectContaining({ code: 4401 }));
      const [sseError] = await sse.waitForError();
      expect(sseError.extensions.code).toBe('UNAUTHENTICATED');
      expect(sseError.message).toMatch(/revoked/);
      expect((await gql(b, key.secret, ORGANIZATION, { o: org.id })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      sse.dispose();
    } finally {
      await client.dispose();
    }
  });

  it('with Redis down when it is revoked: the other instance closes the socket once Redis is back', async () => {
    const org = a.organizations[0]!;
    const key = await newKey(org.id);
    const closed = closedEvent();
    const client = wsClient(b.url, key.secret, { onClosed: closed.onClosed });
    try {
      const ws = subscribeWs(client, LIFECYCLE_QUERY, { o: org.id, after: '0' }, 'lifecycleEvents');
      await ws.waitFor(1);
      await redis.stop();
      await revokeOnA(key.id);
      await redis.restart();
      expect(await closed.promise).toEqual(expect.objectContaining({ code: 4401, reason: 'API key revoked' }));
    } finally {
      await client.dispose();
    }
  });
});
