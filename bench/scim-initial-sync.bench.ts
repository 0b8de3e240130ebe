// The first sync an identity provider makes into a new SCIM connection, Okta-style, over real HTTP:
// the server runs in a child process (`npm start` on this run's database); this process is the
// load generator, 8 concurrent clients on keep-alive connections.
//   users:   GET /Users?filter=userName eq "…"&startIndex=1&count=100 (not found) → POST /Users
//   groups:  GET /Groups?filter=displayName eq "…" (not found) → POST /Groups (members: [])
//   members: PATCH /Groups/{id} add members, MEMBERS_PER_PATCH users per request
// The connection keeps its default rate limit (the first-sync burst must absorb all of it).
// Figures: writes_per_s = write requests (POST + PATCH) / wall time of the whole sync, GETs
// included; records_per_s counts users + groups + memberships; latencies are per request.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, type Dispatcher } from 'undici';
import { startCommand } from '../scripts/build.ts';
import { benchDatabase, freePort, serverArgs } from './support.ts';
import { BenchAborted, summarize, type Benchmark } from './types.ts';

const CLIENTS = 8;
const MEMBERS_PER_PATCH = 25;

async function startServer(env: Record<string, string>, log: (m: string) => void): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...serverArgs(), ...(await startCommand())], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: url, LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${stderr}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the server did not become ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`server ready at ${url} (pid ${child.pid})`);
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 25_000).unref();
      }),
  };
}

