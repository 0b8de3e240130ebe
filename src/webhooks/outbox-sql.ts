// The webhook outbox: a delivery row per (event, endpoint that asked for its type), and per (audit
// row, SIEM stream that takes audit rows), inserted by the statement that inserts the events and the
// rows (src/engine/audit-log.ts), so it commits with them or not at all, under the audit-chain lock,
// at no extra round trip.
//
// Why an own outbox table and not pg-boss 10.4.2 (tried: it runs in-process on PGlite with a
// `db.executeSql` adapter and can insert inside the caller's transaction):
//  - its insert is a statement of its own that needs the event ids first: one more round trip in
//    every engine batch with events, inside the chain lock, where this is a CTE of the same statement;
//  - its retry delay is `retry_delay · 2^n` (with `retryBackoff`) computed in its own SQL
//    (plans.js, failJobs): neither a published schedule (Svix's 5 s, 5 min, 30 min, 2 h, 5 h, 10 h)
//    nor a receiver's Retry-After can set the next attempt's time, short of completing each job and
//    sending a new one per attempt (then its job ids mean nothing and its retry machinery is unused);
//  - its workers poll (0.5 s minimum in 10.x), while the hub wakes the worker right after commit;
//  - the delivery log, per-endpoint health and "resend since event N" need tables of the hub anyway.
// What remains is one table and `FOR UPDATE SKIP LOCKED` with a lease (as the revocation job does),
// which runs the same on PGlite and PostgreSQL.

/** INSERT … SELECT queuing the events of CTE `events` (lifecycle_event columns) for their endpoints. */
export const webhookOutboxInsert = (events: string) => `
  INSERT INTO webhook_delivery (endpoint_id, organization_id, event_id, event_type, webhook_id)
  SELECT w.id, e.organization_id, e.id, e.type, ${eventWebhookId('e.id')}
  FROM ${events} e JOIN webhook_endpoint w ON w.organization_id = e.organization_id AND w.status = 'ENABLED'
    AND (cardinality(w.event_types) = 0 OR e.type = ANY(w.event_types))
  ORDER BY e.id`;

/** INSERT … SELECT queuing the audit rows of CTE `rows` (id, organization_id, action) for the SIEM streams that take them. */
export const siemAuditOutboxInsert = (rows: string) => `
  INSERT INTO webhook_delivery (endpoint_id, organization_id, audit_event_id, event_type, webhook_id)
  SELECT w.id, a.organization_id, a.id, 'audit.' || a.action, 'aud_' || a.id::text
  FROM ${rows} a JOIN webhook_endpoint w ON w.organization_id = a.organization_id AND w.status = 'ENABLED' AND w.include_audit`;

/**
 * The webhook-id of an event's delivery: the same for every attempt, replay and resend of that
 * event, so a receiver that dedupes on webhook-id applies each event once.
 */
export const eventWebhookId = (eventIdSql: string) => `'evt_' || ${eventIdSql}::text`;
