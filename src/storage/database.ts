import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { applyMigrations } from './migrate.ts';
import { pgliteSql, postgresSql, type SqlClient, type SqlExecutor } from './sql.ts';

export interface DatabaseOptions {
  /** postgres://... ; without it the embedded PGlite database is used. */
  url?: string;
  /** Where PGlite keeps its files; "memory://" keeps nothing. */
  dataDir?: string;
  poolSize?: number;
  /** PGlite's shared_buffers in MB (default 128, PostgreSQL's own default): all of it lives in the process. */
  pgliteSharedBuffersMb?: number;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
  /** Where the migrations are (default prisma/migrations): a test of one opens a database as an older build left it. */
  migrationsDir?: string;
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
  /** Observes every SQL statement sent (Prisma's and the engine's): for statement budgets in tests and benchmarks. */
  onStatement(listener: (sql: string) => void): () => void;
  close(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  if (options.url) return openPostgres(options.url, options);
  return openPGlite(options.dataDir ?? join(process.cwd(), 'data'), options);
}

async function openPGlite(dataDir: string, options: DatabaseOptions): Promise<Database> {
  // Loaded only when used: an instance on PostgreSQL does not carry the embedded database's code.
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
  // A start parameter, not `postgresqlconf` (which rewrites the data directory's postgresql.conf).
  const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${options.pgliteSharedBuffersMb ?? 128}MB`];
  if (dataDir.startsWith('memory://')) {
    const pglite = new PGlite({ startParams, ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}) });
    await pglite.waitReady;
    return finishOpening('pglite', new PrismaPGlite(pglite), pgliteSql(pglite), options, () => pglite.close());
  }
  const dir = join(dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  // Before PGlite touches a file: a second process on the same files loses acknowledged writes (data-dir-lock.ts).
  const unlock = lockDataDir(dataDir);
  let pglite: PGlite;
  try {
    pglite = new PGlite(dir, { startParams });
    await pglite.waitReady;
  } catch (error) {
    unlock();
    throw new DatabaseDamagedError(dir, error);
  }
  return finishOpening('pglite', new PrismaPGlite(pglite), pgliteSql(pglite), options, () => pglite.close().finally(unlock));
}

/**
 * PGlite could not start on the files in DATA_DIR: it aborts (`RuntimeError: Aborted()`, e.g. a WAL
 * segment its control file needs is gone) or fails to initialize. Said plainly, with what to do,
 * instead of a WebAssembly stack; the files are left as they are.
 */
export class DatabaseDamagedError extends Error {
  readonly code = 'DATABASE_DAMAGED';
  constructor(
    readonly pgliteDir: string,
    cause: unknown,
  ) {
    super(
      `the embedded database in ${pgliteDir} could not be opened (PGlite: ${String((cause as Error)?.message ?? cause).split('\n')[0]}). ` +
        'Its files are damaged or incomplete (a disk full, files removed or copied while the hub ran, a restore of part of DATA_DIR) ' +
        'or were written by another PGlite version; the hub has not changed them. ' +
        `To recover: stop every process using DATA_DIR, then restore DATA_DIR from a backup taken while the hub was stopped; ` +
        `or move ${pgliteDir} aside (keep it for investigation) and start again to begin with an empty database.`,
      { cause },
    );
    this.name = 'DatabaseDamagedError';
  }
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
  // Nor one that loses it while checked out (a transaction of the engine or of Prisma): pg emits
  // 'error' on the client, and pg-pool listens only while the client is idle, so an unheard 'error'
  // killed the process whenever PostgreSQL restarted under load (test/faults/postgres-outage). The
  // statement in flight still rejects, and the client, no longer queryable, leaves the pool on release.
  pool.on('connect', (client) => client.on('error', () => {}));
  const adapterFactory = new PrismaPg(pool);
  // Migrations get a one-connection pool of their own, ended afterwards: the schema engine takes a
  // session-level advisory lock (pg_advisory_lock) and, over the shared pool, its unlock could run
  // on another connection, leaving the lock held by an idle pooled connection for the life of this
  // instance, so a second instance starting on the same database timed out waiting for it.
  const migrationPool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5_000 });
  migrationPool.on('error', () => {});
  try {
    return await finishOpening('postgres', adapterFactory, postgresSql(pool), options, () => pool.end(), scriptsRunWhole(new PrismaPg(migrationPool)));
  } finally {
    await migrationPool.end().catch(() => {});
  }
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
    const appliedMigrations = options.migrate === false ? [] : await applyMigrations(migrationFactory, sql, options.migrationsDir);
    const listeners = new Set<(sql: string) => void>();
    const notify = (text: string) => {
      for (const listener of listeners) listener(text);
    };
    const prisma = new PrismaClient({ adapter: observed(adapterFactory, notify) });
    return {
      kind,
      prisma,
      sql: observedSql(sql, notify),
      adapterFactory,
      appliedMigrations,
      onStatement(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
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

type Queryable = { queryRaw(q: { sql: string }): Promise<unknown>; executeRaw(q: { sql: string }): Promise<unknown> };

function observeQueryable<T extends Queryable>(target: T, notify: (sql: string) => void): T {
  const queryRaw = target.queryRaw.bind(target);
  const executeRaw = target.executeRaw.bind(target);
  target.queryRaw = (q) => {
    notify(q.sql);
    return queryRaw(q);
  };
  target.executeRaw = (q) => {
    notify(q.sql);
    return executeRaw(q);
  };
  return target;
}

/** Prisma's adapter, reporting each statement it sends (including inside transactions). */
function observed(factory: SqlMigrationAwareDriverAdapterFactory, notify: (sql: string) => void): SqlMigrationAwareDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connectToShadowDb: () => factory.connectToShadowDb(),
    async connect() {
      const adapter = observeQueryable(await factory.connect(), notify);
      const startTransaction = adapter.startTransaction.bind(adapter);
      adapter.startTransaction = async (isolationLevel) => observeQueryable(await startTransaction(isolationLevel), notify);
      return adapter;
    },
  };
}

function observedSql(sql: SqlClient, notify: (text: string) => void): SqlClient {
  const wrap = (e: SqlExecutor): SqlExecutor => ({
    query(statement, params) {
      notify(typeof statement === 'string' ? statement : statement.text);
      return e.query(statement, params);
    },
  });
  return { dialect: sql.dialect, ...wrap(sql), transaction: (fn) => sql.transaction((tx) => fn(wrap(tx))) };
}
