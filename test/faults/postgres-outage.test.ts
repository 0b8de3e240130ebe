// PostgreSQL stopped (pg_ctl stop -m immediate) and restarted under SCIM, GraphQL and webhook load,
// with the hub process left running: while the database is down every answer is a retryable,
// protocol-correct error (SCIM 503/429 with Retry-After in the SCIM error schema, GraphQL errors with
// a code, webhook 503 with Retry-After, which vendors retry), never a 500, a dropped connection or a
// hang; afterwards the same process serves again (the pool reconnects) and every acknowledged write
// is there, nothing half-applied, and every retried delivery applied once. A graphql-ws subscriber
// connected through it all stays connected and receives every committed event once, in order.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHubProcess, type HubProcess } from '../support/hub-process.ts';
import { DATABASE_RETRY_AFTER_SECONDS } from '../../src/storage/sql.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { LIFECYCLE_QUERY, subscribeWs, wsClient } from '../streams/support.ts';
import { deliverWorkos, workosEvent, workosUser } from '../support/vendors/workos.ts';
import { checkConsistency } from './consistency.ts';
import { createPostgresCluster, findPostgresBin, type PostgresCluster } from './postgres-cluster.ts';
import { ERROR_SCHEMA, ScimLoad } from './scim-load.ts';
import { drainTo, graphql, hubEnv, runSeed } from './support.ts';

// Longer than the pool's 5 s connection timeout, so a request caught waiting for a connection
// when PostgreSQL stops still fails inside the outage (and is answered 503) rather than after it.
const OUTAGE_MS = 7_000;
const postgres = findPostgresBin();
if ('missing' in postgres) console.warn(`[faults] PostgreSQL outage test skipped: ${postgres.missing}`);

let cluster: PostgresCluster;
let hub: HubProcess;
const workos = { connectionId: '', secret: randomBytes(24).toString('hex') };

beforeAll(async () => {
  if ('missing' in postgres) return;
  cluster = await createPostgresCluster(postgres.bin);
  const env = hubEnv({ DATABASE_URL: cluster.url, DATABASE_POOL_SIZE: '6' });
  hub = await spawnHubProcess(env, { seed: { organizations: [{ slug: 'outage', users: 20, source: 'scim' }] } });
  // A WorkOS directory in the same organization: its deliveries share the pool and the audit chain.
  const { body } = await graphql(hub, env.ADMIN_API_KEY!, 'mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "workos", name: "WorkOS", config: $c }) { connection { id } } }', {
    o: hub.organizations[0]!.id,
    c: { webhookSecret: workos.secret, apiKey: 'sk_test_outage' },
  });
  workos.connectionId = body.data?.createDirectoryConnection?.connection?.id;
  if (!workos.connectionId) throw new Error(`could not create the WorkOS connection: ${JSON.stringify(body.errors)}`);
});

interface WebhookAnswer {
  status: number | 'network';
  retryAfter: string | null;
  body: unknown;
  at: number;
}

