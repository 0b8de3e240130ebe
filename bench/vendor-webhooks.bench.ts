// Vendor webhooks end to end: a hub in its own process (src/hub/main.ts) receives signed WorkOS and
// Stytch deliveries over HTTP from this process, 16 at a time — signature verification by the
// vendor's SDK/library, translation, and the engine's commit. Three runs: WorkOS joiners
// (dsync.user.created), Stytch joiners (scim.member.create), WorkOS leavers (dsync.user.deleted:
// deprovision with a session to revoke each).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ORGANIZATION, TEST_PROJECT, signStytchDelivery, stytchEvent, stytchMember, svixSecret } from '../test/support/vendors/stytch.ts';
import { signWorkosDelivery, workosEvent, workosUser } from '../test/support/vendors/workos.ts';
import { checkTime, summarize, type Benchmark } from './types.ts';
import { startCommand } from '../scripts/build.ts';
import { freePort, serverArgs } from './support.ts';

const CONCURRENCY = 16;


async function run(signal: AbortSignal, count: number, send: (i: number) => Promise<number>) {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        checkTime(signal);
        const i = next++;
        const t0 = performance.now();
        if ((await send(i)) !== 200) failures++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (failures) throw new Error(`${failures} of ${count} deliveries were not accepted`);
  return { per_s: Math.round(count / seconds), ...summarize(latencies) };
}

export const vendorWebhooks: Benchmark = {
  name: 'webhooks: WorkOS and Stytch signed deliveries over HTTP (hub in its own process, 16 concurrent)',
  timeLimitSeconds: 120,
  async run(ctx) {
    const count = ctx.quick ? 100 : 1_000;
    const dir = mkdtempSync(join(tmpdir(), 'lh-bench-hub-'));
    const port = await freePort();
    const adminKey = `bench-admin-${randomBytes(16).toString('hex')}`;
    const child = spawn(process.execPath, [...serverArgs(), ...(await startCommand())], {
      cwd: join(import.meta.dirname, '..'),
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        ADMIN_API_KEY: adminKey,
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        LOG_LEVEL: 'error',
        ...(ctx.databaseUrl ? { DATABASE_URL: ctx.databaseUrl } : { DATABASE_URL: '' }),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; ; i++) {
        if (child.exitCode !== null) throw new Error(`the hub exited with ${child.exitCode}`);
        const ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
        if (ready) break;
        if (i > 600) throw new Error('the hub did not become ready in 60 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      const gql = async (query: string, variables: Record<string, unknown>) => {
        const response = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` }, body: JSON.stringify({ query, variables }) });
        const body = (await response.json()) as { data: any; errors?: unknown[] };
        if (body.errors) throw new Error(JSON.stringify(body.errors));
        return body.data;
      };
      const { createOrganization } = await gql('mutation($s: String!) { createOrganization(input: { name: "Bench", slug: $s }) { organization { id } } }', { s: `bench-${randomBytes(4).toString('hex')}` });
      const organizationId = createOrganization.organization.id;
      const connect = async (provider: string, config: Record<string, unknown>) =>
        (await gql('mutation($o: ID!, $p: String!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: $p, name: $p, config: $c }) { connection { id } } }', { o: organizationId, p: provider, c: config }))
          .createDirectoryConnection.connection.id as string;
      const workosSecret = randomBytes(24).toString('hex');
      const stytchSecret = svixSecret();
      const workosConnection = await connect('workos', { webhookSecret: workosSecret, apiKey: 'sk_test_bench' });
      const stytchConnection = await connect('stytch', { webhookSigningSecret: stytchSecret, projectId: TEST_PROJECT, secret: 'secret-test-bench', stytchOrganizationId: TEST_ORGANIZATION });
      const post = async (connectionId: string, body: string, headers: Record<string, string>) => {
        const response = await fetch(`${base}/webhooks/${connectionId}`, { method: 'POST', headers, body });
        await response.arrayBuffer();
        return response.status;
      };

      const directoryId = 'directory_01BENCH0000000000000000000';
      const users = Array.from({ length: count }, (_, i) => workosUser({ directoryId, email: `joiner${i}@bench.example`, firstName: 'Joiner', lastName: String(i), updatedAt: '2026-01-01T00:00:00.000Z' }));
      ctx.log(`WorkOS joiners: ${count} dsync.user.created`);
      const workosJoiners = await run(ctx.signal, count, (i) => {
        const body = JSON.stringify(workosEvent('dsync.user.created', users[i]));
        return post(workosConnection, body, signWorkosDelivery(body, workosSecret));
      });

      ctx.log(`Stytch joiners: ${count} scim.member.create`);
      const stytchJoiners = await run(ctx.signal, count, (i) => {
        const member = stytchMember({ email: `member${i}@bench.example`, name: `Member ${i}`, updatedAt: '2026-01-01T00:00:00Z' });
        const body = JSON.stringify(stytchEvent({ objectType: 'member', action: 'CREATE', id: member.member_id, entity: member }));
        return post(stytchConnection, body, signStytchDelivery(body, stytchSecret));
      });

      ctx.log(`WorkOS leavers: ${count} dsync.user.deleted (each with a session to revoke)`);
      const idOf = new Map<string, string>();
      for (let after: string | null = null; ; ) {
        const { organization } = await gql('query($o: ID!, $c: ID!, $a: String) { organization(id: $o) { users(connectionId: $c, first: 100, after: $a) { edges { node { id sourceId } } pageInfo { hasNextPage endCursor } } } }', { o: organizationId, c: workosConnection, a: after });
        for (const e of organization.users.edges as Array<{ node: { id: string; sourceId: string } }>) idOf.set(e.node.sourceId, e.node.id);
        if (!organization.users.pageInfo.hasNextPage) break;
        after = organization.users.pageInfo.endCursor;
      }
      for (let i = 0; i < count; i += 50) {
        await Promise.all(users.slice(i, i + 50).map((u) => gql('mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "web" }) { session { id } } }', { u: idOf.get(u.id) })));
      }
      const workosLeavers = await run(ctx.signal, count, (i) => {
        const body = JSON.stringify(workosEvent('dsync.user.deleted', { ...users[i], state: 'inactive', updated_at: '2026-01-02T00:00:00.000Z' }));
        return post(workosConnection, body, signWorkosDelivery(body, workosSecret));
      });

      const prefixed = (prefix: string, m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [`${prefix}_${k}`, v]));
      return {
        metrics: { ...prefixed('workos_joiners', workosJoiners), ...prefixed('stytch_joiners', stytchJoiners), ...prefixed('workos_leavers', workosLeavers) },
        params: { deliveries_per_run: count, concurrency: CONCURRENCY },
        notes: 'Load from a separate process on 127.0.0.1; each delivery is one signed HTTP POST, verified by the vendor SDK/library and committed by the engine.',
      };
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
