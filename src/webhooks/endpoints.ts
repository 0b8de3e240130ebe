// Webhook endpoints of an organization: created with a signing secret shown once (stored sealed by
// the SecretBox), updated, disabled and enabled, deleted, their secret rotated with an overlap; and
// what re-queues deliveries: a replay, "resend every event after N", a test event. Each change is an
// audit row of the organization.
import { v7 as uuidv7 } from 'uuid';
import { appendAudit } from '../engine/audit-log.ts';
import type { Actor } from '../engine/types.ts';
import { HubError } from '../hub/errors.ts';
import { urlRefusal, type OutboundPolicy } from '../outbound/index.ts';
import type { SecretBox } from '../secrets/index.ts';
import type { SqlClient, SqlExecutor } from '../storage/sql.ts';
import { eventWebhookId } from './outbox-sql.ts';
import { TEST_EVENT_TYPE, testPayload } from './payload.ts';
import { generateSigningSecret } from './signing.ts';

export interface EndpointDeps {
  sql: SqlClient;
  box: SecretBox;
  /** The delivery guard's policy: a URL it would refuse outright is refused when configured. */
  policy: Pick<OutboundPolicy, 'name' | 'allowedHosts' | 'allowPrivateNetworks'>;
}

export interface EndpointInput {
  url?: string;
  eventTypes?: readonly string[] | null;
  description?: string | null;
}

const MAX_EVENT_TYPES = 100;
/** A rotation's overlap unless asked otherwise: a day, as Svix's default (24 h). */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 86_400;
/** At most this many events one resend queues: page by calling again after the last one queued. */
export const MAX_RESEND_EVENTS = 10_000;

function checkedUrl(url: string, policy: EndpointDeps['policy']): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HubError('BAD_USER_INPUT', 'url must be an absolute http(s) URL', { field: 'url' });
  }
  if (url.length > 2000) throw new HubError('BAD_USER_INPUT', 'url must be at most 2000 characters', { field: 'url' });
  if (parsed.username || parsed.password) throw new HubError('BAD_USER_INPUT', 'url must not carry credentials; the signature authenticates the hub', { field: 'url' });
  const refusal = urlRefusal(parsed, policy);
  if (refusal) throw new HubError('BAD_USER_INPUT', refusal.message, { field: 'url' });
  return parsed.toString();
}

function checkedTypes(types: readonly string[] | null | undefined): string[] {
  const list = [...new Set(types ?? [])];
  if (list.length > MAX_EVENT_TYPES || list.some((t) => !/^[a-z0-9_.*-]{1,100}$/i.test(t))) {
    throw new HubError('BAD_USER_INPUT', `eventTypes takes at most ${MAX_EVENT_TYPES} event types (letters, digits, . _ -); empty: every type`, { field: 'eventTypes' });
  }
  return list;
}

function checkedDescription(description: string | null | undefined): string | null {
  if (description == null) return null;
  if (description.length > 500) throw new HubError('BAD_USER_INPUT', 'description must be at most 500 characters', { field: 'description' });
  return description;
}

/** The URL as audit rows show it: no query string (a receiver's token may sit there). */
const auditedUrl = (url: string) => {
  const u = new URL(url);
  return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
};

export async function createEndpoint(deps: EndpointDeps, organizationId: string, input: Required<Pick<EndpointInput, 'url'>> & EndpointInput, actor: Actor) {
  const url = checkedUrl(input.url, deps.policy);
  const eventTypes = checkedTypes(input.eventTypes);
  const description = checkedDescription(input.description);
  const secret = generateSigningSecret();
  const id = uuidv7();
  await deps.sql.transaction(async (tx) => {
    const org = await tx.query('SELECT 1 FROM organization WHERE id = $1', [organizationId]);
    if (!org.length) throw new HubError('NOT_FOUND', `organization ${organizationId} not found`, { field: 'organizationId' });
    await tx.query(
      `INSERT INTO webhook_endpoint (id, organization_id, url, description, event_types, secret_sealed) VALUES ($1, $2, $3, $4, $5::text[], $6)`,
      [id, organizationId, url, description, eventTypes, deps.box.seal(secret)],
    );
    await appendAudit(tx, organizationId, [{ action: 'webhook_endpoint.created', actor, targetType: 'webhook_endpoint', targetId: id, data: { url: auditedUrl(url), eventTypes } }]);
  });
  return { id, secret };
}

/** Where each SIEM format takes events, and what its credential looks like. */
const SIEM_FORMATS = {
  SPLUNK_HEC: { path: /\/services\/collector(\/event)?(\/1\.0)?\/?$/, where: '…/services/collector/event', credential: 'the HEC token', action: 'splunk_hec' },
  DATADOG_LOGS: { path: /\/api\/v2\/logs\/?$/, where: 'https://http-intake.logs.<site>/api/v2/logs', credential: 'a Datadog API key', action: 'datadog_logs' },
} as const;

/**
 * A SIEM stream (a Splunk HTTP Event Collector, Datadog's logs intake): lifecycle events (of
 * `eventTypes`) and, with includeAudit, every audit row of the organization. The credential is stored sealed.
 */
