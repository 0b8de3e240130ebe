// Disabling an endpoint that kept failing: in the transaction of the failed attempt that crossed the
// window, the endpoint is DISABLED with a reason, and a `webhook_endpoint.disabled` lifecycle event
// (with its audit row) is appended under the organization's audit-chain lock, exactly as the engine
// appends events (the same statement: the event is queued for the organization's other endpoints
// that asked for it, and shows in the events API and subscriptions).
import { linkAuditDrafts } from '../engine/audit-log.ts';
import type { LifecycleEventRecord } from '../engine/types.ts';
import { appendAuditAndEvents } from '../engine/unit-of-work/audit.ts';
import type { SqlExecutor } from '../storage/sql.ts';

export const ENDPOINT_DISABLED_EVENT = 'webhook_endpoint.disabled';

export async function disableFailingEndpoint(
  tx: SqlExecutor,
  organizationId: string,
  endpointId: string,
  windowMs: number,
  last: { status: number | null; error: string | null },
): Promise<LifecycleEventRecord[]> {
  const window = windowMs >= 3_600_000 ? `${Math.round((windowMs / 3_600_000) * 10) / 10} h` : `${Math.round(windowMs / 1000)} s`;
  const reason = `every delivery failed for ${window} (last: ${last.error ?? `HTTP ${last.status}`}); fix the endpoint, then enable it`;
  const [disabled] = await tx.query<{ url: string }>(
    `UPDATE webhook_endpoint SET status = 'DISABLED', disabled_reason = $2, disabled_at = now(), updated_at = now() WHERE id = $1 AND status = 'ENABLED' RETURNING url`,
    [endpointId, reason],
  );
  if (!disabled) return [];
  const now = new Date();
  const actor = { type: 'system' as const, name: 'webhook delivery' };
  const linked = await linkAuditDrafts(tx, organizationId, [{ action: ENDPOINT_DISABLED_EVENT, actor, targetType: 'webhook_endpoint', targetId: endpointId, data: { reason } }], now);
  return appendAuditAndEvents(tx, organizationId, linked, [{ type: ENDPOINT_DISABLED_EVENT, auditIndex: 0, occurredAt: now, receivedAt: now, data: { endpointId, reason, lastResponseStatus: last.status } }]);
}
