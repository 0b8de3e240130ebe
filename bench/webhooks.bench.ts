// Outbound webhooks, end to end: a SCIM write is sent → its signed webhook is answered 2xx by a
// receiver on 127.0.0.1 (p50/p99, one write at a time, one endpoint); then deliveries per second with
// 10 endpoints of one organization (each write fans out to all 10), writes 8 at a time. The hub runs
// in its own process; this process is the load and the receiver.
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { spawnHubProcess } from '../test/support/hub-process.ts';
import { benchDatabase, serverArgs } from './support.ts';
import { BenchAborted, summarize, type Benchmark } from './types.ts';

export const webhookDelivery: Benchmark = {
  name: 'outbound webhooks: SCIM write → receiver 2xx, and deliveries per second to 10 endpoints',
  timeLimitSeconds: 240,
  async run(ctx) {
    const sequential = ctx.quick ? 30 : 300;
    const fanOutWrites = ctx.quick ? 50 : 500;
    const ENDPOINTS = 10;
    const dir = mkdtempSync(join(tmpdir(), 'lh-bench-webhooks-'));
    const database = ctx.databaseUrl ? await benchDatabase(ctx.databaseUrl, 'webhooks') : null;

    // The receiver: answers 204 at once; reports each provisioned userName with its arrival time.
    const arrivals = new Map<string, (at: number) => void>();
    let received = 0;
    const seen = new Set<string>();
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(204).end();
        const key = `${req.url}\u0000${String(req.headers['webhook-id'])}`;
        if (!seen.has(key)) {
          seen.add(key);
          received++;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: { user?: { userName?: string } } };
        if (body.type === 'user.provisioned' && body.data.user?.userName) arrivals.get(body.data.user.userName)?.(performance.now());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const receiverUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    const hub = await spawnHubProcess(
      {
        ...(database ? { DATABASE_URL: database.url } : { DATA_DIR: dir, DATABASE_URL: '' }),
        ADMIN_API_KEY: `bench-admin-${randomBytes(12).toString('hex')}`,
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
        LOG_LEVEL: 'error',
      },
      { nodeArgs: serverArgs(), seed: { organizations: [{ slug: 'latency', users: 0, source: 'scim' }, { slug: 'fanout', users: 0, source: 'scim' }] } },
    );
    const gql = async (key: string, query: string, variables: Record<string, unknown>) => {
      const response = await request(`${hub.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
      const body = (await response.body.json()) as { data?: unknown; errors?: unknown[] };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const CREATE = `mutation($o: ID!, $u: String!) { createWebhookEndpoint(input: { organizationId: $o, url: $u, eventTypes: ["user.provisioned"] }) { endpoint { id } } }`;
    const createUser = async (org: (typeof hub.organizations)[number], userName: string) => {
      const response = await request(`${org.scim!.baseUrl}/Users`, {
        method: 'POST',
        headers: { 'content-type': 'application/scim+json', authorization: `Bearer ${org.scim!.token}` },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, active: true }),
      });
      await response.body.dump();
      if (response.statusCode !== 201) throw new Error(`SCIM POST failed: ${response.statusCode}`);
    };
    const [latencyOrg, fanOutOrg] = hub.organizations;
    try {
      await gql(latencyOrg!.key, CREATE, { o: latencyOrg!.id, u: `${receiverUrl}/latency` });
      const latencies: number[] = [];
      for (let i = 0; i < sequential; i++) {
        if (ctx.signal.aborted) throw new BenchAborted(String(ctx.signal.reason), { metrics: summarize(latencies) });
        const userName = `seq${i}@latency.test`;
        const arrived = new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`webhook for ${userName} never arrived`)), 30_000);
          arrivals.set(userName, (at) => (clearTimeout(timer), resolve(at)));
        });
        const t0 = performance.now();
        await createUser(latencyOrg!, userName);
        latencies.push((await arrived) - t0);
        arrivals.delete(userName);
      }

      for (let e = 0; e < ENDPOINTS; e++) await gql(fanOutOrg!.key, CREATE, { o: fanOutOrg!.id, u: `${receiverUrl}/fanout${e}` });
      const before = received;
      const expected = fanOutWrites * ENDPOINTS;
      const started = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < fanOutWrites) await createUser(fanOutOrg!, `fan${next++}@fanout.test`);
      }));
      const deadline = Date.now() + 120_000;
      while (received - before < expected && Date.now() < deadline && !ctx.signal.aborted) await new Promise((r) => setTimeout(r, 20));
      const seconds = (performance.now() - started) / 1000;
      if (received - before < expected) throw new Error(`only ${received - before} of ${expected} deliveries arrived`);
      const l = summarize(latencies);
      return {
        metrics: { commit_to_2xx_p50_ms: l.p50_ms, commit_to_2xx_p99_ms: l.p99_ms, commit_to_2xx_max_ms: l.max_ms, deliveries_per_s_10_endpoints: Math.round(expected / seconds) },
        params: { sequentialWrites: sequential, fanOutWrites, endpoints: ENDPOINTS, writersInFlight: 8, hubProcess: 'separate' },
        notes: 'commit_to_2xx_*: SCIM POST sent → the receiver has the signed user.provisioned webhook (it answers 204 at once), one write at a time; deliveries_per_s: writes to an organization with 10 endpoints, from the first write to the last delivery (each webhook-id counted once per endpoint).',
      };
    } finally {
      await hub.stop();
      server.closeAllConnections();
      server.close();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
