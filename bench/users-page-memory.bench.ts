// GraphQL users page and server memory, at 100,000 users (full size).
//
// Setup: a fresh database seeded with one organization of 100,000 SCIM users, 100 groups, two
// memberships per user and group → role mappings (bench/seed-directory.ts), then a hub in its own
// process (test/support/serve-hub.ts with BENCH_STATS=1, which counts every SQL statement it sends).
//
// Users page: this process sends, one at a time over one HTTP keep-alive connection (undici), the query a SaaS admin
// screen sends, `organization(id) { users(first: 100, after) { … groups { id displayName } roles } }`,
// walking pages forward with the cursor (and starting over after PAGES). Latency: request sent →
// response body read. SQL statements per request: the hub's statement counter read before and
// after each request (the median; the counter is outside the hub's routes).
//
// Memory: the hub process's VmRSS (/proc/<pid>/status) after the page requests, then again with
// 5,000 graphql-ws subscribers connected (from this process) that have each received a deprovision.
// On PGlite the database runs inside the hub's process, so its RSS includes the database's memory.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/storage/database.ts';
import { Client } from 'undici';
import { spawnHubProcess } from '../test/support/hub-process.ts';
import { seedLargeDirectory } from './seed-directory.ts';
import { benchDatabase, processMemoryMiB, serverArgs } from './support.ts';
import { BenchAborted, checkTime, summarize, type Benchmark } from './types.ts';
import { DEPROVISION_SUBSCRIPTION, openMany, openRawSubscriber, type RawSubscriber } from './ws-load.ts';

