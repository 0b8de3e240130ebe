// Deprovision, end to end: the trigger is sent → the deprovision event arrives at a graphql-ws
// subscriber, one deprovision at a time, with 1,000 idle subscribers connected (subscribed to other
// organizations' deprovisions) and a background of other SCIM writes: a steady stream of
// `PATCH /Users/<id>` profile updates (title) into another organization's SCIM connection at a
// bounded rate (BENCH_BACKGROUND_WRITES_PER_S, default 100/s, at most 8 in flight), whose achieved rate is
// reported. The hub runs in its own process; this process is the load.
//
// Trigger: `PATCH /scim/v2/<connectionId>/Users/<id>` with `active: false`, as Okta deactivates a
// user (the default), or BENCH_DEPROVISION_TRIGGER=graphql for the `deprovisionUser` mutation.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
// undici's request (keep-alive, the global dispatcher) rather than fetch: the load generator shares
// the 2 cores with the hub, and fetch's own CPU would sit inside every measured latency.
import { request } from 'undici';
import WebSocket from 'ws';
import { spawnHubProcess, type HubProcess } from '../test/support/hub-process.ts';
import type { SeededOrganization } from '../test/support/serve-hub.ts';
import { benchDatabase, serverArgs } from './support.ts';
import { BenchAborted, checkTime, summarize, type Benchmark } from './types.ts';
import { DEPROVISION_SUBSCRIPTION, openMany, openRawSubscriber } from './ws-load.ts';

type Trigger = (hub: HubProcess, org: SeededOrganization, userId: string, index: number) => Promise<void>;

