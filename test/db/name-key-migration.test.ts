// The migration that normalized userName and group displayName keys (prisma/migrations/
// 20261203075612_normalized_name_keys), on a database an older build left behind: keys stored the
// old way (lower-cased only) are recomputed exactly as src/engine/name-key.ts computes them, on
// every code point; users whose names became one name keep their keys, are recorded and reported
// at start instead of failing the migration; and they stay updatable, a deprovision included.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { migrationsDir } from '../../src/storage/migrate.ts';
import { invisibleCharacterIn, nameKey } from '../../src/engine/name-key.ts';
import { createLogger } from '../../src/hub/logger.ts';
import { openUserNameCollisions } from '../../src/jobs/user-name-collisions.ts';
import { freshDatabase } from '../support/db.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { createScimConnection, patch, scimRequest, user, type ScimConnection } from '../scim/support.ts';

const MIGRATION = '20261203075612_normalized_name_keys';

/**
 * prisma/migrations without this one: a database an older build left behind, as far as user and
 * group name keys go. The later migrations (connection lifecycle, browser sessions, webhooks) are
 * applied too, because the hub that writes its users is this build's and needs their tables; none
 * of them touches name keys, and the migration runs last, as it would have.
 */
function migrationsBefore(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lh-migrations-'));
  cpSync(join(migrationsDir, 'migration_lock.toml'), join(dir, 'migration_lock.toml'));
  for (const name of readdirSync(migrationsDir).filter((n) => /^\d{14}_/.test(n) && n !== MIGRATION)) cpSync(join(migrationsDir, name), join(dir, name), { recursive: true });
  return dir;
}

/** Every code point a PostgreSQL text can hold (no NUL, no surrogates), in runs of `size`. */
function codePointRuns(size: number): string[] {
  const runs: string[] = [];
  let run: string[] = [];
  for (let cp = 1; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    run.push(String.fromCodePoint(cp));
    if (run.length === size) runs.push(run.splice(0).join(''));
  }
  if (run.length) runs.push(run.join(''));
  return runs;
}

/** The NFD form of every code point that has one, in runs (NFC must compose each back, as nameKey's does). */
function decomposedRuns(size: number): string[] {
  const forms: string[] = [];
  for (let cp = 1; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (ch.normalize('NFD') !== ch) forms.push(ch.normalize('NFD'));
  }
  const runs: string[] = [];
  for (let i = 0; i < forms.length; i += size) runs.push(`x${forms.slice(i, i + size).join('|')}`);
  return runs;
}

/** Whitespace String.trim() removes, around a visible name (and around invisible characters that are dropped first). */
function trimmedNames(): string[] {
  const names: string[] = [];
  for (let cp = 1; cp <= 0xffff; cp++) {
    const ch = String.fromCharCode(cp);
    if (cp < 0xd800 || cp > 0xdfff) if (ch.trim() === '') names.push(`${ch}ws${cp}${ch}`, `${ch}\u200bws-zw${cp}\u00ad${ch}`);
  }
  return names;
}

const logLines: string[] = [];
const captured = createLogger('warn', new Writable({ write: (chunk, _e, done) => (logLines.push(chunk.toString()), done()) }));