const USERS_PAGE = `query UsersPage($o: ID!, $after: String) {
  organization(id: $o) {
    users(first: 100, after: $after) {
      edges { node { id userName email displayName state isAdmin roles groups { id displayName } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;
const PAGES = 50;
/** Idle time before the settled RSS: V8's memory reducer first acts ~8 s after activity stops, and took ~25 s to shrink the heap here. */
const SETTLE_MS = 30_000;

export const usersPageAndMemory: Benchmark = {
  name: 'graphql: users page (100, with groups and roles) at 100,000 users; server RSS',
  timeLimitSeconds: 240,
  targets: [
    { metric: 'page_p50_ms', op: '<=', value: 5, label: 'users page p50 ≤ 5 ms' },
    { metric: 'sql_statements_per_request', op: '<=', value: 3, label: 'users page ≤ 3 SQL statements' },
    { metric: 'rss_mb_with_subscribers', op: '<=', value: 250, label: 'RSS ≤ 250 MB at 100,000 users and 5,000 subscribers' },
  ],
  async run(ctx) {
    const users = ctx.quick ? 2_000 : 100_000;
    const groups = ctx.quick ? 30 : 100;
    const subscribers = ctx.quick ? 200 : 5_000;
    const settleMs = ctx.quick ? 2_000 : SETTLE_MS;
    const requests = ctx.quick ? 50 : 1_000;
    const dataDir = mkdtempSync(join(tmpdir(), 'lh-bench-users-'));
    const database = ctx.databaseUrl ? await benchDatabase(ctx.databaseUrl, 'users') : null;
    const encryptionKey = randomBytes(32);
    let subs: RawSubscriber[] = [];
    let hub: Awaited<ReturnType<typeof spawnHubProcess>> | undefined;
    let pageClient: Client | undefined;
    try {
      const t0 = performance.now();
      const db = await openDatabase(database ? { url: database.url } : { dataDir });
      const seeded = await seedLargeDirectory(db, { users, groups, encryptionKey, log: ctx.log }).finally(() => db.close());
      const seedSeconds = Math.round((performance.now() - t0) / 100) / 10;
      checkTime(ctx.signal);

      hub = await spawnHubProcess({
        ...(database ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir, DATABASE_URL: '' }),
        ADMIN_API_KEY: `bench-admin-${randomBytes(12).toString('hex')}`,
        ENCRYPTION_KEY: encryptionKey.toString('base64'),
        LOG_LEVEL: 'error',
        BENCH_STATS: '1',
      }, { nodeArgs: serverArgs() });
      const atStart = processMemoryMiB(hub.pid);
      const statsUrl = hub.statsUrl!;
      // The hub's own counters (test/support/serve-hub.ts): statements sent, the last ones, its memory.
      const stats = async () => (await (await fetch(statsUrl)).json()) as { statements: number; recent: string[]; memory: NodeJS.MemoryUsage };
      const statements = async () => (await stats()).statements;
      // One keep-alive connection through undici's Client (fetch adds its own CPU to every timed
      // request, on the cores the hub shares).
      const client = (pageClient = new Client(hub.url));
      const page = async (after: string | null) => {
        const response = await client.request({
          path: '/graphql',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${seeded.key}` },
          body: JSON.stringify({ query: USERS_PAGE, variables: { o: seeded.organizationId, after } }),
        });
        const body = (await response.body.json()) as { data?: { organization: { users: { edges: Array<{ node: { roles: string[]; groups: unknown[] } }>; pageInfo: { endCursor: string | null } } } }; errors?: unknown[] };
        if (body.errors || !body.data) throw new Error(`users page failed: ${JSON.stringify(body.errors)}`);
        return body.data.organization.users;
      };

      // Warm-up, and a check that groups and roles resolve for real.
      let after: string | null = null;
      const pages = Math.min(PAGES, Math.floor(users / 100));
      for (let i = 0; i < Math.min(20, pages); i++) {
        const users = await page(after);
        if (users.edges.length !== 100) throw new Error(`a page had ${users.edges.length} users`);
        if (!users.edges.every((e) => e.node.groups.length > 0 && e.node.roles.length > 0)) throw new Error('a user on the page has no groups or no roles');
        after = users.pageInfo.endCursor;
      }

      const latencies: number[] = [];
      const perRequest: number[] = [];
      after = null;
      for (let i = 0; i < requests; i++) {
        checkTime(ctx.signal);
        if (i % pages === 0) after = null;
        const before = await statements();
        const s = performance.now();
        const users = await page(after);
        latencies.push(performance.now() - s);
        perRequest.push((await statements()) - before);
        after = users.pageInfo.endCursor;
      }
      // The statements of the last request, for the report (what a page costs, and why).
      const sample = (await stats()).recent.slice(-perRequest.at(-1)!);
      const sortedStatements = [...perRequest].sort((a, b) => a - b);
      const latency = summarize(latencies);
      const atUsers = processMemoryMiB(hub.pid);
      const { memory: usersMemory } = await stats();
      ctx.log(`users page p50 ${latency.p50_ms} ms, ${sortedStatements[Math.floor(sortedStatements.length / 2)]} statements; RSS ${atUsers.rss} MiB`);

      // Memory with subscribers: connected, subscribed, and each delivered one deprovision.
      const wsUrl = `${hub.url.replace(/^http/, 'ws')}/graphql`;
      const pageMetrics = {
        page_p50_ms: latency.p50_ms,
        page_p99_ms: latency.p99_ms,
        sql_statements_per_request: sortedStatements[Math.floor(sortedStatements.length / 2)]!,
        rss_mb_at_start: atStart.rss,
        rss_mb_at_users: atUsers.rss,
      };
      if (ctx.signal.aborted) throw new BenchAborted(String(ctx.signal.reason), { metrics: pageMetrics });
      subs = await openMany(subscribers, () => openRawSubscriber(wsUrl, seeded.key, DEPROVISION_SUBSCRIPTION, { o: seeded.organizationId }));
      if (ctx.signal.aborted) throw new BenchAborted(String(ctx.signal.reason), { metrics: { ...pageMetrics, rss_mb_with_subscribers_connected: processMemoryMiB(hub.pid).rss } });
      const firstUser = ((await (await fetch(`${hub.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${seeded.key}` },
        body: JSON.stringify({ query: 'query($o: ID!) { organization(id: $o) { users(first: 1) { edges { node { id } } } } }', variables: { o: seeded.organizationId } }),
      })).json()) as { data: { organization: { users: { edges: Array<{ node: { id: string } }> } } } }).data.organization.users.edges[0]!.node.id;
      let received = 0;
      const allReceived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received} of ${subscribers} subscribers received the deprovision`)), 60_000);
        for (const s of subs) {
          s.onNext = () => {
            s.onNext = null;
            if (++received === subscribers) {
              clearTimeout(timer);
              resolve();
            }
          };
        }
      });
      const deprovision = await fetch(`${hub.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${seeded.key}` },
        body: JSON.stringify({ query: 'mutation($u: ID!) { deprovisionUser(input: { userId: $u }) { user { id } } }', variables: { u: firstUser } }),
      });
      const deprovisionBody = (await deprovision.json()) as { errors?: unknown[] };
      if (deprovisionBody.errors) throw new Error(`deprovisionUser failed: ${JSON.stringify(deprovisionBody.errors)}`);
      await allReceived;
      const withSubscribers = processMemoryMiB(hub.pid);
      // How much of it is the V8 heap (the rest: code, WASM memory, buffers), for the report.
      const { memory: subscribersMemory } = await stats();
      ctx.log(`${subscribers} subscribers: RSS ${withSubscribers.rss} MiB (peak ${withSubscribers.peak} MiB)`);
      // The same, settled: V8 shrinks a heap it grew in a burst only once the process has been idle
      // for a while (its memory reducer), so right after the pages RSS still holds their garbage.
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const settled = processMemoryMiB(hub.pid);
      const { memory: settledMemory } = await stats();
      ctx.log(`after ${settleMs / 1000} s idle: RSS ${settled.rss} MiB`);

      return {
        metrics: {
          page_p50_ms: latency.p50_ms,
          page_p99_ms: latency.p99_ms,
          page_max_ms: latency.max_ms,
          sql_statements_per_request: sortedStatements[Math.floor(sortedStatements.length / 2)]!,
          sql_statements_max: sortedStatements.at(-1)!,
          rss_mb_at_start: atStart.rss,
          rss_mb_at_users: atUsers.rss,
          rss_mb_with_subscribers: withSubscribers.rss,
          rss_peak_mb: withSubscribers.peak,
          rss_mb_with_subscribers_settled: settled.rss,
          heap_used_mb_settled: settledMemory.heapUsed >> 20,
          heap_total_mb_at_users: usersMemory.heapTotal >> 20,
          heap_used_mb_at_users: usersMemory.heapUsed >> 20,
          heap_total_mb_with_subscribers: subscribersMemory.heapTotal >> 20,
          seed_seconds: seedSeconds,
        },
        params: { statementsOfOnePage: sample.join(' ;; '), settleSeconds: settleMs / 1000, users, groups, memberships: seeded.memberships, roleMappings: seeded.mappings, pageSize: 100, requests, subscribers, client: 'one at a time, HTTP keep-alive, separate process', seeding: 'bulk SQL (bench/seed-directory.ts)' },
        notes: 'page_*: request sent → response read; sql_statements_*: counted by the hub (db.onStatement). rss_*: VmRSS of the hub process (MiB): at start (ready, no request yet), after the page requests, with the subscribers, and with them after SETTLE_MS idle (*_settled); on PGlite it includes the embedded database. heap_total_*, heap_used_*: the V8 heap (process.memoryUsage()) at the same points.',
      };
    } finally {
      await pageClient?.close();
      for (const s of subs) s.close();
      await hub?.stop();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
