import { randomBytes } from 'node:crypto';
import { createConnection } from '../src/admin/connections.ts';
import { createOrganization } from '../src/admin/organizations.ts';
import { defineConnector } from '../src/connectors/contract.ts';
import { ConnectorRegistry } from '../src/connectors/registry.ts';
import { openDatabase } from '../src/db/database.ts';
import { LifecycleEngine } from '../src/engine/engine.ts';
import { SecretBox } from '../src/secrets/index.ts';
import type { SqlClient, SqlExecutor } from '../src/db/sql.ts';
import { z } from 'zod';
const db = await openDatabase(process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : { dataDir: (await import('node:fs')).mkdtempSync('/tmp/lhprof-') });
const stats = new Map<string, { n: number; ms: number }>();
const wrapExec = (e: SqlExecutor): SqlExecutor => ({
  async query(text, params) {
    const t = performance.now();
    try { return await e.query(text, params); } finally {
      const k = (typeof text === 'string' ? text : text.text).replace(/\s+/g, ' ').trim().slice(0, 60);
      const s = stats.get(k) ?? { n: 0, ms: 0 }; s.n++; s.ms += performance.now() - t; stats.set(k, s);
    }
  },
});
const sql: SqlClient = { dialect: db.sql.dialect, query: wrapExec(db.sql).query, transaction: (fn) => db.sql.transaction((tx) => fn(wrapExec(tx))) };
const registry = new ConnectorRegistry([defineConnector({ id: 'bench', displayName: 'Bench', configSchema: z.object({}) })]);
const org = await createOrganization(db.sql, { name: 'B', slug: `b-${randomBytes(4).toString('hex')}` }, { type: 'system', name: 'b' });
const { connectionId } = await createConnection({ sql: db.sql, registry, box: SecretBox.fromKey(randomBytes(32)) }, { organizationId: org.id, provider: 'bench', name: 'b' }, { type: 'system', name: 'b' });
const engine = new LifecycleEngine({ sql });
let next = 0; const N = Number(process.env.N ?? 1000);
const t0 = performance.now(); const c0 = process.cpuUsage();
await Promise.all(Array.from({ length: 8 }, async () => { while (next < N) { const i = next++; await engine.execute({ connectionId, actor: { type: 'connection', connectionId }, commands: [{ type: 'upsertUser', sourceId: `u${i}`, profile: { userName: `u${i}@x`, email: `u${i}@x` } }] }); } }));
const wall = performance.now() - t0; const cpu = process.cpuUsage(c0);
console.log('wall ms', Math.round(wall), 'writes/s', Math.round(N / wall * 1000), 'node cpu ms', Math.round((cpu.user + cpu.system) / 1000), 'batches', engine.stats.batches);
for (const [k, v] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) console.log(String(v.n).padStart(5), (v.ms / v.n).toFixed(2).padStart(7), 'ms avg', k);
await db.close();