export const scimInitialSync: Benchmark = {
  name: 'scim: initial sync over HTTP (Okta-style, 8 clients)',
  timeLimitSeconds: 240,
  targets: [
    { metric: 'writes_per_s', op: '>=', value: 2_000, databases: ['postgres'], label: '≥ 2,000 SCIM writes/s on PostgreSQL' },
    { metric: 'writes_per_s', op: '>=', value: 600, databases: ['pglite'], label: '≥ 600 SCIM writes/s on PGlite' },
  ],
  async run(ctx) {
    const users = ctx.quick ? 200 : 10_000;
    const groups = ctx.quick ? 5 : 100;
    const memberships = ctx.quick ? 400 : 25_000;
    const dataDir = mkdtempSync(join(tmpdir(), 'lh-bench-scim-'));
    const database = ctx.databaseUrl ? await benchDatabase(ctx.databaseUrl, 'scim') : null;
    const adminKey = `bench-admin-${randomBytes(16).toString('hex')}`;
    const server = await startServer(
      { DATA_DIR: dataDir, ADMIN_API_KEY: adminKey, ENCRYPTION_KEY: randomBytes(32).toString('base64'), ...(database ? { DATABASE_URL: database.url } : { DATABASE_URL: '' }) },
      ctx.log,
    );
    let clients: Pool | undefined;
    try {
      const gql = async (query: string, variables: Record<string, unknown>) => {
        const r = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` }, body: JSON.stringify({ query, variables }) });
        const body = (await r.json()) as { data: any; errors?: unknown[] };
        if (body.errors) throw new Error(JSON.stringify(body.errors));
        return body.data;
      };
      const org = await gql(`mutation($s: String!) { createOrganization(input: { name: "Bench", slug: $s }) { organization { id } } }`, { s: `bench-${randomBytes(4).toString('hex')}` });
      const conn = await gql(
        `mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "scim", name: "Okta" }) { connection { id scimBaseUrl } secret } }`,
        { o: org.createOrganization.organization.id },
      );
      const base = conn.createDirectoryConnection.connection.scimBaseUrl as string;
      // undici's Pool rather than fetch: the load generator shares the 2 cores with the hub (and
      // PostgreSQL), and fetch spent ~40 % of a core on 520 requests/s, CPU the hub then lacked.
      const basePath = new URL(base).pathname;
      const http = (clients = new Pool(new URL(base).origin, { connections: CLIENTS, pipelining: 1 }));
      const headers = {
        authorization: `Bearer ${conn.createDirectoryConnection.secret}`,
        'user-agent': 'Okta SCIM Client 1.0.0',
        accept: 'application/scim+json',
        'content-type': 'application/scim+json; charset=utf-8',
      };

      const latencies: number[] = [];
      const writeLatencies: number[] = [];
      let writes = 0;
      let retriedAfter429 = 0;
      const call = async (method: string, path: string, body: unknown, expected: number) => {
        for (;;) {
          if (ctx.signal.aborted) {
            const all = summarize(latencies);
            const elapsed = (performance.now() - started) / 1000;
            throw new BenchAborted(String(ctx.signal.reason), { metrics: { writes_per_s: Math.round(writes / elapsed), writes, p50_ms: all.p50_ms, p99_ms: all.p99_ms, seconds: Math.round(elapsed) } });
          }
          const t0 = performance.now();
          const r = await http.request({ path: `${basePath}${path}`, method: method as Dispatcher.HttpMethod, headers, body: body === undefined ? undefined : JSON.stringify(body) });
          const text = await r.body.text();
          const ms = performance.now() - t0;
          if (r.statusCode === 429 || r.statusCode === 503) {
            // What an IdP does: wait as told, then retry.
            retriedAfter429++;
            await new Promise((res) => setTimeout(res, Number(r.headers['retry-after'] ?? 1) * 1000));
            continue;
          }
          latencies.push(ms);
          if (method !== 'GET') {
            writes++;
            writeLatencies.push(ms);
          }
          if (r.statusCode !== expected) throw new Error(`${method} ${path}: ${r.statusCode} (expected ${expected}) ${text.slice(0, 300)}`);
          return text ? (JSON.parse(text) as any) : undefined;
        }
      };
      const pool = async <T>(items: T[], fn: (item: T) => Promise<void>) => {
        let next = 0;
        await Promise.all(Array.from({ length: CLIENTS }, async () => {
          while (next < items.length) await fn(items[next++]!);
        }));
      };

      const started = performance.now();
      const userIds: string[] = new Array(users);
      await pool([...Array(users).keys()], async (i) => {
        const userName = `user${i}@bench.example.com`;
        const found = await call('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`, undefined, 200);
        if (found.totalResults !== 0) throw new Error(`${userName} already exists`);
        const created = await call('POST', '/Users', {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName,
          name: { givenName: 'Bench', familyName: `User ${i}` },
          emails: [{ primary: true, value: userName, type: 'work' }],
          displayName: `Bench User ${i}`,
          locale: 'en-US',
          externalId: `00u${i.toString(36).padStart(17, '0')}`,
          groups: [],
          password: 'placeholder-1',
          active: true,
        }, 201);
        userIds[i] = created.id;
      });
      const usersDone = performance.now();
      ctx.log(`${users} users in ${Math.round(usersDone - started)} ms`);

      const groupIds: string[] = new Array(groups);
      await pool([...Array(groups).keys()], async (g) => {
        const displayName = `Bench Group ${g}`;
        const found = await call('GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${displayName}"`)}&startIndex=1&count=100`, undefined, 200);
        if (found.totalResults !== 0) throw new Error(`${displayName} already exists`);
        groupIds[g] = (await call('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName, members: [] }, 201)).id;
      });
      // Memberships: each group gets memberships/groups distinct users, sent in chunks.
      const perGroup = Math.floor(memberships / groups);
      const patches: Array<{ groupId: string; members: string[] }> = [];
      for (let g = 0; g < groups; g++) {
        const members = Array.from({ length: perGroup }, (_, k) => userIds[(g * perGroup + k) % users]!);
        for (let k = 0; k < members.length; k += MEMBERS_PER_PATCH) patches.push({ groupId: groupIds[g]!, members: members.slice(k, k + MEMBERS_PER_PATCH) });
      }
      await pool(patches, async ({ groupId, members }) => {
        await call('PATCH', `/Groups/${groupId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: members.map((value) => ({ value, display: value })) }] }, 204);
      });
      const seconds = (performance.now() - started) / 1000;
      ctx.log(`${groups} groups and ${perGroup * groups} memberships in ${Math.round(performance.now() - usersDone)} ms`);

      // Everything acknowledged is there.
      const total = await call('GET', '/Users?count=0', undefined, 200);
      if (total.totalResults !== users) throw new Error(`${total.totalResults} users stored, ${users} sent`);
      const sample = await call('GET', `/Groups/${groupIds[groups - 1]}`, undefined, 200);
      if (sample.members.length !== perGroup) throw new Error(`group has ${sample.members.length} members, ${perGroup} sent`);

      const all = summarize(latencies);
      const w = summarize(writeLatencies);
      return {
        metrics: {
          writes_per_s: Math.round(writes / seconds),
          records_per_s: Math.round((users + groups + perGroup * groups) / seconds),
          requests_per_s: Math.round(latencies.length / seconds),
          p50_ms: all.p50_ms,
          p99_ms: all.p99_ms,
          write_p50_ms: w.p50_ms,
          write_p99_ms: w.p99_ms,
          max_ms: all.max_ms,
          seconds: Math.round(seconds * 10) / 10,
          retried_after_429_or_503: retriedAfter429,
        },
        params: { users, groups, memberships: perGroup * groups, clients: CLIENTS, membersPerPatch: MEMBERS_PER_PATCH, requests: latencies.length, writes },
        notes: 'server in a child process (npm start), load from this process over HTTP keep-alive on 127.0.0.1; default per-connection rate limit',
      };
    } finally {
      await clients?.close();
      await server.stop();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
