// Two hub server processes on one PostgreSQL, fanned out through a real redis-server: an event
// committed on instance A reaches subscribers on instance B; with Redis down, delivery goes on
// (in process on A, by polling the database on B) and picks up again when Redis returns; a
// subscriber resumes on a restarted instance without loss. Run by .ci/run (vitest.multi-instance.config.ts).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHubProcess, type HubProcess } from '../support/hub-process.ts';
import { createTestDatabaseUrl } from '../support/db.ts';
import { DEPROVISION_QUERY, subscribeSse, subscribeWs, wsClient } from '../streams/support.ts';
import { startRedis, type RedisServer } from './redis.ts';

let redis: RedisServer;
let databaseUrl: string;
let a: HubProcess;
let b: HubProcess;
const shared: Record<string, string> = {};

beforeAll(async () => {
  const url = await createTestDatabaseUrl();
  if (!url) throw new Error('the multi-instance suite runs on PostgreSQL: set TEST_DATABASE_URL');
  databaseUrl = url;
  redis = await startRedis();
  Object.assign(shared, {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    ADMIN_API_KEY: `multi-admin-${randomBytes(12).toString('hex')}`,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    // Notifications must do the work: the safety-net poll is out of the picture while Redis is up.
    EVENTS_POLL_INTERVAL_MS: '600000',
  });
  a = await spawnHubProcess(shared, { seed: { organizations: [{ slug: 'multi', users: 40 }, { slug: 'other', users: 5 }] } });
  b = await spawnHubProcess(shared);
}, 180_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

const deprovisionOn = async (hub: HubProcess, key: string, userId: string) => {
  const response = await fetch(`${hub.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: `mutation($u: ID!) { deprovisionUser(input: { userId: $u }) { user { id state } } }`, variables: { u: userId } }),
  });
  const body = (await response.json()) as { errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
};

/** The organization's deprovision event ids, asked of instance A over GraphQL-free SQL (the shared database). */
async function deprovisionIds(orgId: string): Promise<string[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(`SELECT id::text FROM lifecycle_event WHERE organization_id = $1 AND type = 'user.deprovisioned' ORDER BY id`, [orgId]);
    return rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}

describe('two instances with Redis', () => {
  it('delivers an event committed on instance A to graphql-ws and SSE subscribers on instance B, and only to its organization', async () => {
    const org = a.organizations[0]!;
    const other = a.organizations[1]!;
    const client = wsClient(b.url, org.key);
    const otherClient = wsClient(b.url, other.key);
    try {
      const ws = subscribeWs(client, DEPROVISION_QUERY, { o: org.id }, 'deprovisionEvents');
      const sse = await subscribeSse(b.url, org.key, DEPROVISION_QUERY, { o: org.id }, 'deprovisionEvents');
      const foreign = subscribeWs(otherClient, DEPROVISION_QUERY, { o: other.id }, 'deprovisionEvents');
      await new Promise((r) => setTimeout(r, 500));
      await deprovisionOn(a, org.key, org.userIds[0]!);
      await deprovisionOn(a, org.key, org.userIds[1]!);
      const [first, second] = await ws.waitFor(2, 10_000);
      expect([first.user.id, second.user.id]).toEqual(org.userIds.slice(0, 2));
      expect((await sse.waitFor(2, 10_000)).map((e) => e.id)).toEqual([first.id, second.id]);
      await new Promise((r) => setTimeout(r, 300));
      expect(foreign.items).toEqual([]);
      sse.dispose();
    } finally {
      await client.dispose();
      await otherClient.dispose();
    }
  });

  it('keeps delivering while Redis is down (A in process, B by polling) and after it comes back, without loss or duplicates', async () => {
    const org = a.organizations[0]!;
    const start = (await deprovisionIds(org.id)).at(-1) ?? '0';
    const onA = wsClient(a.url, org.key);
    const onB = wsClient(b.url, org.key);
    try {
      const subA = subscribeWs(onA, DEPROVISION_QUERY, { o: org.id, after: start }, 'deprovisionEvents');
      const subB = subscribeWs(onB, DEPROVISION_QUERY, { o: org.id, after: start }, 'deprovisionEvents');
      await new Promise((r) => setTimeout(r, 500));
      await redis.stop();
      await deprovisionOn(a, org.key, org.userIds[10]!);
      await deprovisionOn(b, org.key, org.userIds[11]!);
      await subA.waitFor(2, 15_000);
      await subB.waitFor(2, 15_000);

      await redis.restart();
      await new Promise((r) => setTimeout(r, 3_000));
      await deprovisionOn(a, org.key, org.userIds[12]!);
      await deprovisionOn(b, org.key, org.userIds[13]!);
      await subA.waitFor(4, 15_000);
      await subB.waitFor(4, 15_000);
      await new Promise((r) => setTimeout(r, 300));
      const ids = (await deprovisionIds(org.id)).filter((id) => BigInt(id) > BigInt(start));
      expect(subA.items.map((e) => e.id)).toEqual(ids);
      expect(subB.items.map((e) => e.id)).toEqual(ids);
      expect(subB.items.map((e) => e.user.id)).toEqual(org.userIds.slice(10, 14));
    } finally {
      await onA.dispose();
      await onB.dispose();
    }
  });

  it('lets a subscriber resume on a restarted instance with after: nothing lost across the restart', async () => {
    const org = a.organizations[0]!;
    const start = (await deprovisionIds(org.id)).at(-1) ?? '0';
    let client = wsClient(b.url, org.key);
    const before = subscribeWs(client, DEPROVISION_QUERY, { o: org.id, after: start }, 'deprovisionEvents');
    await new Promise((r) => setTimeout(r, 300));
    await deprovisionOn(a, org.key, org.userIds[20]!);
    const [seen] = await before.waitFor(1, 10_000);
    await client.dispose();

    // B crashes; A commits meanwhile; B comes back.
    await b.kill();
    await deprovisionOn(a, org.key, org.userIds[21]!);
    await deprovisionOn(a, org.key, org.userIds[22]!);
    b = await spawnHubProcess(shared);

    client = wsClient(b.url, org.key);
    try {
      const resumed = subscribeWs(client, DEPROVISION_QUERY, { o: org.id, after: seen.id }, 'deprovisionEvents');
      await resumed.waitFor(2, 10_000);
      await deprovisionOn(a, org.key, org.userIds[23]!);
      await resumed.waitFor(3, 10_000);
      const ids = (await deprovisionIds(org.id)).filter((id) => BigInt(id) > BigInt(start));
      expect([seen, ...resumed.items].map((e) => e.id)).toEqual(ids);
      expect([seen, ...resumed.items].map((e) => e.user.id)).toEqual(org.userIds.slice(20, 24));
    } finally {
      await client.dispose();
    }
  });
});