export async function createSiemStream(
  deps: EndpointDeps,
  organizationId: string,
  kind: keyof typeof SIEM_FORMATS,
  input: Required<Pick<EndpointInput, 'url'>> & EndpointInput & { token: string; includeAudit: boolean },
  actor: Actor,
) {
  const format = SIEM_FORMATS[kind];
  const url = checkedUrl(input.url, deps.policy);
  if (!format.path.test(new URL(url).pathname)) throw new HubError('BAD_USER_INPUT', `url must be the intake endpoint, ${format.where}`, { field: 'url' });
  if (!/^[\x21-\x7e]{8,200}$/.test(input.token)) throw new HubError('BAD_USER_INPUT', `the credential must be ${format.credential} (8 to 200 printable characters)`, { field: kind === 'SPLUNK_HEC' ? 'token' : 'apiKey' });
  const eventTypes = checkedTypes(input.eventTypes);
  const description = checkedDescription(input.description);
  const id = uuidv7();
  await deps.sql.transaction(async (tx) => {
    const org = await tx.query('SELECT 1 FROM organization WHERE id = $1', [organizationId]);
    if (!org.length) throw new HubError('NOT_FOUND', `organization ${organizationId} not found`, { field: 'organizationId' });
    await tx.query(
      `INSERT INTO webhook_endpoint (id, organization_id, kind, url, description, event_types, include_audit, secret_sealed) VALUES ($1, $2, $3::"WebhookEndpointKind", $4, $5, $6::text[], $7, $8)`,
      [id, organizationId, kind, url, description, eventTypes, input.includeAudit, deps.box.seal(input.token)],
    );
    await appendAudit(tx, organizationId, [{ action: 'siem_stream.created', actor, targetType: 'webhook_endpoint', targetId: id, data: { url: auditedUrl(url), eventTypes, includeAudit: input.includeAudit, format: format.action } }]);
  });
  return { id };
}

async function lockEndpoint(tx: SqlExecutor, id: string) {
  const [row] = await tx.query<{ organizationId: string; status: string; url: string; kind: string }>('SELECT organization_id AS "organizationId", status, url, kind FROM webhook_endpoint WHERE id = $1 FOR UPDATE', [id]);
  if (!row) throw new HubError('NOT_FOUND', `webhook endpoint ${id} not found`);
  return row;
}

export async function updateEndpoint(deps: EndpointDeps, id: string, input: EndpointInput, actor: Actor) {
  const url = input.url === undefined ? null : checkedUrl(input.url, deps.policy);
  const eventTypes = input.eventTypes === undefined || input.eventTypes === null ? null : checkedTypes(input.eventTypes);
  const description = input.description === undefined ? undefined : checkedDescription(input.description);
  await deps.sql.transaction(async (tx) => {
    const row = await lockEndpoint(tx, id);
    await tx.query(
      `UPDATE webhook_endpoint SET url = COALESCE($2, url), event_types = COALESCE($3::text[], event_types),
         description = CASE WHEN $4 THEN $5 ELSE description END, updated_at = now() WHERE id = $1`,
      [id, url, eventTypes, description !== undefined, description ?? null],
    );
    await appendAudit(tx, row.organizationId, [{ action: 'webhook_endpoint.updated', actor, targetType: 'webhook_endpoint', targetId: id, data: { ...(url ? { url: auditedUrl(url) } : {}), ...(eventTypes ? { eventTypes } : {}) } }]);
  });
}

/** Disables (with the caller's reason) or enables; enabling clears the failure streak, so the disable window starts afresh. */
export async function setEndpointEnabled(deps: EndpointDeps, id: string, enabled: boolean, actor: Actor) {
  await deps.sql.transaction(async (tx) => {
    const row = await lockEndpoint(tx, id);
    if (enabled) {
      await tx.query(`UPDATE webhook_endpoint SET status = 'ENABLED', disabled_reason = NULL, disabled_at = NULL, failing_since = NULL, consecutive_failures = 0, updated_at = now() WHERE id = $1`, [id]);
    } else {
      await tx.query(`UPDATE webhook_endpoint SET status = 'DISABLED', disabled_reason = 'disabled through the API', disabled_at = now(), updated_at = now() WHERE id = $1 AND status = 'ENABLED'`, [id]);
    }
    await appendAudit(tx, row.organizationId, [{ action: enabled ? 'webhook_endpoint.enabled' : 'webhook_endpoint.disabled', actor, targetType: 'webhook_endpoint', targetId: id }]);
  });
}

export async function deleteEndpoint(deps: EndpointDeps, id: string, actor: Actor) {
  await deps.sql.transaction(async (tx) => {
    const row = await lockEndpoint(tx, id);
    // Its deliveries and their log go with it (ON DELETE CASCADE).
    await tx.query('DELETE FROM webhook_endpoint WHERE id = $1', [id]);
    await appendAudit(tx, row.organizationId, [{ action: 'webhook_endpoint.deleted', actor, targetType: 'webhook_endpoint', targetId: id, data: { url: auditedUrl(row.url) } }]);
  });
}

