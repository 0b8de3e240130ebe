import { openDatabase } from '../src/db/database.ts';
import { mkdtempSync } from 'node:fs';
const db = await openDatabase({ dataDir: mkdtempSync('/tmp/lhpgl-') });
const org = (await db.sql.query<{ id: string }>(`INSERT INTO organization (id, name, slug, updated_at) VALUES (gen_random_uuid(), 'o', 'o', now()) RETURNING id`))[0]!.id;
const conn = (await db.sql.query<{ id: string }>(`INSERT INTO directory_connection (id, organization_id, provider, name, updated_at) VALUES (gen_random_uuid(), $1, 'x', 'x', now()) RETURNING id`, [org]))[0]!.id;
await db.sql.query(`INSERT INTO directory_user (id, organization_id, connection_id, source_id, user_name_key, updated_at) SELECT gen_random_uuid(), $1, $2, 'u' || g, 'u' || g || '@x', now() FROM generate_series(1, 20000) g`, [org, conn]);
async function time(name: string, n: number, f: (i: number) => Promise<unknown>) {
  await f(0); const t = performance.now(); for (let i = 0; i < n; i++) await f(i); console.log(name.padEnd(50), ((performance.now() - t) / n).toFixed(3), 'ms');
}
const ids = (i: number) => [`u${i}`, `u${i + 1}`, `u${i + 2}`, `u${i + 3}`];
await time('select 1', 500, () => db.sql.query('select 1'));
await time('users by source_id = ANY', 500, (i) => db.sql.query(`SELECT * FROM directory_user WHERE connection_id = $1 AND source_id = ANY($2::text[])`, [conn, ids(i)]));
await time('users by OR of keys', 500, (i) => db.sql.query(`SELECT * FROM directory_user WHERE organization_id = $1 AND (id = ANY($2::uuid[]) OR (connection_id = $3::uuid AND (source_id = ANY($4::text[]) OR user_name_key = ANY($5::text[]) OR external_id_key = ANY($6::text[]))))`, [org, [], conn, ids(i), ids(i).map((x) => x + '@x'), []]));
await time('users by OR of keys FOR UPDATE', 500, (i) => db.sql.query(`SELECT * FROM directory_user WHERE organization_id = $1 AND (id = ANY($2::uuid[]) OR (connection_id = $3::uuid AND (source_id = ANY($4::text[]) OR user_name_key = ANY($5::text[]) OR external_id_key = ANY($6::text[])))) ORDER BY id FOR UPDATE`, [org, [], conn, ids(i), ids(i).map((x) => x + '@x'), []]));
await time('tx(begin+select1+commit)', 300, () => db.sql.transaction((tx) => tx.query('select 1')));
await db.close();
