// Migrations on a fresh database: applied at open, recorded in _prisma_migrations the way
// `prisma migrate deploy` records them (so both tools agree), and not applied twice.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrationsDir, migrationsRecorded, readMigrationList } from '../../src/storage/migrate.ts';
import { freshDatabase } from '../support/db.ts';

const committed = readdirSync(migrationsDir, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('migrations on a fresh database', () => {
  it('applies every committed migration once and records each as prisma migrate does', async () => {
    const fresh = await freshDatabase();
    try {
      const db = await fresh.open();
      expect(db.appliedMigrations).toEqual(committed);
      const rows = await db.sql.query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; applied_steps_count: number }>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
      );
      expect(rows.map((r) => r.migration_name)).toEqual(committed);
      for (const row of rows) {
        const sql = readFileSync(join(migrationsDir, row.migration_name, 'migration.sql'));
        expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.rolled_back_at).toBeNull();
      }
      // The model's tables exist, with the append-only audit trigger.
      const triggers = await db.sql.query<{ tgname: string }>(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal ORDER BY tgname`);
      expect(triggers.map((t) => t.tgname)).toEqual(['audit_event_append_only', 'audit_event_no_truncate']);
      await db.close();

      const again = await fresh.open();
      expect(again.appliedMigrations).toEqual([]);
      await again.close();
    } finally {
      await fresh.cleanup();
    }
  });

  // A start with nothing to apply skips Prisma's schema engine (its WebAssembly stays resident once
  // loaded); anything else about _prisma_migrations leaves the decision to the engine.
  it('counts the database up to date only when it records exactly the shipped migrations, finished, with their checksums', async () => {
    const fresh = await freshDatabase();
    try {
      const shipped = await readMigrationList();
      const bare = await fresh.open({ migrate: false });
      expect(await migrationsRecorded(bare.sql, shipped)).toBe(false);
      await bare.close();
      const db = await fresh.open();
      expect(await migrationsRecorded(db.sql, shipped)).toBe(true);
      const last = committed.at(-1)!;
      const checksumOfLast = createHash('sha256').update(readFileSync(join(migrationsDir, last, 'migration.sql'))).digest('hex');
      const changes: Array<[string, string, string]> = [
        ['a changed migration file', `UPDATE _prisma_migrations SET checksum = 'x' || substr(checksum, 2) WHERE migration_name = '${last}'`, `UPDATE _prisma_migrations SET checksum = '${checksumOfLast}' WHERE migration_name = '${last}'`],
        ['a failed attempt', `UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = '${last}'`, `UPDATE _prisma_migrations SET finished_at = now() WHERE migration_name = '${last}'`],
        ['a migration this build does not ship', `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count) VALUES ('newer', 'c', '29990101000000_newer', now(), now(), 1)`, `DELETE FROM _prisma_migrations WHERE id = 'newer'`],
        ['a shipped migration not recorded', `UPDATE _prisma_migrations SET migration_name = 'renamed' WHERE migration_name = '${last}'`, `UPDATE _prisma_migrations SET migration_name = '${last}' WHERE migration_name = 'renamed'`],
      ];
      for (const [what, change, undo] of changes) {
        await db.sql.query(change);
        expect(await migrationsRecorded(db.sql, shipped), what).toBe(false);
        await db.sql.query(undo);
        expect(await migrationsRecorded(db.sql, shipped), `${what}, undone`).toBe(true);
      }
      // A rolled-back attempt next to the finished one (prisma migrate resolve --rolled-back, then deploy) is history.
      await db.sql.query(`INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, rolled_back_at, applied_steps_count) VALUES ('old', 'c', '${last}', now(), now(), 0)`);
      expect(await migrationsRecorded(db.sql, shipped)).toBe(true);
      await db.close();
    } finally {
      await fresh.cleanup();
    }
  });
});
