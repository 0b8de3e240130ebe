// One holder per (purpose, connection) across every instance sharing the database: one backfill
// per connection, one poller per connection. On PostgreSQL a transaction-scoped advisory lock is
// held for the duration of the work (it dies with the session, so a crashed instance frees it).
// PGlite is one process by construction (it owns its data directory), so a set in memory is
// exact there; it also keeps two tasks of one process from each taking a pooled connection.
import type { Database } from '../storage/database.ts';

export type LockPurpose = 'sync' | 'pull';

// Two int4 keys: a namespace per purpose, and PostgreSQL's own hashtext() of the connection id. A
// hash collision makes two connections share a lock (they take turns), never two holders of one.
const NAMESPACE: Record<LockPurpose, number> = { sync: 0x4c480001, pull: 0x4c480002 };

export type Locked<T> = { acquired: true; value: T } | { acquired: false };

export class ConnectionLocks {
  private readonly held = new Set<string>();

  constructor(private readonly db: Pick<Database, 'kind' | 'sql'>) {}

  /** Runs fn holding the lock; does not run it (acquired: false) when another holder has it. */
  async tryWith<T>(purpose: LockPurpose, connectionId: string, fn: () => Promise<T>): Promise<Locked<T>> {
    const key = `${purpose}:${connectionId}`;
    if (this.held.has(key)) return { acquired: false };
    this.held.add(key);
    try {
      if (this.db.kind !== 'postgres') return { acquired: true, value: await fn() };
      return await this.db.sql.transaction(async (tx) => {
        const [row] = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1::int, hashtext($2)) AS ok', [NAMESPACE[purpose] | 0, connectionId]);
        if (!row?.ok) return { acquired: false } as const;
        // This session only holds the lock while the work runs on other connections: idle here
        // for as long as that takes is the point (the pool's idle-in-transaction limit would end it).
        await tx.query('SET LOCAL idle_in_transaction_session_timeout = 0');
        return { acquired: true, value: await fn() } as const;
      });
    } finally {
      this.held.delete(key);
    }
  }
}