/** A new secret, returned once; the old one is still signed with (a second signature) for the overlap. */
export async function rotateEndpointSecret(deps: EndpointDeps, id: string, overlapSeconds: number, actor: Actor) {
  if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > 7 * 86_400) throw new HubError('BAD_USER_INPUT', 'overlapSeconds must be 0 to 604800 (a week)', { field: 'overlapSeconds' });
  const secret = generateSigningSecret();
  await deps.sql.transaction(async (tx) => {
    const row = await lockEndpoint(tx, id);
    if (row.kind !== 'STANDARD_WEBHOOKS') throw new HubError('FAILED_PRECONDITION', 'a SIEM stream authenticates with its collector token, not a signing secret');
    await tx.query(
      `UPDATE webhook_endpoint SET previous_secret_sealed = CASE WHEN $3 > 0 THEN secret_sealed END,
         previous_secret_expires_at = CASE WHEN $3 > 0 THEN now() + $3 * interval '1 second' END, secret_sealed = $2, updated_at = now() WHERE id = $1`,
      [id, deps.box.seal(secret), overlapSeconds],
    );
    await appendAudit(tx, row.organizationId, [{ action: 'webhook_endpoint.secret_rotated', actor, targetType: 'webhook_endpoint', targetId: id, data: { overlapSeconds } }]);
  });
  return { secret };
}

/** The organization of a delivery, or null. */
export async function deliveryOrganization(sql: SqlExecutor, deliveryId: string): Promise<string | null> {
  const [row] = await sql.query<{ organizationId: string }>('SELECT organization_id AS "organizationId" FROM webhook_delivery WHERE id = $1::int8', [deliveryId]);
  return row?.organizationId ?? null;
}

/** Sends a delivery again now, with its webhook-id, on a fresh retry schedule. */
export async function replayDelivery(deps: EndpointDeps, deliveryId: string, actor: Actor) {
  await deps.sql.transaction(async (tx) => {
    const [row] = await tx.query<{ organizationId: string; endpointId: string }>(
      `UPDATE webhook_delivery SET status = 'PENDING', attempts = 0, next_attempt_at = now(), lease_until = NULL WHERE id = $1::int8
       RETURNING organization_id AS "organizationId", endpoint_id AS "endpointId"`,
      [deliveryId],
    );
    if (!row) throw new HubError('NOT_FOUND', `webhook delivery ${deliveryId} not found`);
    await appendAudit(tx, row.organizationId, [{ action: 'webhook_delivery.replayed', actor, targetType: 'webhook_delivery', targetId: deliveryId, data: { endpointId: row.endpointId } }]);
  });
}

/** Queues every event after `afterEventId` the endpoint subscribes to (not already pending for it); returns how many. */
export async function resendEvents(deps: EndpointDeps, endpointId: string, afterEventId: string, actor: Actor): Promise<number> {
  return deps.sql.transaction(async (tx) => {
    const row = await lockEndpoint(tx, endpointId);
    const queued = await tx.query<{ id: string }>(
      `INSERT INTO webhook_delivery (endpoint_id, organization_id, event_id, event_type, webhook_id)
       SELECT w.id, e.organization_id, e.id, e.type, ${eventWebhookId('e.id')}
       FROM webhook_endpoint w JOIN lifecycle_event e ON e.organization_id = w.organization_id AND e.id > $2::int8
         AND (cardinality(w.event_types) = 0 OR e.type = ANY(w.event_types))
       WHERE w.id = $1 AND NOT EXISTS (SELECT 1 FROM webhook_delivery p WHERE p.endpoint_id = w.id AND p.event_id = e.id AND p.status = 'PENDING')
       ORDER BY e.id LIMIT $3
       RETURNING id::text`,
      [endpointId, afterEventId, MAX_RESEND_EVENTS],
    );
    await appendAudit(tx, row.organizationId, [{ action: 'webhook_endpoint.resent', actor, targetType: 'webhook_endpoint', targetId: endpointId, data: { afterEventId, queued: queued.length } }]);
    return queued.length;
  });
}

/** Queues a `webhook.test` event for the endpoint (whatever types it subscribes to); returns the delivery id. */
export async function queueTestEvent(deps: EndpointDeps, endpointId: string, actor: Actor): Promise<string> {
  return deps.sql.transaction(async (tx) => {
    const row = await lockEndpoint(tx, endpointId);
    const [delivery] = await tx.query<{ id: string }>(
      `INSERT INTO webhook_delivery (endpoint_id, organization_id, event_type, payload, webhook_id) VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING id::text`,
      [endpointId, row.organizationId, TEST_EVENT_TYPE, JSON.stringify(testPayload(endpointId, new Date())), `msg_test_${uuidv7()}`],
    );
    await appendAudit(tx, row.organizationId, [{ action: 'webhook_endpoint.tested', actor, targetType: 'webhook_endpoint', targetId: endpointId }]);
    return delivery!.id;
  });
}
