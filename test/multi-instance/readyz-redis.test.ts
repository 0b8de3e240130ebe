// /readyz with REDIS_URL and a real redis-server: ready while Redis answers; still ready (200) but
// degraded, redis named, once it is killed (the instance keeps serving, so a Redis outage must not
// take every instance out of rotation at once), with event_bus_healthy at 0; ready again after it
// restarts on the same port. Runs in .ci/run's
// multi-instance suite (redis-server installed); skipped where redis-server is not installed.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/server.ts';
import { startRedis, type RedisServer } from './redis.ts';

const hasRedis = spawnSync(process.env.REDIS_SERVER ?? 'redis-server', ['--version']).status === 0;

async function readyz(url: string) {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as any };
}

async function busHealthy(url: string) {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(/^lifecycle_hub_event_bus_healthy (\d+)$/m.exec(metrics)?.[1]);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!hasRedis)('readiness follows a real Redis', () => {
  let redis: RedisServer;
  let t: TestHub;
  beforeAll(async () => {
    redis = await startRedis();
    t = await startTestHub({ env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  it('is ready with Redis, ready but degraded while it is down, and ready again when it is back', async () => {
    await until('ready with Redis', async () => (await readyz(t.url)).body.status === 'ready');
    expect((await readyz(t.url)).body.checks.redis).toEqual({ status: 'ok' });
    expect(await busHealthy(t.url)).toBe(1);

    await redis.stop();
    await until('degraded without Redis', async () => (await readyz(t.url)).body.status === 'degraded');
    const degraded = await readyz(t.url);
    expect(degraded.status).toBe(200);
    expect(degraded.body.degraded).toEqual(['redis']);
    expect(degraded.body.down).toBeUndefined();
    expect(degraded.body.checks.database).toEqual({ status: 'ok' });
    expect(degraded.body.checks.redis.status).toBe('down');
    expect(await busHealthy(t.url)).toBe(0);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const api = await t.gql('{ organizations { id } }');
    expect([api.status, api.errors]).toEqual([200, undefined]);

    await redis.restart();
    await until('ready after Redis restarts', async () => (await readyz(t.url)).body.status === 'ready');
    expect(await busHealthy(t.url)).toBe(1);
  });
});
