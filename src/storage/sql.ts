// The lifecycle engine's direct line to PostgreSQL (or PGlite).
//
// Prisma serves the model, the migrations and the GraphQL reads. The engine's write path bypasses
// it: measured on this project's 2-core machines, a statement inside a Prisma interactive
// transaction cost about 0.7 ms of Node CPU against about 0.15 ms through the driver itself, and
// the engine's throughput is bounded by exactly that CPU. Both share one pool / one PGlite.
import type { PGlite, Transaction as PGliteTransaction } from '@electric-sql/pglite';
import type pg from 'pg';

/**
 * A statement the engine runs over and over: on PostgreSQL it is prepared once per connection and
 * its plan reused (planning cost more than executing for most engine statements).
 */
export interface PreparedStatement {
  readonly text: string;
  readonly name: string;
}

let preparedCount = 0;
export function prepared(text: string): PreparedStatement {
  return { text, name: `lh_${++preparedCount}` };
}

export type Statement = string | PreparedStatement;

export interface SqlExecutor {
  query<R = Record<string, unknown>>(statement: Statement, params?: readonly unknown[]): Promise<R[]>;
}

const textOf = (s: Statement) => (typeof s === 'string' ? s : s.text);
const pgQuery = (s: Statement, params?: readonly unknown[]) =>
  typeof s === 'string' ? { text: s, values: params as unknown[] } : { text: s.text, name: s.name, values: params as unknown[] };

export interface SqlClient extends SqlExecutor {
  readonly dialect: 'pglite' | 'postgres';
  /** Runs fn in one transaction; rolls back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

export function pgliteSql(db: PGlite): SqlClient {
  const wrap = (q: PGlite | PGliteTransaction): SqlExecutor => ({
    async query<R>(statement: Statement, params?: readonly unknown[]) {
      const result = await q.query<R>(textOf(statement), params as unknown[]);
      return result.rows;
    },
  });
  return {
    dialect: 'pglite',
    ...wrap(db),
    // PGlite runs one transaction at a time on its single session; queries outside wait for it.
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
  };
}

export function postgresSql(pool: pg.Pool): SqlClient {
  return {
    dialect: 'postgres',
    async query<R>(statement: Statement, params?: readonly unknown[]) {
      const result = await pool.query(pgQuery(statement, params));
      return result.rows as R[];
    },
    async transaction(fn) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const value = await fn({
          async query<R>(statement: Statement, params?: readonly unknown[]) {
            const result = await client.query(pgQuery(statement, params));
            return result.rows as R[];
          },
        });
        await client.query('COMMIT');
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        // A connection whose ROLLBACK failed is in an unknown state: drop it from the pool.
        client.release(broken);
      }
    },
  };
}

const retryableCodes = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000', '08001', '08003', '08004', '08006', // connection exceptions
]);
const retryableSystemCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND']);
// Prisma's codes for an unreachable or overloaded database.
const retryablePrismaCodes = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2034']);

/** What every surface (SCIM, GraphQL, the engine) tells a client to wait when the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

/** True when the failure says nothing about the request: trying again later may succeed. */
export function isTransientDatabaseError(error: unknown): boolean {
  const e = error as { code?: string; message?: string; cause?: unknown } | undefined;
  if (!e) return false;
  if (e.code && (retryableCodes.has(e.code) || retryableSystemCodes.has(e.code) || retryablePrismaCodes.has(e.code))) return true;
  if (typeof e.message === 'string' && /Connection terminated|connection timeout|Client has encountered a connection error/i.test(e.message)) return true;
  return e.cause ? isTransientDatabaseError(e.cause) : false;
}

export function isUniqueViolation(error: unknown): error is { code: '23505'; constraint?: string } {
  return (error as { code?: string } | undefined)?.code === '23505';
}

// The hub's one id check. Ids are PostgreSQL uuids: a string that is not one (in the canonical
// hyphenated form) names no row, and is answered "not found" before it reaches a query, where
// PostgreSQL would refuse it with an error. Shape only: the version digit is not checked (uuid's
// validate() would refuse ids of versions it does not know), as PostgreSQL does not check it.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (id: string): boolean => UUID.test(id);

/**
 * "Last used" bookkeeping (api_key.last_used_at, scim_token.last_used_at,
 * browser_session.last_seen_at, directory_connection.last_synced_at): `statement` ($1 = the id) runs
 * at most once per interval per id, off the request path, so a busy credential costs one write per
 * interval rather than one per request. The ids remembered are bounded: past maxIds the memory is
 * cleared, which costs a few early writes, never an unbounded map.
 */
export function throttledTouch(sql: SqlExecutor, statement: string, intervalMs: number, onError: (error: unknown) => void = () => {}, maxIds = 10_000): (id: string, now?: number) => void {
  const written = new Map<string, number>();
  return (id, now = Date.now()) => {
    if (now - (written.get(id) ?? 0) < intervalMs) return;
    if (written.size >= maxIds) written.clear();
    written.set(id, now);
    sql.query(statement, [id]).catch(onError);
  };
}
