// SIEM streaming formats. Splunk HTTP Event Collector's JSON event protocol: POST to the collector's
// /services/collector/event with `Authorization: Splunk <token>`, a batch being event objects
// `{ time, host, source, sourcetype, event }` one after another (no array, no commas). Lifecycle
// events and audit rows come through the same outbox, worker, retries and log as webhooks; a
// stream's deliveries are sent in batches (one request, one outcome for all of them).
import type { StreamEvent } from '../events/read.ts';
import type { SqlExecutor } from '../storage/sql.ts';
import { eventPayload } from './payload.ts';

export const HEC_SOURCE = 'lifecycle-hub';
export const HEC_SOURCETYPE_EVENT = 'lifecycle_hub:event';
export const HEC_SOURCETYPE_AUDIT = 'lifecycle_hub:audit';
/** Deliveries one HEC request carries at most. */
export const HEC_BATCH = 100;

export interface AuditRowForSiem {
  id: string;
  organizationId: string;
  seq: string;
  at: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  deliveryId: string | null;
  data: Record<string, unknown>;
  warnings: string[];
  testMode: boolean;
  hash: string;
}

export async function readAuditRows(sql: SqlExecutor, ids: readonly string[]): Promise<Map<string, AuditRowForSiem>> {
  if (!ids.length) return new Map();
  const rows = await sql.query<AuditRowForSiem>(
    `SELECT id, organization_id AS "organizationId", seq::text AS seq, at, actor_type AS "actorType", actor_id AS "actorId", action, target_type AS "targetType",
       target_id AS "targetId", delivery_id AS "deliveryId", data, warnings, test_mode AS "testMode", hash FROM audit_event WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, { ...r, at: new Date(r.at) }]));
}

const epochSeconds = (d: Date) => d.getTime() / 1000;

export function hecLifecycleEvent(e: StreamEvent, host: string) {
  return { time: epochSeconds(e.enforcedAt), host, source: HEC_SOURCE, sourcetype: HEC_SOURCETYPE_EVENT, event: eventPayload(e).data };
}

export function hecAuditRow(a: AuditRowForSiem, host: string) {
  return { time: epochSeconds(a.at), host, source: HEC_SOURCE, sourcetype: HEC_SOURCETYPE_AUDIT, event: { ...a, at: a.at.toISOString() } };
}

/** sendTestWebhook on a stream: the test payload as an event. */
export function hecTestEvent(payload: { timestamp: string }, host: string) {
  return { time: Date.parse(payload.timestamp) / 1000, host, source: HEC_SOURCE, sourcetype: HEC_SOURCETYPE_EVENT, event: payload };
}

/** HEC's batch body: the objects one per line. */
export const hecBody = (objects: readonly unknown[]) => objects.map((o) => JSON.stringify(o)).join('\n');

// Datadog's logs intake: POST /api/v2/logs with `DD-API-KEY`, a JSON array (at most 1000 logs) of
// { message, ddsource, ddtags, hostname, service, …attributes }; 202 when accepted.
export function datadogLog(hec: { time: number; host: string; sourcetype: string; event: Record<string, unknown> }, organizationId: string) {
  const kind = hec.sourcetype === HEC_SOURCETYPE_AUDIT ? 'audit' : 'event';
  const what = (kind === 'audit' ? hec.event.action : hec.event.type) as string | undefined;
  return {
    message: `${kind} ${what ?? ''}`.trim(),
    ddsource: HEC_SOURCE,
    service: HEC_SOURCE,
    hostname: hec.host,
    ddtags: `organization_id:${organizationId},kind:${kind}`,
    date: new Date(hec.time * 1000).toISOString(),
    lifecycle_hub: hec.event,
  };
}
