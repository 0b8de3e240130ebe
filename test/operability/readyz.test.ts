// GET /healthz and /readyz over real HTTP on a real hub: ready when the database answers and every
// shipped migration is recorded as finished; unready (503, Retry-After, what is down) when the
// database goes away or a migration is missing; degraded but ready (200) when the configured Redis
// does not answer, since the instance still serves everything.
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { openTestDatabase, onPostgres } from '../support/db.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

async function readyz(url: string) {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
}

describe('a healthy hub', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is live and ready, with each check named', async () => {
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await readyz(t.url);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: { status: 'ok' }, migrations: { status: 'ok' } } });
  });

  it('turns unready while a shipped migration is not recorded as finished, and ready again once it is', async () => {
    const [last] = await t.db.sql.query<{ name: string; finished: Date }>(
      'SELECT migration_name AS name, finished_at AS finished FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1',
    );
    await t.db.sql.query('UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = $1', [last!.name]);
    try {
      const ready = await readyz(t.url);
      expect(ready.status).toBe(503);
      expect(ready.retryAfter).toBe('5');
      expect(ready.body.status).toBe('unready');
      expect(ready.body.down).toEqual(['migrations']);
      expect(ready.body.checks.migrations).toEqual({ status: 'pending', pending: [last!.name] });
      expect(ready.body.checks.database).toEqual({ status: 'ok' });
    } finally {
      await t.db.sql.query('UPDATE _prisma_migrations SET finished_at = $2 WHERE migration_name = $1', [last!.name, last!.finished]);
    }
    expect((await readyz(t.url)).status).toBe(200);
  });
});

describe('the database becomes unreachable', () => {
  it('turns /readyz unready with the database named, while /healthz still answers', async () => {
    const db = await openTestDatabase();
    const t = await startTestHub({ db });
    try {
      expect((await readyz(t.url)).status).toBe(200);
      if (onPostgres()) {
        // The hub's own database disappears under it (connections terminated, then gone).
        const name = new URL(db.url!).pathname.slice(1);
        const admin = new pg.Client({ connectionString: inject('postgresAdminUrl') });
        await admin.connect();
        try {
          await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
        } finally {
          await admin.end();
        }
      } else {
        await db.close();
      }
      const ready = await readyz(t.url);
      expect(ready.status).toBe(503);
      expect(ready.retryAfter).toBe('5');
      expect(ready.body.status).toBe('unready');
      expect(ready.body.down).toEqual(expect.arrayContaining(['database']));
      expect(ready.body.checks.database.status).toBe('down');
      expect(ready.body.checks.database.error).toEqual(expect.any(String));
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    } finally {
      await t.close();
      if (onPostgres()) await db.close().catch(() => {});
    }
  });
});

describe('Redis is configured but does not answer', () => {
  it('keeps /readyz ready (200) and says degraded, with redis named, while requests are served', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const t = await startTestHub({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    try {
      const ready = await readyz(t.url);
      expect(ready.status).toBe(200);
      expect(ready.retryAfter).toBeNull();
      expect(ready.body).toEqual({
        status: 'degraded',
        degraded: ['redis'],
        checks: { database: { status: 'ok' }, migrations: { status: 'ok' }, redis: { status: 'down', error: expect.any(String) } },
      });
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
      // It serves: an API request goes through, and the gauge says notifications do not flow.
      const api = await t.gql('{ organizations { id } }');
      expect([api.status, api.errors]).toEqual([200, undefined]);
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      expect(metrics).toMatch(/^lifecycle_hub_event_bus_healthy 0$/m);
    } finally {
      await t.close();
    }
  });
});
