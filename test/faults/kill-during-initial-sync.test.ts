// kill -9 of the hub in the middle of an Okta-shaped SCIM initial sync, then a restart on the same
// data: every write acknowledged with 2xx is there, nothing is half-applied (a POST /Groups with
// members is all or nothing, each user, group and membership has its audit row and lifecycle
// event), the audit chain verifies, and a subscriber resuming with `after` gets every committed
// event exactly once. On PGlite (DATA_DIR on disk) and on a PostgreSQL cluster of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnHubProcess, type HubProcess } from '../support/hub-process.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { LIFECYCLE_QUERY, subscribeSse } from '../streams/support.ts';
import { checkConsistency } from './consistency.ts';
import { createPostgresCluster, findPostgresBin, type PostgresCluster } from './postgres-cluster.ts';
import { ScimLoad } from './scim-load.ts';
import { drainTo, graphql, hubEnv, runSeed } from './support.ts';

const KILL_AFTER = Number(process.env.FAULTS_KILL_AFTER ?? 150);
const CLIENTS = 6;

const cleanup: (() => void | Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const postgres = findPostgresBin();

describe.each(['pglite', 'postgres'] as const)('kill -9 during a SCIM initial sync, on %s', (kind) => {
  it.skipIf(kind === 'postgres' && 'missing' in postgres)(
    'keeps every acknowledged write, applies nothing by half, and resumes the event stream without loss or duplicate',
    async () => {
      const seed = runSeed();
      console.log(`[faults] kill -9 on ${kind}: seed ${seed} (replay with FAULTS_SEED=${seed}), kill after ${KILL_AFTER} acknowledged writes, ${CLIENTS} clients`);
      let database: Record<string, string>;
      let cluster: PostgresCluster | null = null;
      if (kind === 'pglite') {
        const dataDir = mkdtempSync(join(tmpdir(), 'lh-faults-pglite-'));
        cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
        database = { DATA_DIR: dataDir };
      } else {
        cluster = await createPostgresCluster((postgres as { bin: string }).bin);
        cleanup.push(() => cluster!.destroy());
        database = { DATABASE_URL: cluster.url };
      }
      const env = hubEnv(database);
      let hub: HubProcess = await spawnHubProcess(env, { seed: { organizations: [{ slug: 'crash', users: 0, source: 'scim' }] } });
      cleanup.push(() => hub.kill());
      const org = hub.organizations[0]!;

      const live = await subscribeSse<{ id: string }>(hub.url, org.key, LIFECYCLE_QUERY, { o: org.id }, 'lifecycleEvents');
      let killed = false;
      const load = new ScimLoad(org.scim!.baseUrl, org.scim!.token, seed, {
        onAck: (acked) => {
          if (acked >= KILL_AFTER && !killed) {
            killed = true;
            load.halt();
            hub.child.kill('SIGKILL');
          }
        },
      });
      load.start(CLIENTS);
      await load.finished();
      await hub.kill();
      const inFlight = load.answers.filter((a) => a.status === 'network').length;
      const seenBeforeKill = live.items.map((e) => e.id);
      live.dispose();
      console.log(`[faults] ${kind}: ${load.acked} writes acknowledged before the kill (${load.users.size} users, ${load.groups.size} groups, ${load.acked - load.users.size - load.groups.size} member PATCHes); ${inFlight} requests in flight; ${seenBeforeKill.length} events seen live`);
      expect(killed).toBe(true);
      console.log(`[faults] ${kind}: answers before the kill ${JSON.stringify(load.statuses)}`);

      hub = await spawnHubProcess(env);
      // An identity provider retries the POSTs whose answer it lost: each is created now (201) or was
      // committed before the kill (409 uniqueness), never both nor an error.
      load.setBaseUrl(`${hub.url}/scim/v2/${org.connectionId}`);
      const retried = { created: 0, alreadyThere: 0 };
      for (const userName of load.unknownUsers) {
        const answer = await load.retryUser(userName);
        expect([201, 409], JSON.stringify(answer)).toContain(answer.status);
        if (answer.status === 201) {
          load.users.set(userName, answer.body.id);
          retried.created++;
        } else {
          expect(answer.body.scimType).toBe('uniqueness');
          retried.alreadyThere++;
        }
      }

      const after = seenBeforeKill.at(-1);
      const resumed = await subscribeSse<{ id: string }>(hub.url, org.key, LIFECYCLE_QUERY, { o: org.id, ...(after ? { after } : {}) }, 'lifecycleEvents');
      await drainTo(hub, org.key, org.id, resumed);
      const received = [...seenBeforeKill, ...resumed.items.map((e) => e.id)];
      resumed.dispose();
      const verified = await graphql(hub, org.key, 'query($o: ID!) { verifyAuditChain(organizationId: $o) { ok checked reason } }', { o: org.id });
      await hub.stop();

      const db = await openDatabase(kind === 'pglite' ? { dataDir: database.DATA_DIR } : { url: cluster!.url, poolSize: 2 });
      const report = await checkConsistency(db.sql, org.id, org.connectionId, load).finally(() => db.close());
      console.log(
        `[faults] ${kind} after restart: ${report.users} users, ${report.groups} groups, ${report.memberships} memberships, ${report.events} events, ${report.auditRows} audit rows; ` +
          `lost ${report.lost.length}, half-applied ${report.halfApplied.length}, unrecorded ${report.unrecorded.length}; retried lost-answer POST /Users: ${retried.created} created, ${retried.alreadyThere} already committed; ` +
          `events received live ${seenBeforeKill.length} + on resume ${received.length - seenBeforeKill.length}`,
      );

      expect(report.lost).toEqual([]);
      expect(report.halfApplied).toEqual([]);
      expect(report.unrecorded).toEqual([]);
      expect(report.auditChain).toMatchObject({ ok: true });
      expect(verified.body.data?.verifyAuditChain, JSON.stringify(verified.body)).toMatchObject({ ok: true });
      // The stream: every committed event once, in order, across the crash.
      expect(received).toEqual(report.eventIds);
      expect(report.users).toBeGreaterThanOrEqual(load.users.size);
    },
    240_000,
  );
});
