// connection.requestLog is a troubleshooting aid (what did the IdP send, what did we answer), not
// the audit trail: it keeps the last REQUEST_LOG_RETENTION_DAYS days and at most
// REQUEST_LOG_MAX_ROWS_PER_CONNECTION rows per connection, so a chatty IdP cannot grow it forever.
// Every instance may run this; the deletes are idempotent.
import type { SqlClient } from '../storage/sql.ts';
import type { Logger } from '../hub/logger.ts';
import { PeriodicTask } from './periodic.ts';

export interface RequestLogRetentionOptions {
  sql: SqlClient;
  logger: Logger;
  retentionDays: number;
  maxRowsPerConnection: number;
  /** How often to prune (default hourly); the first run is a minute after start. */
  intervalMs?: number;
}

/** Rows deleted per statement: short transactions that never hold many locks. */
const CHUNK = 5_000;

export class RequestLogRetention {
  private readonly task: PeriodicTask;

  constructor(private readonly options: RequestLogRetentionOptions) {
    const intervalMs = options.intervalMs ?? 3_600_000;
    this.task = new PeriodicTask({
      name: 'request log retention',
      logger: options.logger,
      intervalMs,
      firstRunAfterMs: Math.min(intervalMs, 60_000),
      run: async () => void (await this.prune()),
    });
  }

  start() {
    this.task.start();
  }

  stop() {
    return this.task.stop();
  }

  /** One pass: rows older than the retention, then each connection's rows beyond the cap. */
  async prune(): Promise<{ expired: number; overCap: number }> {
    const { sql, retentionDays, maxRowsPerConnection } = this.options;
    let expired = 0;
    for (;;) {
      const rows = await sql.query<{ n: number }>(
        `WITH gone AS (DELETE FROM connection_request_log WHERE id IN (
           SELECT id FROM connection_request_log WHERE at < now() - make_interval(days => $1) LIMIT $2) RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [retentionDays, CHUNK],
      );
      expired += rows[0]?.n ?? 0;
      if ((rows[0]?.n ?? 0) < CHUNK) break;
    }
    let overCap = 0;
    // The (connection_id, id) index finds each connection's oldest row to keep without a scan.
    const connections = await sql.query<{ connectionId: string; keepFrom: string }>(
      `SELECT c.id AS "connectionId", k.id::text AS "keepFrom" FROM directory_connection c
       CROSS JOIN LATERAL (SELECT id FROM connection_request_log l WHERE l.connection_id = c.id ORDER BY id DESC OFFSET $1 - 1 LIMIT 1) k`,
      [maxRowsPerConnection],
    );
    for (const { connectionId, keepFrom } of connections) {
      for (;;) {
        const rows = await sql.query<{ n: number }>(
          `WITH gone AS (DELETE FROM connection_request_log WHERE id IN (
             SELECT id FROM connection_request_log WHERE connection_id = $1 AND id < $2::bigint LIMIT $3) RETURNING 1)
           SELECT count(*)::int AS n FROM gone`,
          [connectionId, keepFrom, CHUNK],
        );
        overCap += rows[0]?.n ?? 0;
        if ((rows[0]?.n ?? 0) < CHUNK) break;
      }
    }
    if (expired || overCap) this.options.logger.info({ expired, overCap }, 'request log retention: pruned');
    return { expired, overCap };
  }
}
