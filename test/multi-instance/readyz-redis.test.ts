// /readyz with REDIS_URL and a real redis-server: ready while Redis answers, unready (503, redis
// named) once it is killed, ready again after it restarts on the same port. Runs in .ci/run's
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

  it('is ready with Redis, unready while it is down, and ready again when it is back', async () => {
    await until('ready with Redis', async () => (await readyz(t.url)).status === 200);
    expect((await readyz(t.url)).body.checks.redis).toEqual({ status: 'ok' });

    await redis.stop();
    await until('unready without Redis', async () => (await readyz(t.url)).status === 503);
    const down = await readyz(t.url);
    expect(down.body.down).toEqual(['redis']);
    expect(down.body.checks.database).toEqual({ status: 'ok' });
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);

    await redis.restart();
    await until('ready after Redis restarts', async () => (await readyz(t.url)).status === 200);
  });
});
