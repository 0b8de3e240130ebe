// Writes the next migration: the SQL that takes a database from the committed migrations to
// prisma/schema.prisma, computed by Prisma's wasm schema engine on a throwaway in-memory PGlite
// (the role `prisma migrate dev` plays where the native engine can be downloaded).
//
//   npm run db:migration -- add_widgets   writes prisma/migrations/<timestamp>_add_widgets/migration.sql
//   npm run db:migration -- --check       exits 1 when the schema has changes no migration holds
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { migrationsDir, readMigrationList, readSchema } from '../src/storage/migrate.ts';
import { schemaFilters, withSchemaEngine } from '../src/storage/schema-engine.ts';

export async function pendingSchemaChanges(): Promise<string> {
  const schema = await readSchema();
  const migrations = await readMigrationList();
  const pglite = new PGlite();
  try {
    const result = await withSchemaEngine(new PrismaPGlite(pglite), schema, (engine) =>
      engine.diff({
        from: { tag: 'migrations', ...migrations },
        to: { tag: 'schemaDatamodel', files: [schema] },
        script: true,
        exitCode: null,
        filters: schemaFilters,
      }),
    );
    const sql = result.stdout ?? '';
    return /^\s*(--.*)?\s*$/.test(sql) || sql.includes('This is an empty migration') ? '' : sql;
  } finally {
    await pglite.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = process.argv[2];
  const sql = await pendingSchemaChanges();
  if (arg === '--check') {
    if (sql) {
      console.error('prisma/schema.prisma has changes no migration holds. Run `npm run db:migration -- <name>`.\n');
      console.error(sql);
      process.exit(1);
    }
    console.log('Migrations match prisma/schema.prisma.');
  } else if (!sql) {
    console.log('No schema changes: nothing to write.');
  } else {
    if (!arg || !/^[a-z0-9_]+$/.test(arg)) {
      console.error('Usage: npm run db:migration -- <name in snake_case>');
      process.exit(2);
    }
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const dir = join(migrationsDir, `${stamp}_${arg}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'migration.sql'), sql);
    console.log(`Wrote ${join(dir, 'migration.sql')}`);
  }
}
