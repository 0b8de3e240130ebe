import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList } from '@prisma/schema-engine-wasm';
import { schemaFilters, withSchemaEngine } from './schema-engine.ts';

export const prismaDir = join(import.meta.dirname, '..', '..', 'prisma');
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

/** Applies every pending migration under prisma/migrations; returns the names it applied. */
export async function applyMigrations(adapterFactory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  const migrationsList = await readMigrationList();
  const schema = await readSchema();
  const result = await withSchemaEngine(adapterFactory, schema, (engine) =>
    engine.applyMigrations({ migrationsList, filters: schemaFilters }),
  );
  return result.appliedMigrationNames;
}