const triggers: Record<string, Trigger> = {
  async graphql(hub, org, userId) {
    const response = await request(`${hub.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${org.key}` },
      body: JSON.stringify({ query: 'mutation($u: ID!) { deprovisionUser(input: { userId: $u }) { user { id } } }', variables: { u: userId } }),
    });
    const body = (await response.body.json()) as { errors?: unknown[] };
    if (body.errors) throw new Error(`deprovisionUser failed: ${JSON.stringify(body.errors)}`);
  },
  async scim(_hub, org, userId) {
    const response = await request(`${org.scim!.baseUrl}/Users/${userId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/scim+json', authorization: `Bearer ${org.scim!.token}` },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] }),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200 && response.statusCode !== 204) throw new Error(`SCIM PATCH failed: ${response.statusCode} ${text}`);
  },
};

export const deprovisionLatency: Benchmark = {
  name: 'deprovision end to end: trigger sent → graphql-ws subscriber receives the event',
  timeLimitSeconds: 180,
  targets: [{ metric: 'p99_ms', op: '<=', value: 20, databases: ['postgres'], label: 'deprovision p99 ≤ 20 ms on PostgreSQL' }],
  async run(ctx) {
    const deprovisions = ctx.quick ? 50 : 1_000;
    const idle = ctx.quick ? 50 : 1_000;
    const idleOrganizations = 20;
    const triggerName = process.env.BENCH_DEPROVISION_TRIGGER ?? 'scim';
    const trigger = triggers[triggerName];
    if (!trigger) throw new Error(`unknown BENCH_DEPROVISION_TRIGGER ${triggerName}: one of ${Object.keys(triggers).join(', ')}`);

    const backgroundUsers = ctx.quick ? 50 : 200;
    const backgroundRate = Number(process.env.BENCH_BACKGROUND_WRITES_PER_S ?? (ctx.quick ? 20 : 100));

    const dir = mkdtempSync(join(tmpdir(), 'lh-bench-latency-'));
    const database = ctx.databaseUrl ? await benchDatabase(ctx.databaseUrl, 'latency') : null;
    const hub = await spawnHubProcess(
      {
        ...(database ? { DATABASE_URL: database.url } : { DATA_DIR: dir, DATABASE_URL: '' }),
        ADMIN_API_KEY: `bench-admin-${randomBytes(12).toString('hex')}`,
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        LOG_LEVEL: 'error',
      },
      {
        nodeArgs: serverArgs(),
        seed: {
          organizations: [
            { slug: 'latency', users: deprovisions, source: triggerName === 'scim' ? 'scim' : 'test' },
            { slug: 'background', users: backgroundUsers, source: 'scim' },
            ...Array.from({ length: idleOrganizations }, (_, i) => ({ slug: `idle${i}`, users: 0 })),
          ],
        },
      },
    );
    const wsUrl = `${hub.url.replace(/^http/, 'ws')}/graphql`;
    const [org, background, ...others] = hub.organizations;
    const idleSubscribers = await openMany(idle, (i) => {
      const other = others[i % others.length]!;
      return openRawSubscriber(wsUrl, other.key, DEPROVISION_SUBSCRIPTION, { o: other.id });
    });
    ctx.log(`${idle} idle subscribers connected`);

    // The measuring subscriber: graphql-ws's own client.
    const arrivals = new Map<string, (at: number, event: { receivedAt: string; enforcedAt: string }) => void>();
    const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${org!.key}` }, retryAttempts: 0 });
    let subscribed!: () => void;
    const ready = new Promise<void>((r) => (subscribed = r));
    const unsubscribe = client.subscribe<{ deprovisionEvents: { user: { id: string }; receivedAt: string; enforcedAt: string } }>(
      { query: DEPROVISION_SUBSCRIPTION, variables: { o: org!.id } },
      {
        next: (result) => {
          const at = performance.now();
          const event = result.data!.deprovisionEvents;
          arrivals.get(event.user.id)?.(at, event);
        },
        error: (error) => process.stderr.write(`measuring subscription failed: ${JSON.stringify(error)}\n`),
        complete: () => {},
      },
    );
    client.on('connected', () => setTimeout(subscribed, 200));
    await ready;

    // The background writer: SCIM profile updates into another organization, sent on a fixed
    // schedule (backgroundRate per second) with at most BACKGROUND_IN_FLIGHT outstanding; a tick
    // that finds them all outstanding is skipped (counted), so the load stays bounded.
    const BACKGROUND_IN_FLIGHT = 8;
    const writer = { writes: 0, throttled: 0, skipped: 0, failures: [] as string[], startedAt: performance.now(), stoppedAt: 0, sent: 0 };
    const pending = new Set<Promise<void>>();
    const sendBackground = async (k: number) => {
      const userId = background!.userIds[k % backgroundUsers]!;
      try {
        const response = await request(`${background!.scim!.baseUrl}/Users/${userId}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/scim+json', authorization: `Bearer ${background!.scim!.token}` },
          body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: `Title ${k}` }] }),
        });
        await response.body.dump();
        if (response.statusCode === 200 || response.statusCode === 204) writer.writes++;
        else if (response.statusCode === 429 || response.statusCode === 503) writer.throttled++;
        else writer.failures.push(`${response.statusCode}`);
      } catch (error) {
        writer.failures.push((error as Error).message);
      }
    };
    const ticker =
      backgroundRate > 0
        ? setInterval(() => {
            // Catch up with the schedule (timers drift under load), within the in-flight bound.
            const due = Math.floor(((performance.now() - writer.startedAt) / 1000) * backgroundRate);
            while (writer.sent < due) {
              const k = writer.sent++;
              if (pending.size >= BACKGROUND_IN_FLIGHT) {
                writer.skipped++;
                continue;
              }
              const p: Promise<void> = sendBackground(k).finally(() => pending.delete(p));
              pending.add(p);
            }
          }, 10)
        : undefined;
    const stopBackground = async () => {
      if (ticker) clearInterval(ticker);
      if (!writer.stoppedAt) writer.stoppedAt = performance.now();
      await Promise.all(pending);
    };

    try {
      const endToEnd: number[] = [];
      const engine: number[] = [];
      for (let i = 0; i < deprovisions; i++) {
        if (ctx.signal.aborted) throw new BenchAborted(String(ctx.signal.reason), { metrics: { ...summarize(endToEnd), measured: endToEnd.length }, params: { deprovisions, idleSubscribers: idle } });
        const userId = org!.userIds[i]!;
        const arrived = new Promise<{ at: number; event: { receivedAt: string; enforcedAt: string } }>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`deprovision ${i} never reached the subscriber`)), 30_000);
          arrivals.set(userId, (at, event) => {
            clearTimeout(timer);
            resolve({ at, event });
          });
        });
        const t0 = performance.now();
        await trigger(hub, org!, userId, i);
        const { at, event } = await arrived;
        arrivals.delete(userId);
        endToEnd.push(at - t0);
        engine.push(new Date(event.enforcedAt).getTime() - new Date(event.receivedAt).getTime());
        if ((i + 1) % 250 === 0) ctx.log(`${i + 1}/${deprovisions} deprovisions`);
      }
      await stopBackground();
      if (writer.failures.length) throw new Error(`${writer.failures.length} background SCIM writes failed, e.g. ${writer.failures.slice(0, 3).join(', ')}`);
      const e = summarize(engine);
      return {
        metrics: {
          ...summarize(endToEnd),
          engine_p50_ms: e.p50_ms,
          engine_p99_ms: e.p99_ms,
          background_writes_per_s: Math.round((writer.writes / (writer.stoppedAt - writer.startedAt)) * 1000),
          background_throttled: writer.throttled,
          background_skipped: writer.skipped,
        },
        params: { deprovisions, idleSubscribers: idle, idleOrganizations, trigger: triggerName, backgroundTargetWritesPerS: backgroundRate, backgroundMaxInFlight: BACKGROUND_IN_FLIGHT, backgroundUsers, hubProcess: 'separate', loadProcess: 'this one' },
        notes: 'p*_ms: trigger sent → event received by a graphql-ws subscriber; engine_*: enforcedAt − receivedAt (ms resolution). One deprovision at a time, while SCIM PATCHes to another organization run in the background (background_writes_per_s achieved).',
      };
    } finally {
      await stopBackground();
      unsubscribe();
      await client.dispose();
      for (const s of idleSubscribers) s.close();
      await hub.stop();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
