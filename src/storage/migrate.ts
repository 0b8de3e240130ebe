import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList } from '@prisma/schema-engine-wasm';
import { schemaFilters, withSchemaEngine } from './schema-engine.ts';
import type { SqlExecutor } from './sql.ts';

/** prisma/ of the checkout this module runs from: found upwards, as src/storage/ and the dist/ bundle sit at different depths. */
function findPrismaDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'prisma', 'schema.prisma'))) return join(dir, 'prisma');
    if (dirname(dir) === dir) throw new Error(`prisma/schema.prisma not found above ${from}: run the hub from its checkout or package`);
  }
}
export const prismaDir = findPrismaDir(import.meta.dirname);
export const migrationsDir = join(prismaDir, 'migrations');

export async function readSchema() {
  const path = join(prismaDir, 'schema.prisma');
  return { path, content: await readFile(path, 'utf8') };
}

export async function readMigrationList(dir = migrationsDir): Promise<MigrationList> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const lockPath = join(dir, 'migration_lock.toml');
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: await readFile(lockPath, 'utf8').catch(() => null) },
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: await readFile(join(dir, name, 'migration.sql'), 'utf8')
            .then((value) => ({ tag: 'ok' as const, value }))
            .catch((e: Error) => ({ tag: 'error' as const, value: e.message })),
        },
      })),
    ),
    shadowDbInitScript: '',
  };
}

/**
 * Applies every pending migration under prisma/migrations; returns the names it applied.
 * With `sql`, a database whose `_prisma_migrations` already records exactly the shipped migrations
 * (same checksums, none failed) is left alone without loading the schema engine: the engine's
 * WebAssembly stays resident once loaded (~30 MiB measured), and most starts have nothing to apply.
 */
export async function applyMigrations(adapterFactory: SqlMigrationAwareDriverAdapterFactory, sql?: SqlExecutor, dir = migrationsDir): Promise<string[]> {
  const migrationsList = await readMigrationList(dir);
  if (sql && (await migrationsRecorded(sql, migrationsList))) return [];
  const schema = await readSchema();
  const result = await withSchemaEngine(adapterFactory, schema, (engine) =>
    engine.applyMigrations({ migrationsList, filters: schemaFilters }),
  );
  return result.appliedMigrationNames;
}

/** True when the database records each shipped migration as applied, with its checksum, and nothing else. */
export async function migrationsRecorded(sql: SqlExecutor, list: MigrationList): Promise<boolean> {
  const [table] = await sql.query<{ exists: boolean }>(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS "exists"`);
  if (!table?.exists) return false;
  const rows = await sql.query<{ name: string; checksum: string; finished: boolean; rolledBack: boolean }>(
    'SELECT migration_name AS name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS "rolledBack" FROM _prisma_migrations',
  );
  // A failed or rolled-back attempt, or a migration this build does not ship: the engine decides.
  const live = rows.filter((r) => !r.rolledBack);
  if (live.some((r) => !r.finished) || live.length !== list.migrationDirectories.length) return false;
  const recorded = new Map(live.map((r) => [r.name, r.checksum]));
  return list.migrationDirectories.every((m) => {
    if (m.migrationFile.content.tag !== 'ok') return false;
    // Prisma's checksum: the SHA-256 of the migration file's bytes, in hex.
    return recorded.get(m.path) === createHash('sha256').update(m.migrationFile.content.value).digest('hex');
  });
}
