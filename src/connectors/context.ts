// The ConnectorContext the hub hands a connector for one call (webhook, pull, backfill, revoke):
// the connection, a logger naming it, and read-only look-ups of what the connection holds.
import type { SqlClient } from '../db/sql.ts';
import type { Logger } from '../logger.ts';
import type { ConnectionView, ConnectorContext } from './contract.ts';

export function connectorContext(services: { sql: SqlClient; logger: Logger }, connection: ConnectionView, extra: { signal?: AbortSignal } = {}): ConnectorContext {
  return {
    connection,
    logger: services.logger.child({ connectionId: connection.id, provider: connection.provider }),
    ...extra,
    async knownSourceIds(kind, sourceData) {
      const filter = sourceData ? JSON.stringify(sourceData) : null;
      const rows = await services.sql.query<{ sourceId: string }>(
        kind === 'user'
          ? `SELECT source_id AS "sourceId" FROM directory_user
             WHERE connection_id = $1 AND source_deleted_at IS NULL AND state <> 'DELETED' AND ($2::jsonb IS NULL OR source_data @> $2::jsonb)
             ORDER BY source_id`
          : `SELECT source_id AS "sourceId" FROM directory_group
             WHERE connection_id = $1 AND deleted_at IS NULL AND ($2::jsonb IS NULL OR source_data @> $2::jsonb)
             ORDER BY source_id`,
        [connection.id, filter],
      );
      return rows.map((r) => r.sourceId);
    },
  };
}
