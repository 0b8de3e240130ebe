// Fan-out: one deprovision event to 5,000 graphql-ws subscribers of the same organization; the time
// from the trigger until the last subscriber has it. The hub runs in its own process; the
// subscribers are raw WebSocket clients in this one (timed on arrival, not parsed).
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnHubProcess } from '../test/support/hub-process.ts';
import { benchDatabase, serverArgs } from './support.ts';
import { BenchAborted, checkTime, percentile, type Benchmark } from './types.ts';
import { DEPROVISION_SUBSCRIPTION, openMany, openRawSubscriber } from './ws-load.ts';

export const fanout: Benchmark = {
  name: 'fan-out: one deprovision event to 5,000 graphql-ws subscribers',
  timeLimitSeconds: 180,
  targets: [{ metric: 'last_received_p50_ms', op: '<=', value: 100, label: '5,000-subscriber fan-out ≤ 100 ms' }],
  async run(ctx) {
    const subscribers = ctx.quick ? 300 : 5_000;
    const rounds = ctx.quick ? 3 : 20;
    const dir = mkdtempSync(join(tmpdir(), 'lh-bench-fanout-'));
    const database = ctx.databaseUrl ? await benchDatabase(ctx.databaseUrl, 'fanout') : null;
    const hub = await spawnHubProcess(
      {
        ...(database ? { DATABASE_URL: database.url } : { DATA_DIR: dir, DATABASE_URL: '' }),
        ADMIN_API_KEY: `bench-admin-${randomBytes(12).toString('hex')}`,
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        LOG_LEVEL: 'error',
      },
      { seed: { organizations: [{ slug: 'fanout', users: rounds + 1 }] }, nodeArgs: serverArgs() },
    );
    const wsUrl = `${hub.url.replace(/^http/, 'ws')}/graphql`;
    const org = hub.organizations[0]!;
    const subs = await openMany(subscribers, () => openRawSubscriber(wsUrl, org.key, DEPROVISION_SUBSCRIPTION, { o: org.id }));
    ctx.log(`${subscribers} subscribers connected`);
    const deprovision = async (userId: string) => {
      const response = await fetch(`${hub.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${org.key}` },
        body: JSON.stringify({ query: 'mutation($u: ID!) { deprovisionUser(input: { userId: $u }) { user { id } } }', variables: { u: userId } }),
      });
      const body = (await response.json()) as { errors?: unknown[] };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
    };
    /** Sends one deprovision; resolves with [first, last] arrival times relative to the send. */
    const round = async (userId: string) => {
      let received = 0;
      let first = 0;
      let last = 0;
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received} of ${subscribers} subscribers got the event`)), 60_000);
        for (const s of subs) {
          s.onNext = (text, at) => {
            if (!text.includes(userId)) return;
            s.onNext = null;
            if (received === 0) first = at;
            last = at;
            if (++received === subscribers) {
              clearTimeout(timer);
              resolve();
            }
          };
        }
      });
      const t0 = performance.now();
      await deprovision(userId);
      await done;
      return { first: first - t0, last: last - t0 };
    };
    try {
      // Warm-up: every subscription is registered once each has received an event.
      await round(org.userIds[rounds]!);
      const lasts: number[] = [];
      const firsts: number[] = [];
      for (let i = 0; i < rounds; i++) {
        if (ctx.signal.aborted && lasts.length) {
          const sorted = [...lasts].sort((x, y) => x - y);
          throw new BenchAborted(String(ctx.signal.reason), { metrics: { last_received_p50_ms: Math.round(percentile(sorted, 50) * 100) / 100, rounds_measured: lasts.length }, params: { subscribers } });
        }
        checkTime(ctx.signal);
        const r = await round(org.userIds[i]!);
        lasts.push(r.last);
        firsts.push(r.first);
      }
      const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
      const round2 = (n: number) => Math.round(n * 100) / 100;
      return {
        metrics: {
          last_received_p50_ms: round2(percentile(sorted(lasts), 50)),
          last_received_max_ms: round2(Math.max(...lasts)),
          first_received_p50_ms: round2(percentile(sorted(firsts), 50)),
        },
        params: { subscribers, rounds, hubProcess: 'separate', loadProcess: 'this one (raw ws clients)' },
        notes: 'last_received: trigger (deprovisionUser mutation) sent → the last of the subscribers has the event.',
      };
    } finally {
      for (const s of subs) s.close();
      await hub.stop();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
