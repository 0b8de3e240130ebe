// The ConnectorContext the hub hands a connector for one call (webhook, pull, backfill, revoke):
// the connection, a logger naming it, its way out (the outbound guard for its connector), and
// read-only look-ups of what the connection holds (ctx.directory, knownSourceIds).
import type { SqlClient } from '../storage/sql.ts';
import type { Logger } from '../hub/logger.ts';
import { redactSecrets } from '../secrets/redact.ts';
import type { AnyConnector, ConnectionView, ConnectorContext, OutboundHttp } from './contract.ts';
import { directoryReader } from './directory/reads.ts';

export function connectorContext(services: { sql: SqlClient; logger: Logger; outbound: OutboundHttp }, connection: ConnectionView, extra: { signal?: AbortSignal } = {}): ConnectorContext {
  return {
    connection,
    logger: services.logger.child({ connectionId: connection.id, provider: connection.provider }),
    outbound: services.outbound,
    ...extra,
    directory: directoryReader(services.sql, connection.id),
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

/**
 * A connector's failure as the hub records it (sync.error, connection.lastError, a revocation's
 * error): its message with secret shapes and this connection's own secret values redacted, at
 * most `max` characters. Connectors summarize upstream answers themselves; this is the backstop.
 */
export function failureText(error: unknown, connector: AnyConnector | undefined, connection: ConnectionView, max = 1000): string {
  const message = error instanceof Error ? error.message : String(error);
  const secrets = (connector?.secretFields ?? []).map((field) => (connection.config as Record<string, unknown>)[field]);
  return redactSecrets(message, secrets).slice(0, max);
}