describe(`migration ${MIGRATION}`, () => {
  let fresh: Awaited<ReturnType<typeof freshDatabase>>;
  let oldDir: string;
  let db: Database;
  let t: TestHub;
  let c: ScimConnection;
  let other: ScimConnection;
  let codePoints: ScimConnection;
  const ids: Record<string, string> = {};
  const nfc = 'Élodie@x.test'.normalize('NFC');

  beforeAll(async () => {
    fresh = await freshDatabase();
    oldDir = migrationsBefore();
    // The older build: its migrations, its users.
    const old = await fresh.open({ migrationsDir: oldDir });
    expect(old.appliedMigrations).not.toContain(MIGRATION);
    const before = await startTestHub({ db: old });
    c = await createScimConnection(before);
    other = await createScimConnection(before, { organizationId: c.organizationId });
    codePoints = await createScimConnection(before, { organizationId: c.organizationId });
    for (const [label, name] of [['ada', 'ada@x.test'], ['elodie', nfc], ['bob', ' Bob@x.test'], ['gone', 'Gone@x.test']] as const) {
      const r = await c.request('POST', '/Users', { body: user(name) });
      expect(r.status).toBe(201);
      ids[label] = r.body.id;
    }
    ids.otherAda = (await other.request('POST', '/Users', { body: user(' ADA@x.test') })).body.id;
    expect((await c.request('DELETE', `/Users/${ids.gone}`)).status).toBe(204);
    // Users the older build let in, which look like ada and élodie.
    const clone = async (label: string, like: string, name: string) => {
      ids[label] = uuidv7();
      await old.sql.query(
        `INSERT INTO directory_user (id, organization_id, connection_id, source_id, user_name, source_data, emails, given_name, family_name, display_name)
         SELECT $1::uuid, organization_id, connection_id, $1::text, $2, jsonb_set(source_data, '{userName}', to_jsonb($2::text)), emails, given_name, family_name, display_name
         FROM directory_user WHERE id = $3`,
        [ids[label], name, ids[like]],
      );
    };
    await clone('adaSpaced', 'ada', ' Ada@x.test ');
    await clone('adaHidden', 'ada', 'ada\u200b@x.test');
    await clone('elodieNfd', 'elodie', nfc.normalize('NFD'));
    // Every code point, as userNames and group names of the third connection.
    const names = [...codePointRuns(500), ...decomposedRuns(200), ...trimmedNames()];
    await old.sql.query(
      `INSERT INTO directory_user (id, organization_id, connection_id, source_id, user_name)
       SELECT gen_random_uuid(), $1, $2, n, n FROM unnest($3::text[]) AS n`,
      [c.organizationId, codePoints.connectionId, names],
    );
    await old.sql.query(
      `INSERT INTO directory_group (id, organization_id, connection_id, source_id, display_name)
       SELECT gen_random_uuid(), $1, $2, n, n FROM unnest($3::text[]) AS n`,
      [c.organizationId, codePoints.connectionId, names],
    );
    // The keys as the older build stored them: its lower(), String.toLowerCase(), and nothing else.
    const rows = await old.sql.query<{ id: string; name: string }>(`SELECT id, user_name AS name FROM directory_user WHERE source_deleted_at IS NULL`);
    await old.sql.query(`UPDATE directory_user u SET user_name_key = k.key FROM unnest($1::uuid[], $2::text[]) AS k(id, key) WHERE u.id = k.id`, [rows.map((r) => r.id), rows.map((r) => r.name.toLowerCase())]);
    const groups = await old.sql.query<{ id: string; name: string }>(`SELECT id, display_name AS name FROM directory_group`);
    await old.sql.query(`UPDATE directory_group g SET display_name_key = k.key FROM unnest($1::uuid[], $2::text[]) AS k(id, key) WHERE g.id = k.id`, [groups.map((r) => r.id), groups.map((r) => r.name.toLowerCase())]);
    await before.close();
    await old.close();

    // This build: the migration runs at open.
    db = await fresh.open();
    expect(db.appliedMigrations).toEqual([MIGRATION]);
    t = await startTestHub({ db, logger: captured });
    // The same connection, served by this build's hub.
    const base = `${t.url}/scim/v2/${c.connectionId}`;
    c = { ...c, baseUrl: base, request: (method, path, options = {}) => scimRequest(base, method, path, { token: c.token, ...options }) };
  }, 240_000);

  afterAll(async () => {
    await t?.close();
    await db?.close();
    await fresh?.cleanup();
    if (oldDir) rmSync(oldDir, { recursive: true, force: true });
  });

  const keyOf = async (id: string) => (await db.sql.query<{ key: string | null }>('SELECT user_name_key AS key FROM directory_user WHERE id = $1', [id]))[0]!.key;

  // PostgreSQL's NFC tables are of its own Unicode version (16.0 in PGlite 0.5, 14.0 in PostgreSQL 15),
  // Node's of its ICU's (17.0 in Node 20.20): marks newer than the database's tables are left in
  // the order they came, so the two keys can differ in their order (until the user's next change,
  // which recomputes its key). Everything else is exact: invisible characters, trimming, and NFC
  // on every code point the database's Unicode knows (unicode_assigned, PostgreSQL 17 and later).
  it('recomputes every key as nameKey() does, on every code point', async () => {
    const [{ assignedKnown }] = (await db.sql.query<{ assignedKnown: boolean }>(`SELECT to_regproc('unicode_assigned') IS NOT NULL AS "assignedKnown"`)) as [{ assignedKnown: boolean }];
    const assigned = assignedKnown ? 'unicode_assigned(n.name)' : 'NULL::boolean';
    const users = await db.sql.query<{ name: string; key: string | null; assigned: boolean | null }>(
      `SELECT n.name, n.key, ${assigned} AS assigned FROM (SELECT user_name AS name, user_name_key AS key FROM directory_user WHERE connection_id = $1) n`, [codePoints.connectionId]);
    const groups = await db.sql.query<{ name: string; key: string | null; assigned: boolean | null }>(
      `SELECT n.name, n.key, ${assigned} AS assigned FROM (SELECT display_name AS name, display_name_key AS key FROM directory_group WHERE connection_id = $1) n`, [codePoints.connectionId]);
    expect(users.length).toBeGreaterThan(2000);
    const show = (r: { name: string; key: string | null }) => JSON.stringify([r.name.slice(0, 12), r.key?.slice(0, 12), nameKey(r.name)?.slice(0, 12)]);
    const rows = [...users, ...groups];
    // Exactly nameKey() but for the order of marks the database's tables predate: one key, in Node's NFC.
    expect(rows.filter((r) => (r.key === null ? null : r.key.normalize('NFC')) !== nameKey(r.name)).map(show)).toEqual([]);
    // No invisible character or edge whitespace left, whatever the Unicode versions.
    expect(rows.filter((r) => r.key !== null && (invisibleCharacterIn(r.key) || r.key !== r.key.trim())).map(show)).toEqual([]);
    // And exactly nameKey() where the database knows every character.
    if (assignedKnown) {
      expect(rows.filter((r) => r.assigned && r.key !== nameKey(r.name)).map(show)).toEqual([]);
      expect(rows.filter((r) => r.assigned).length).toBeGreaterThan(rows.length / 4);
    }
  });

  it('gives users whose names stayed distinct their new keys, and leaves deleted users without one', async () => {
    expect(await keyOf(ids.bob!)).toBe('bob@x.test');
    expect(await keyOf(ids.otherAda!)).toBe('ada@x.test'); // another connection: no collision with ada
    expect(await keyOf(ids.gone!)).toBeNull();
  });

  it('keeps the keys of users whose names became one name, and records each collision', async () => {
    expect(await keyOf(ids.ada!)).toBe('ada@x.test');
    expect(await keyOf(ids.adaSpaced!)).toBe(' ada@x.test ');
    expect(await keyOf(ids.adaHidden!)).toBe('ada\u200b@x.test');
    expect(await keyOf(ids.elodieNfd!)).toBe(nfc.normalize('NFD').toLowerCase());
    const recorded = await db.sql.query<{ organizationId: string; connectionId: string; key: string; userIds: string[] }>(
      'SELECT organization_id AS "organizationId", connection_id AS "connectionId", user_name_key AS key, user_ids AS "userIds" FROM user_name_collision ORDER BY user_name_key',
    );
    expect(recorded).toEqual([
      { organizationId: c.organizationId, connectionId: c.connectionId, key: 'ada@x.test', userIds: [ids.ada, ids.adaSpaced, ids.adaHidden].sort() },
      { organizationId: c.organizationId, connectionId: c.connectionId, key: nfc.toLowerCase(), userIds: [ids.elodie, ids.elodieNfd].sort() },
    ]);
  });

  it('reports each collision at start with its organization, connection and user ids, not the names', () => {
    const warnings = logLines.map((l) => JSON.parse(l)).filter((l) => String(l.msg).startsWith('userName collision'));
    const reported = warnings.map((w) => [w.organizationId, w.connectionId, [...w.userIds].sort()]);
    expect(reported.sort((a, b) => a[2].length - b[2].length)).toEqual([
      [c.organizationId, c.connectionId, [ids.elodie, ids.elodieNfd].sort()],
      [c.organizationId, c.connectionId, [ids.ada, ids.adaSpaced, ids.adaHidden].sort()],
    ]);
    expect(warnings[0].msg).toContain('docs/operations.md#username-collisions');
    expect(JSON.stringify(warnings)).not.toMatch(/ada@x\.test|lodie/i);
  });

  it('keeps colliding users updatable, a deprovision and an unchanged invisible character included', async () => {
    const off = await c.request('PATCH', `/Users/${ids.adaSpaced}`, { body: patch({ op: 'replace', path: 'active', value: false }) });
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect((await db.sql.query<{ state: string }>('SELECT state FROM directory_user WHERE id = $1', [ids.adaSpaced]))[0]!.state).toBe('DEPROVISIONED');
    const titled = await c.request('PATCH', `/Users/${ids.adaHidden}`, { body: patch({ op: 'replace', path: 'title', value: 'Engineer' }) });
    expect(titled.status).toBe(200);
    expect(titled.body.userName).toBe('ada\u200b@x.test');
    expect(await keyOf(ids.adaHidden!)).toBe('ada\u200b@x.test');
    // `userName eq` finds the one holding the normalized key.
    const found = await c.request('GET', `/Users?filter=${encodeURIComponent('userName eq "ADA@x.test"')}`);
    expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([ids.ada]);
  });

  it('gives a colliding user the normalized key once it is free, and stops reporting what is resolved', async () => {
    expect((await c.request('DELETE', `/Users/${ids.elodie}`)).status).toBe(204);
    expect((await c.request('PATCH', `/Users/${ids.elodieNfd}`, { body: patch({ op: 'replace', path: 'title', value: 'Designer' }) })).status).toBe(200);
    expect(await keyOf(ids.elodieNfd!)).toBe(nfc.toLowerCase());
    const found = await c.request('GET', `/Users?filter=${encodeURIComponent(`userName eq "${nfc}"`)}`);
    expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([ids.elodieNfd]);
    const open = await openUserNameCollisions(db.sql);
    expect(open.map((o) => o.userIds.length)).toEqual([3]);
  });
});
