// In-process baseline: the lifecycle engine alone (no HTTP), 8 concurrent writers provisioning
// users. Shows what group commit buys before any protocol cost is added.
import { randomBytes } from 'node:crypto';
import { createConnection } from '../src/tenancy/connections.ts';
import { createOrganization } from '../src/tenancy/organizations.ts';
import { defineConnector } from '../src/connectors/contract.ts';
import { ConnectorRegistry } from '../src/connectors/registry.ts';
import { openDatabase } from '../src/storage/database.ts';
import { LifecycleEngine } from '../src/engine/engine.ts';
import { SecretBox } from '../src/secrets/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { checkTime, summarize, type Benchmark } from './types.ts';

export const engineProvision: Benchmark = {
  extra: true,
  name: 'engine: provision users (in-process, 8 writers)',
  timeLimitSeconds: 120,
  async run(ctx) {
    const users = ctx.quick ? 500 : 10_000;
    const writers = 8;
    const dir = mkdtempSync(join(tmpdir(), 'lh-bench-'));
    const db = await openDatabase(ctx.databaseUrl ? { url: ctx.databaseUrl } : { dataDir: dir });
    try {
      const registry = new ConnectorRegistry([defineConnector({ id: 'bench', displayName: 'Bench', configSchema: z.object({}) })]);
      const org = await createOrganization(db.sql, { name: 'Bench', slug: `bench-${randomBytes(4).toString('hex')}` }, { type: 'system', name: 'bench' });
      const { connectionId } = await createConnection({ sql: db.sql, registry, box: SecretBox.fromKey(randomBytes(32)) }, { organizationId: org.id, provider: 'bench', name: 'bench' }, { type: 'system', name: 'bench' });
      const engine = new LifecycleEngine({ sql: db.sql });
      const latencies: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: writers }, async () => {
          while (next < users) {
            checkTime(ctx.signal);
            const i = next++;
            const t0 = performance.now();
            await engine.execute({
              connectionId,
              actor: { type: 'connection', connectionId },
              commands: [{ type: 'upsertUser', sourceId: `u${i}`, profile: { userName: `user${i}@bench.test`, email: `user${i}@bench.test`, givenName: 'Bench', familyName: `User ${i}` } }],
            });
            latencies.push(performance.now() - t0);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      return {
        metrics: { writes_per_s: Math.round(users / seconds), ...summarize(latencies), batches: engine.stats.batches },
        params: { users, writers },
      };
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