/** Signed WorkOS `dsync.user.created` deliveries, one at a time, each retried until a 2xx as WorkOS does (sooner: 200 ms). */
class WebhookLoad {
  readonly answers: WebhookAnswer[] = [];
  readonly acknowledged: string[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;
  constructor(private readonly url: string) {}
  start() {
    this.running = (async () => {
      for (let i = 0; !this.stopped; i++) {
        const user = workosUser({ directoryId: 'directory_01OUTAGE000000000000000000', email: `joiner${i}@outage.example`, firstName: 'Joiner', lastName: String(i), updatedAt: '2026-01-01T00:00:00.000Z' });
        const event = workosEvent('dsync.user.created', user);
        for (;;) {
          let answer: WebhookAnswer;
          try {
            answer = { ...(await deliverWorkos(this.url, event, workos.secret, { signal: AbortSignal.timeout(60_000) })), at: Date.now() };
          } catch {
            answer = { status: 'network', retryAfter: null, body: null, at: Date.now() };
          }
          this.answers.push(answer);
          if (typeof answer.status === 'number' && answer.status < 300) break;
          // Once told to stop, a delivery never acknowledged is left unsent: not counted as acknowledged.
          if (this.stopped) return;
          await new Promise((r) => setTimeout(r, 200));
        }
        this.acknowledged.push(user.id);
      }
    })();
  }
  async stop() {
    this.stopped = true;
    await this.running;
  }
}

afterAll(async () => {
  await hub?.kill();
  cluster?.destroy();
});

interface GraphQLAnswer {
  status: number | 'network';
  codes: string[];
  ok: boolean;
  at: number;
}

const USERS_PAGE = `query($o: ID!) { organization(id: $o) { users(first: 20) { edges { node { id userName state } } } } }`;
const DEPROVISION = `mutation($u: ID!) { deprovisionUser(input: { userId: $u }) { user { id state } } }`;

describe.skipIf('missing' in postgres)('PostgreSQL stopped and restarted under load', () => {
  it('answers retryable errors during the outage, recovers without a hub restart, and loses nothing acknowledged', async () => {
    const seed = runSeed();
    console.log(`[faults] PostgreSQL outage: seed ${seed} (replay with FAULTS_SEED=${seed}), outage ${OUTAGE_MS} ms`);
    const org = hub.organizations[0]!;
    const load = new ScimLoad(org.scim!.baseUrl, org.scim!.token, seed, { pauseAfterFailureMs: 200, requestTimeoutMs: 60_000 });
    const gqlAnswers: GraphQLAnswer[] = [];
    const deprovisioned = new Set<string>();
    let stopGraphQL = false;
    const graphqlClient = async (k: number) => {
      for (let i = 0; !stopGraphQL; i++) {
        const mutation = k === 0 && i % 4 === 3 && deprovisioned.size < org.userIds.length;
        const userId = org.userIds[deprovisioned.size]!;
        try {
          const { status, body } = mutation ? await graphql(hub, org.key, DEPROVISION, { u: userId }) : await graphql(hub, org.key, USERS_PAGE, { o: org.id });
          const codes = (body.errors ?? []).map((e) => String(e.extensions?.code));
          gqlAnswers.push({ status, codes, ok: status === 200 && !body.errors, at: Date.now() });
          if (mutation && !body.errors) deprovisioned.add(userId);
          if (body.errors) await new Promise((r) => setTimeout(r, 200));
        } catch {
          gqlAnswers.push({ status: 'network', codes: [], ok: false, at: Date.now() });
        }
      }
    };

    // Subscribed from the current position before any load: it must see every event from here on.
    const start = (await graphql(hub, org.key, 'query($o: ID!) { latestLifecycleEventId(organizationId: $o) }', { o: org.id })).body.data?.latestLifecycleEventId as string | null;
    let subscriberClosed: { code: number; reason: string } | null = null;
    const subscriberClient = wsClient(hub.url, org.key, { onClosed: (event) => (subscriberClosed = event) });
    const stream = subscribeWs<{ id: string }>(subscriberClient, LIFECYCLE_QUERY, { o: org.id, ...(start ? { after: start } : {}) }, 'lifecycleEvents');

    load.start(4);
    const graphqlClients = [graphqlClient(0), graphqlClient(1)];
    const webhooks = new WebhookLoad(`${hub.url}/webhooks/${workos.connectionId}`);
    webhooks.start();
    const until = async (condition: () => boolean, what: string, timeoutMs = 90_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) {
          const last = { scim: load.answers.slice(-3), graphql: gqlAnswers.slice(-3) };
          throw new Error(`timed out waiting for ${what}: SCIM ${JSON.stringify(load.statuses)}, last ${JSON.stringify(last)}\nhub output:\n${hub.output().slice(-3000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(() => load.acked >= 60 && webhooks.acknowledged.length >= 10, '60 acknowledged SCIM writes and 10 webhook deliveries before the outage');
    const before = { acked: load.acked, answers: load.answers.length, graphql: gqlAnswers.length, webhooks: webhooks.answers.length };

    cluster.crash();
    const downAt = Date.now();
    // A subscription opened now cannot replay: it is refused with a retryable code, on a socket
    // that stays open (the client resubscribes with `after` later).
    await new Promise((r) => setTimeout(r, 500));
    let lateClosed: { code: number; reason: string } | null = null;
    const lateClient = wsClient(hub.url, org.key, { onClosed: (event) => (lateClosed = event) });
    const late = subscribeWs<{ id: string }>(lateClient, LIFECYCLE_QUERY, { o: org.id, after: start ?? '0' }, 'lifecycleEvents');
    const lateError = await late.waitForError(OUTAGE_MS);
    const lateClosedBeforeDispose = lateClosed;
    await lateClient.dispose();
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
    const duringOutage = { scim: load.answers.slice(before.answers), graphql: gqlAnswers.slice(before.graphql), webhooks: webhooks.answers.slice(before.webhooks) };
    cluster.start();
    const upAt = Date.now();

    // Recovery without restarting the hub: new SCIM writes and GraphQL reads succeed again.
    const ackedAtRestart = load.acked;
    const graphqlAtRestart = gqlAnswers.length;
    await until(() => load.acked >= ackedAtRestart + 40, '40 acknowledged SCIM writes after PostgreSQL came back');
    await until(() => gqlAnswers.slice(graphqlAtRestart).filter((a) => a.ok).length >= 5, '5 successful GraphQL answers after PostgreSQL came back');
    const webhooksAtRestart = webhooks.acknowledged.length;
    await until(() => webhooks.acknowledged.length >= webhooksAtRestart + 10, '10 acknowledged webhook deliveries after PostgreSQL came back');
    await webhooks.stop();
    await load.stop();
    stopGraphQL = true;
    await Promise.all(graphqlClients);
    const streamedUpTo = await drainTo(hub, org.key, org.id, stream);

    const scimFailures = load.answers.filter((a) => a.status === 'network' || (a.status as number) >= 300);
    const gqlFailures = gqlAnswers.filter((a) => !a.ok);
    const webhookFailures = webhooks.answers.filter((a) => a.status === 'network' || a.status >= 300);
    const slowest = Math.max(...load.answers.map((a) => a.ms));
    console.log(
      `[faults] PostgreSQL outage (${upAt - downAt} ms): SCIM answers ${JSON.stringify(load.statuses)}, ${duringOutage.scim.length} during the outage; ` +
        `GraphQL answers ${gqlAnswers.length}, failed ${gqlFailures.length} with codes ${JSON.stringify([...new Set(gqlFailures.flatMap((a) => a.codes.length ? a.codes : [String(a.status)]))])}; ` +
        `writes acknowledged ${before.acked} before, ${load.acked - before.acked} during and after; slowest SCIM answer ${Math.round(slowest)} ms; deprovisions acknowledged ${deprovisioned.size}; ` +
        `webhook deliveries acknowledged ${webhooks.acknowledged.length} after ${webhooks.answers.length} attempts (${duringOutage.webhooks.length} during the outage), failed answers ${JSON.stringify([...new Set(webhookFailures.map((a) => a.status))])}`,
    );

    // The outage was seen (or this test proves nothing) and answered as the protocols say.
    expect(scimFailures.length).toBeGreaterThan(0);
    for (const failure of scimFailures) {
      expect(failure.status, JSON.stringify(failure)).not.toBe('network');
      expect([503, 429], JSON.stringify(failure)).toContain(failure.status);
      expect(failure.retryAfter, JSON.stringify(failure)).toMatch(/^\d+$/);
      // One wait for "the database is unreachable", whichever layer noticed (SCIM route or engine).
      if (failure.status === 503) expect(failure.retryAfter, JSON.stringify(failure)).toBe(String(DATABASE_RETRY_AFTER_SECONDS));
      expect(failure.body?.schemas, JSON.stringify(failure)).toEqual([ERROR_SCHEMA]);
    }
    expect(late.items).toEqual([]);
    expect(lateClosedBeforeDispose).toBeNull();
    const lateCodes = (Array.isArray(lateError) ? lateError : [lateError]).map((e: { extensions?: { code?: string } }) => e?.extensions?.code);
    expect(lateCodes, JSON.stringify(lateError)).toEqual(['UNAVAILABLE']);
    expect(gqlFailures.length).toBeGreaterThan(0);
    for (const failure of gqlFailures) {
      expect(failure.status, JSON.stringify(failure)).not.toBe('network');
      expect(failure.status, JSON.stringify(failure)).toBeLessThan(500);
      expect(failure.codes.length, JSON.stringify(failure)).toBeGreaterThan(0);
      for (const code of failure.codes) expect(['UNAVAILABLE'], JSON.stringify(failure)).toContain(code);
    }
    expect(webhookFailures.length).toBeGreaterThan(0);
    for (const failure of webhookFailures) {
      expect(failure.status, JSON.stringify(failure)).toBe(503);
      expect(failure.retryAfter, JSON.stringify(failure)).toBe(String(DATABASE_RETRY_AFTER_SECONDS));
      expect(failure.body, JSON.stringify(failure)).toMatchObject({ error: 'unavailable' });
    }
    expect(hub.child.exitCode).toBeNull();

    const db = await openDatabase({ url: cluster.url, poolSize: 2, migrate: false });
    try {
      const report = await checkConsistency(db.sql, org.id, org.connectionId, load);
      console.log(`[faults] after the outage: ${report.users} users, ${report.groups} groups, ${report.memberships} memberships, ${report.events} events; lost ${report.lost.length}, half-applied ${report.halfApplied.length}, unrecorded ${report.unrecorded.length}`);
      expect(report.lost).toEqual([]);
      expect(report.halfApplied).toEqual([]);
      expect(report.unrecorded).toEqual([]);
      expect(report.auditChain).toMatchObject({ ok: true });
      // The subscriber neither failed nor was cut off, and got exactly what was committed after it
      // subscribed (the outage included), each once, in order.
      expect(stream.errors).toEqual([]);
      expect(stream.completed).toBe(false);
      expect(subscriberClosed).toBeNull();
      const committed = report.eventIds.filter((id) => BigInt(id) > BigInt(start ?? 0));
      console.log(`[faults] the graphql-ws subscriber received ${stream.items.length} events of ${committed.length} committed after it subscribed`);
      expect(committed.at(-1)).toBe(streamedUpTo);
      expect(stream.items.map((e) => e.id)).toEqual(committed);
      const states = await db.sql.query<{ id: string; state: string }>('SELECT id, state FROM directory_user WHERE id = ANY($1::uuid[])', [[...deprovisioned]]);
      expect(states.map((s) => s.state)).toEqual(states.map(() => 'DEPROVISIONED'));
      expect(states.length).toBe(deprovisioned.size);
      // Every acknowledged delivery applied, and each once however often it was retried: one user,
      // one user.provisioned event and one audit row per WorkOS user.
      const joiners = await db.sql.query<{ sourceId: string; events: number; audits: number }>(
        `SELECT u.source_id AS "sourceId",
                (SELECT count(*)::int FROM lifecycle_event e WHERE e.user_id = u.id AND e.type = 'user.provisioned') AS events,
                (SELECT count(*)::int FROM audit_event a WHERE a.target_id = u.id::text AND a.action = 'user.provisioned') AS audits
           FROM directory_user u WHERE u.connection_id = $1`,
        [workos.connectionId],
      );
      expect(joiners.map((j) => j.sourceId).sort()).toEqual([...webhooks.acknowledged].sort());
      for (const joiner of joiners) expect(joiner, JSON.stringify(joiner)).toMatchObject({ events: 1, audits: 1 });
    } finally {
      await db.close();
      stream.dispose();
      await subscriberClient.dispose();
    }
  });
});
