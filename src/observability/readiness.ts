// GET /readyz: may this instance take traffic? It may when the database answers and every
// migration shipped with this build is recorded as finished.
//
// Redis (REDIS_URL) is checked and reported, but does not make an instance unready: while it is
// down each instance still serves every request, and its subscriptions read the database instead
// of waiting for notifications (every second, EVENTS_POLL_INTERVAL_MS otherwise). Redis is shared,
// so its outage would make every instance unready at once and take the whole service out of the
// load balancer's rotation for a dependency none of them needs to serve. It is a degraded state:
// in the body (`status: "degraded"`) and in the event_bus_healthy gauge.
import { readdir } from 'node:fs/promises';
import { migrationsDir } from '../storage/migrate.ts';
import { RedisEventBus } from '../events/redis-bus.ts';
import type { Hub } from '../hub/hub.ts';

/** Each check gives up after this long: a probe must answer even when a dependency hangs. */
const CHECK_TIMEOUT_MS = 2_000;

export type CheckResult = { status: 'ok' } | { status: 'down'; error: string } | { status: 'pending'; pending: string[] };

export interface Readiness {
  ready: boolean;
  /** Failed checks this instance cannot serve without (the database, migrations). */
  down: string[];
  /** Failed checks it serves without, in a degraded way (Redis). */
  degraded: string[];
  checks: Record<string, CheckResult>;
}

/** Checks whose failure leaves the instance serving: reported, not counted against readiness. */
const DEGRADING = new Set(['redis']);

let shipped: Promise<string[]> | null = null;
/** The migrations of this build (prisma/migrations), read once. */
function shippedMigrations(): Promise<string[]> {
  shipped ??= readdir(migrationsDir, { withFileTypes: true }).then((entries) => entries.filter((e) => e.isDirectory()).map((e) => e.name).sort());
  return shipped;
}

export async function checkReadiness(hub: Hub): Promise<Readiness> {
  const checks: Record<string, CheckResult> = {};
  const database = within(CHECK_TIMEOUT_MS, 'the database', async () => {
    const rows = await hub.db.sql.query<{ name: string }>(
      'SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    return rows.map((r) => r.name);
  });
  const bus = hub.events.bus;
  const redis = bus instanceof RedisEventBus ? within(CHECK_TIMEOUT_MS, 'Redis', () => bus.ping(CHECK_TIMEOUT_MS)) : null;
  // Both run at once; settled together so neither rejects unobserved while the other is awaited.
  const [databaseResult, redisResult] = await Promise.allSettled([database, redis]);

  try {
    if (databaseResult.status === 'rejected') throw databaseResult.reason;
    const applied = new Set(databaseResult.value);
    checks.database = { status: 'ok' };
    const pending = (await shippedMigrations()).filter((name) => !applied.has(name));
    checks.migrations = pending.length ? { status: 'pending', pending } : { status: 'ok' };
  } catch (error) {
    checks.database = { status: 'down', error: describe(error) };
    checks.migrations = { status: 'down', error: 'unknown while the database is unreachable' };
  }
  if (redis) {
    checks.redis = redisResult.status === 'fulfilled' ? { status: 'ok' } : { status: 'down', error: describe(redisResult.reason) };
  }
  const failed = Object.entries(checks).filter(([, c]) => c.status !== 'ok').map(([name]) => name);
  const down = failed.filter((name) => !DEGRADING.has(name));
  return { ready: down.length === 0, down, degraded: failed.filter((name) => DEGRADING.has(name)), checks };
}

async function within<T>(ms: number, what: string, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const running = run();
  // Settles after the timeout too: never an unhandled rejection.
  running.catch(() => {});
  try {
    return await Promise.race([
      running,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Driver messages name hosts and databases, never credentials; kept short. */
function describe(error: unknown): string {
  const e = error as { message?: string; code?: string };
  const message = (e?.message || String(error)).split('\n')[0]!.slice(0, 300);
  return e?.code && !message.includes(e.code) ? `${message} (${e.code})` : message;
}
