import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Database, type DatabaseOptions } from '../../src/storage/database.ts';
import { withDatabase } from './global-setup.ts';

export const onPostgres = () => !!inject('postgresAdminUrl');

/** A fresh, migrated database of the kind this run tests (PGlite, or PostgreSQL with TEST_DATABASE_URL). */
export async function openTestDatabase(options: { poolSize?: number } = {}): Promise<Database & { url?: string }> {
  const url = await createTestDatabaseUrl();
  if (url) return Object.assign(await openDatabase({ url, poolSize: options.poolSize ?? 5 }), { url });
  const template = inject('pgliteTemplate');
  return openDatabase({ dataDir: 'memory://', loadDataDir: new Blob([readFileSync(template)]) });
}

/** A fresh PostgreSQL database cloned from the migrated template, or undefined on a PGlite run. */
export async function createTestDatabaseUrl(): Promise<string | undefined> {
  const adminUrl = inject('postgresAdminUrl');
  if (!adminUrl) return undefined;
  const name = `lh_test_${process.ppid}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('postgresTemplate')}`);
  } finally {
    await admin.end();
  }
  return withDatabase(adminUrl, name);
}

/**
 * An empty database of this run's kind, not cloned from the migrated template (a new PostgreSQL
 * database, or PGlite in a temporary directory), which a test opens, closes and opens again.
 */
export async function freshDatabase(): Promise<{ open: (options?: Pick<DatabaseOptions, 'migrate' | 'migrationsDir'>) => Promise<Database>; cleanup: () => Promise<void> }> {
  const adminUrl = inject('postgresAdminUrl');
  if (adminUrl) {
    const name = `lh_fresh_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    return {
      open: (options) => openDatabase({ url: withDatabase(adminUrl, name), poolSize: 2, ...options }),
      cleanup: async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'lh-fresh-'));
  return { open: (options) => openDatabase({ dataDir: dir, ...options }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}
