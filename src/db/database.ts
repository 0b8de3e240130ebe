import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.ts';
import { applyMigrations } from './migrate.ts';
import { pgliteSql, postgresSql, type SqlClient } from './sql.ts';

export interface DatabaseOptions {
  /** postgres://... ; without it the embedded PGlite database is used. */
  url?: string;
  /** Where PGlite keeps its files; "memory://" keeps nothing. */
  dataDir?: string;
  poolSize?: number;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
  /** Start PGlite from a dump (PGlite.dumpDataDir) instead of an empty cluster: skips initdb. */
  loadDataDir?: Blob;
}

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly prisma: PrismaClient;
  readonly sql: SqlClient;
  readonly adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  /** Names of the migrations applied while opening. */
  readonly appliedMigrations: string[];
  close(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  if (options.url) return openPostgres(options.url, options);
  return openPGlite(options.dataDir ?? join(process.cwd(), 'data'), options);
}

async function openPGlite(dataDir: string, options: DatabaseOptions): Promise<Database> {
  let pglite: PGlite;
  if (dataDir.startsWith('memory://')) {
    pglite = new PGlite(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {});
  } else {
    const dir = join(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    pglite = new PGlite(dir);
  }
  await pglite.waitReady;
  const adapterFactory = new PrismaPGlite(pglite);
  return finishOpening('pglite', adapterFactory, pgliteSql(pglite), options, () => pglite.close());
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    // Keeps one stuck statement from holding a connection (and the audit chain lock) forever.
    statement_timeout: 30_000,
    idle_in_transaction_session_timeout: 60_000,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {});
  const adapterFactory = new PrismaPg(pool);
  return finishOpening('postgres', adapterFactory, postgresSql(pool), options, () => pool.end(), scriptsRunWhole(adapterFactory));
}

async function finishOpening(
  kind: Database['kind'],
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  sql: SqlClient,
  options: DatabaseOptions,
  closeDriver: () => Promise<void>,
  migrationFactory: SqlMigrationAwareDriverAdapterFactory = adapterFactory,
): Promise<Database> {
  try {
    const appliedMigrations = options.migrate === false ? [] : await applyMigrations(migrationFactory);
    const prisma = new PrismaClient({ adapter: adapterFactory });
    return {
      kind,
      prisma,
      sql,
      adapterFactory,
      appliedMigrations,
      async close() {
        await prisma.$disconnect().catch(() => {});
        await closeDriver();
      },
    };
  } catch (error) {
    await closeDriver().catch(() => {});
    throw error;
  }
}

/**
 * @prisma/adapter-pg runs a migration script by splitting it on every ";", which breaks statements
 * with a semicolon inside (PL/pgSQL bodies such as the audit trigger). PostgreSQL's simple query
 * protocol takes the whole script as the native engine sends it, so migrations get that instead.
 */
function scriptsRunWhole(factory: PrismaPg): SqlMigrationAwareDriverAdapterFactory {
  type Adapter = Awaited<ReturnType<PrismaPg['connect']>> & { onError(error: unknown): never };
  const patch = (adapter: Adapter) => {
    adapter.executeScript = async (script: string) => {
      try {
        await adapter.underlyingDriver().query(script);
      } catch (error) {
        adapter.onError(error);
      }
    };
    return adapter;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => patch((await factory.connect()) as Adapter),
    connectToShadowDb: async () => patch((await factory.connectToShadowDb()) as Adapter),
  };
}
