// A Lifecycle Hub server process for multi-instance tests and HTTP benchmarks: configured from the
// environment like `npm start`, plus the `test` connector, and optionally seeded (SEED_JSON) before
// it reports ready. Prints one line, `HUB_READY <json>`, with its URL and what it seeded.
//   SEED_JSON={"organizations":[{"slug":"acme","users":1000}]}
//   BENCH_STATS=1: also serves { statements, rssBytes, recent (the last 20 statements' text) } on
//   another 127.0.0.1 port (`statsUrl`), so a benchmark can count the SQL statements a request
//   costs. Never part of the hub's own routes.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { createApiKey } from '../../src/tenancy/api-keys.ts';
import { createConnection } from '../../src/tenancy/connections.ts';
import { createOrganization } from '../../src/tenancy/organizations.ts';
import { loadConfig } from '../../src/hub/config.ts';
import { defineConnector } from '../../src/connectors/contract.ts';
import type { LifecycleCommandInput } from '../../src/engine/commands.ts';
import { createHub } from '../../src/hub/hub.ts';
import { startServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/hub/logger.ts';
import { keepServingOnStrayErrors } from '../../src/observability/stray-errors.ts';

const testConnector = defineConnector({ id: 'test', displayName: 'Test source', configSchema: z.object({}).strict() });

export interface SeededOrganization {
  id: string;
  slug: string;
  key: string;
  connectionId: string;
  userIds: string[];
  /** With `source: "scim"`: the connection's SCIM base URL and bearer token; user ids are SCIM ids. */
  scim?: { baseUrl: string; token: string };
}

const Seed = z.object({ organizations: z.array(z.object({ slug: z.string(), users: z.number().int().min(0).max(100_000), source: z.enum(['test', 'scim']).default('test') })).default([]) });

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const { hub } = await createHub(config, { logger, connectors: [testConnector] });
  keepServingOnStrayErrors(logger, hub.metrics); // as src/hub/main.ts
  const seed = Seed.parse(JSON.parse(process.env.SEED_JSON || '{}'));
  const actor = { type: 'system' as const, name: 'seed' };
  const organizations: SeededOrganization[] = [];
  for (const spec of seed.organizations) {
    const org = await createOrganization(hub.db.sql, { name: spec.slug, slug: `${spec.slug}-${randomBytes(3).toString('hex')}` }, actor);
    const { secret } = await createApiKey(hub.db.sql, { organizationId: org.id, name: 'load' }, actor);
    const { connectionId, secret: scimToken } = await createConnection({ sql: hub.db.sql, registry: hub.registry, box: hub.box }, { organizationId: org.id, provider: spec.source, name: 'Load' }, actor);
    // SCIM users are addressed by the id the hub issued them (their sourceId too), as after a POST /Users.
    const sourceIds = Array.from({ length: spec.users }, (_, i) => (spec.source === 'scim' ? uuidv7() : `u${i}`));
    const commands: LifecycleCommandInput[] = sourceIds.map((sourceId, i) => ({
      type: 'upsertUser',
      sourceId,
      ...(spec.source === 'scim' ? { id: sourceId } : {}),
      profile: { userName: `user${i}@${spec.slug}.test`, email: `user${i}@${spec.slug}.test`, externalId: `ext-${i}` },
    }));
    for (let i = 0; i < commands.length; i += 500) {
      await hub.engine.execute({ connectionId, actor: { type: 'connection', connectionId }, commands: commands.slice(i, i + 500) });
    }
    const users = await hub.db.sql.query<{ id: string; sourceId: string }>('SELECT id, source_id AS "sourceId" FROM directory_user WHERE connection_id = $1', [connectionId]);
    const bySourceId = new Map(users.map((u) => [u.sourceId, u.id]));
    organizations.push({ id: org.id, slug: org.slug, key: secret, connectionId, userIds: sourceIds.map((s) => bySourceId.get(s)!), ...(scimToken ? { scim: { baseUrl: '', token: scimToken } } : {}) });
  }
  const running = await startServer(hub);
  for (const org of organizations) if (org.scim) org.scim.baseUrl = `${running.url}/scim/v2/${org.connectionId}`;
  const stats = process.env.BENCH_STATS === '1' ? await serveStats(hub.db) : undefined;
  process.stdout.write(`HUB_READY ${JSON.stringify({ url: running.url, pid: process.pid, statsUrl: stats?.url, organizations })}\n`);

  const stop = async () => {
    stats?.server.close();
    await running.stop();
    await hub.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

/** Statements sent to the database since start (every one: Prisma's and the engine's), the last ones, and this process's memory (RSS, V8 heap, external). */
async function serveStats(db: { onStatement(listener: (sql: string) => void): () => void }): Promise<{ url: string; server: Server }> {
  let statements = 0;
  const recent: string[] = [];
  db.onStatement((text) => {
    statements++;
    recent.push(text.replace(/\s+/g, ' ').slice(0, 400));
    if (recent.length > 20) recent.shift();
  });
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    const memory = process.memoryUsage();
    res.end(JSON.stringify({ statements, rssBytes: memory.rss, memory, recent }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

main().catch((error: Error) => {
  process.stderr.write(`serve-hub failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
