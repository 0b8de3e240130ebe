// The webhook delivery worker: a PeriodicTask (src/jobs/periodic.ts) that claims due deliveries
// from the outbox (outbox-sql.ts) with FOR UPDATE SKIP LOCKED and a lease, sends each one signed
// (signing.ts) through the outbound guard (src/outbound), and records the attempt: delivered on a
// 2xx; otherwise retried on the schedule (WEBHOOK_RETRY_SCHEDULE_SECONDS, Svix's by default, through
// the one backoff helper) or at the receiver's Retry-After on 429/503, and failed once the schedule
// is spent. An endpoint with no success for WEBHOOK_DISABLE_AFTER_HOURS is disabled with a reason and
// a `webhook_endpoint.disabled` lifecycle event.
//
// At least once: a delivery is committed with its event; a crash between the request and the record
// leaves its lease to run out, and another run (on any instance) sends it again with the same
// webhook-id. One instance at a time: the claim takes the row lock with SKIP LOCKED and sets a lease
// longer than a request can take; the record is written only by the holder of that claim (attempts
// unchanged since it claimed).
import type { LifecycleEventRecord } from '../engine/types.ts';
import { readEventsByIds, type StreamEvent } from '../events/read.ts';
import type { Logger } from '../hub/logger.ts';
import { backoffDelay, type BackoffPolicy } from '../jobs/backoff.ts';
import { PeriodicTask } from '../jobs/periodic.ts';
import type { HubMetrics } from '../observability/metrics.ts';
import type { OutboundHttp } from '../outbound/index.ts';
import type { SecretBox } from '../secrets/index.ts';
import type { SqlClient } from '../storage/sql.ts';
import { eventPayload, type WebhookPayload } from './payload.ts';
import { signedHeaders } from './signing.ts';
import { disableFailingEndpoint } from './disable.ts';
import { datadogLog, HEC_BATCH, hecAuditRow, hecTestEvent, hecBody, hecLifecycleEvent, readAuditRows, type AuditRowForSiem } from './siem.ts';

export interface WebhookWorkerOptions {
  sql: SqlClient;
  box: SecretBox;
  logger: Logger;
  outbound: OutboundHttp;
  metrics: HubMetrics;
  /** Delays before retries 1, 2, … in ms; the number of retries is its length. */
  retryScheduleMs: readonly number[];
  /** No success for this long: the endpoint is disabled. */
  disableAfterMs: number;
  /** One request, connect to last byte read. */
  timeoutMs: number;
  /** Delivered and failed deliveries older than this are deleted (hourly), with their attempts. */
  logRetentionMs: number;
  /** The `host` of SIEM events: this hub's public host name. */
  host: string;
  /** Lifecycle events the worker itself committed (webhook_endpoint.disabled), for the event stream. */
  onEvents?: (events: LifecycleEventRecord[]) => void;
  /** Deliveries one run claims (and sends at once). */
  batchSize?: number;
  /** Longest sleep between runs when nothing is due (another instance's commits do not wake this one). */
  idlePollMs?: number;
}

/**
 * Sleep when nothing is due. Commits on this instance wake the worker and a pending retry sets its
 * own sleep: this only bounds how late a delivery committed by another instance (which woke its own
 * worker) is seen here if that instance died before sending it.
 */
const IDLE_POLL_MS = 30_000;

/**
 * How stale the list of organizations with endpoints may get: an endpoint created on another
 * instance is woken for here after at most this long (its deliveries are queued meanwhile all the same).
 */
const ENDPOINTS_REFRESH_MS = 10_000;

/** How often finished deliveries past WEBHOOK_LOG_RETENTION_DAYS are deleted. */
const PRUNE_EVERY_MS = 3_600_000;

/** Bytes of a response body kept in the delivery log. */
export const RESPONSE_EXCERPT_BYTES = 1024;
/** The most a Retry-After is honoured for; longer waits fall back to the schedule. */
const MAX_RETRY_AFTER_MS = 86_400_000;

interface Claimed {
  id: string;
  endpointId: string;
  kind: 'STANDARD_WEBHOOKS' | 'SPLUNK_HEC' | 'DATADOG_LOGS';
  auditEventId: string | null;
  organizationId: string;
  eventId: string | null;
  payload: WebhookPayload | null;
  webhookId: string;
  attempts: number;
  url: string;
  secretSealed: string;
  previousSecretSealed: string | null;
  previousSecretExpiresAt: Date | null;
}

const claimSql = `
  WITH due AS (
    SELECT d.id FROM webhook_delivery d JOIN webhook_endpoint w ON w.id = d.endpoint_id AND w.status = 'ENABLED'
    WHERE d.status = 'PENDING' AND d.next_attempt_at <= now() AND (d.lease_until IS NULL OR d.lease_until < now())
    ORDER BY d.next_attempt_at, d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
  UPDATE webhook_delivery d SET lease_until = now() + $2::int * interval '1 millisecond', attempts = d.attempts + 1
  FROM due, webhook_endpoint w WHERE d.id = due.id AND w.id = d.endpoint_id
  RETURNING d.id::text AS id, d.endpoint_id AS "endpointId", w.kind, d.audit_event_id AS "auditEventId", d.organization_id AS "organizationId", d.event_id::text AS "eventId", d.payload,
    d.webhook_id AS "webhookId", d.attempts, w.url, w.secret_sealed AS "secretSealed", w.previous_secret_sealed AS "previousSecretSealed",
    w.previous_secret_expires_at AS "previousSecretExpiresAt"`;

// NULL when nothing is pending (GREATEST would turn that into 0: a busy loop).
const nextDueSql = `
  SELECT (EXTRACT(EPOCH FROM (min(GREATEST(d.next_attempt_at, COALESCE(d.lease_until, d.next_attempt_at))) - now())) * 1000)::float8 AS ms
  FROM webhook_delivery d JOIN webhook_endpoint w ON w.id = d.endpoint_id AND w.status = 'ENABLED' WHERE d.status = 'PENDING'`;

interface AttemptResult {
  status: number | null;
  durationMs: number;
  error: string | null;
  excerpt: string | null;
  retryAfterMs: number | null;
}

export class WebhookWorker {
  private readonly task: PeriodicTask;
  private readonly policy: BackoffPolicy;
  private readonly leaseMs: number;
  private leasesChecked = false;
  /** Organizations with an enabled endpoint, as last read (every ENDPOINTS_REFRESH_MS) or told. */
  private readonly withEndpoints = new Set<string>();
  private endpointsReadAt = 0;
  private prunedAt = 0;

  constructor(private readonly options: WebhookWorkerOptions) {
    // ±20 %: many endpoints failing at once (a receiver's outage) spread their retries.
    this.policy = { baseMs: options.retryScheduleMs[0] ?? 5_000, schedule: options.retryScheduleMs, jitter: [0.8, 1.2] };
    // Longer than any request may take (timeout) plus recording it, so a claim never ends while its
    // request is open; short enough that a crashed instance's deliveries are soon taken over.
    this.leaseMs = options.timeoutMs + 15_000;
    this.task = new PeriodicTask({ name: 'webhook delivery', logger: options.logger, intervalMs: options.idlePollMs ?? IDLE_POLL_MS, run: (signal) => this.run(signal) });
  }

  start() {
    this.task.start();
  }
  /** After API calls that queue deliveries, and after the worker's own commits. */
  wake() {
    this.task.wake();
  }

  /**
   * engine.onCommitted: runs now when an organization of the events may have queued deliveries. A
   * commit of an organization without endpoints costs no statement (nor a run that finds nothing).
   */
  committed(events: readonly { organizationId: string }[]) {
    if (!this.endpointsReadAt || events.some((e) => this.withEndpoints.has(e.organizationId))) this.wake();
  }

  /** An endpoint of the organization was created or enabled here (another instance's are read every ENDPOINTS_REFRESH_MS). */
  endpointsChanged(organizationId: string) {
    this.withEndpoints.add(organizationId);
  }
  stop() {
    return this.task.stop();
  }

  private async run(signal: AbortSignal): Promise<number> {
    if (!this.leasesChecked) {
      // The embedded database has one process by construction (DATA_DIR lock): a lease in it is a
      // previous, crashed process's, and its deliveries are sent again now rather than when it runs out.
      if (this.options.sql.dialect === 'pglite') await this.options.sql.query(`UPDATE webhook_delivery SET lease_until = NULL WHERE status = 'PENDING' AND lease_until IS NOT NULL`);
      this.leasesChecked = true;
    }
    if (Date.now() - this.endpointsReadAt > ENDPOINTS_REFRESH_MS) {
      const rows = await this.options.sql.query<{ organizationId: string }>(`SELECT DISTINCT organization_id AS "organizationId" FROM webhook_endpoint WHERE status = 'ENABLED'`);
      this.withEndpoints.clear();
      for (const row of rows) this.withEndpoints.add(row.organizationId);
      this.endpointsReadAt = Date.now();
    }
    const batchSize = this.options.batchSize ?? 50;
    const claimed = await this.options.sql.query<Claimed>(claimSql, [batchSize, this.leaseMs]);
    if (claimed.length) {
      const sql = this.options.sql;
      const events = new Map((await readEventsByIds(sql, claimed.flatMap((c) => (c.eventId ? [c.eventId] : [])))).map((e) => [e.id, e]));
      const audit = await readAuditRows(sql, claimed.flatMap((c) => (c.auditEventId ? [c.auditEventId] : [])));
      await Promise.all(
        groups(claimed).map((group) =>
          this.deliver(group, events, audit, signal).catch((error: unknown) =>
            this.options.logger.warn({ err: error, deliveryIds: group.map((d) => d.id) }, 'webhook delivery: could not record an attempt; its lease will run out and it is tried again'),
          ),
        ),
      );
      if (claimed.length === batchSize) return 0;
    }
    if (Date.now() - this.prunedAt > Math.min(PRUNE_EVERY_MS, this.options.logRetentionMs)) {
      this.prunedAt = Date.now();
      // Every instance may prune (idempotent); the events themselves stay, resendWebhookEvents can send them again.
      await this.options.sql.query(`DELETE FROM webhook_delivery WHERE status <> 'PENDING' AND created_at < now() - $1::float8 * interval '1 millisecond'`, [this.options.logRetentionMs]);
    }
    const [next] = await this.options.sql.query<{ ms: number | null }>(nextDueSql);
    const idle = this.options.idlePollMs ?? IDLE_POLL_MS;
    return next?.ms == null ? idle : Math.min(idle, Math.max(0, Math.ceil(next.ms)));
  }

  private secretsOf(d: Claimed): string[] {
    const secrets = [this.options.box.open<string>(d.secretSealed)];
    if (d.previousSecretSealed && d.previousSecretExpiresAt && new Date(d.previousSecretExpiresAt).getTime() > Date.now()) secrets.push(this.options.box.open<string>(d.previousSecretSealed));
    return secrets;
  }

  /** One request for the group (a webhook: one delivery; a SIEM stream: a batch), and its record for each. */
  private async deliver(group: Claimed[], events: Map<string, StreamEvent>, audit: Map<string, AuditRowForSiem>, signal: AbortSignal) {
    const first = group[0]!;
    let request: { body: string; headers: Record<string, string> } | null = null;
    if (first.kind !== 'STANDARD_WEBHOOKS') {
      const objects = group.flatMap((d) => {
        const event = d.eventId ? events.get(d.eventId) : undefined;
        const row = d.auditEventId ? audit.get(d.auditEventId) : undefined;
        if (event) return [hecLifecycleEvent(event, this.options.host)];
        if (row) return [hecAuditRow(row, this.options.host)];
        return d.payload ? [hecTestEvent(d.payload, this.options.host)] : [];
      });
      const credential = this.options.box.open<string>(first.secretSealed);
      if (objects.length && first.kind === 'SPLUNK_HEC') request = { body: hecBody(objects), headers: { authorization: `Splunk ${credential}` } };
      if (objects.length && first.kind === 'DATADOG_LOGS') request = { body: JSON.stringify(objects.map((o) => datadogLog(o, first.organizationId))), headers: { 'dd-api-key': credential } };
    } else {
      const event = first.eventId ? events.get(first.eventId) : undefined;
      const payload = event ? eventPayload(event) : first.payload;
      if (payload) {
        const body = JSON.stringify(payload);
        request = { body, headers: { ...signedHeaders(this.secretsOf(first), first.webhookId, new Date(), body) } };
      }
    }
    const result: AttemptResult = request
      ? await this.send(first.url, request, signal)
      : { status: null, durationMs: 0, error: 'the event no longer exists', excerpt: null, retryAfterMs: null };
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    const committed = await this.options.sql.transaction(async (tx): Promise<LifecycleEventRecord[]> => {
      // The endpoint's row first, then its deliveries: the order deleteEndpoint and the other endpoint
      // mutations lock in (endpoint FOR UPDATE, then the cascade to its deliveries). Delivery first
      // deadlocked against a concurrent delete (PostgreSQL CI). A deleted endpoint took its deliveries
      // with it: nothing is left to record.
      const [endpoint] = await tx.query('SELECT 1 FROM webhook_endpoint WHERE id = $1 FOR NO KEY UPDATE', [first.endpointId]);
      if (!endpoint) return [];
      let recorded = 0;
      for (const d of group) {
        const retriesLeft = request !== null && d.attempts <= this.options.retryScheduleMs.length;
        const outcome = ok ? 'delivered' : retriesLeft ? 'retrying' : 'failed';
        const delayMs = result.retryAfterMs ?? backoffDelay(d.attempts, this.policy);
        const [held] = await tx.query(
          `UPDATE webhook_delivery SET status = $3::"WebhookDeliveryStatus", lease_until = NULL, last_response_status = $4, last_error = $5,
             next_attempt_at = CASE WHEN $3 = 'PENDING' THEN now() + $6::int * interval '1 millisecond' ELSE next_attempt_at END,
             delivered_at = CASE WHEN $3 = 'DELIVERED' THEN now() END
           WHERE id = $1::int8 AND attempts = $2 AND status = 'PENDING' RETURNING 1`,
          [d.id, d.attempts, outcome === 'delivered' ? 'DELIVERED' : outcome === 'retrying' ? 'PENDING' : 'FAILED', result.status, result.error, delayMs],
        );
        // Replayed or taken over meanwhile: this attempt's record belongs to nobody now.
        if (!held) continue;
        recorded++;
        await tx.query(
          `INSERT INTO webhook_attempt (delivery_id, endpoint_id, attempted_at, response_status, duration_ms, error, response_excerpt)
           VALUES ($1::int8, $2, now() - $3::int * interval '1 millisecond', $4, $3, $5, $6)`,
          [d.id, d.endpointId, result.durationMs, result.status, result.error, result.excerpt],
        );
        const committedAt = d.eventId ? events.get(d.eventId)?.enforcedAt : d.auditEventId ? audit.get(d.auditEventId)?.at : undefined;
        this.options.metrics.webhookAttempt(d.endpointId, result.status, outcome, ok && committedAt ? Date.now() - committedAt.getTime() : null);
      }
      if (!recorded) return [];
      if (ok) {
        await tx.query('UPDATE webhook_endpoint SET last_success_at = now(), consecutive_failures = 0, failing_since = NULL WHERE id = $1', [first.endpointId]);
        return [];
      }
      const [health] = await tx.query<{ failingMs: number }>(
        `UPDATE webhook_endpoint SET last_failure_at = now(), consecutive_failures = consecutive_failures + 1, failing_since = COALESCE(failing_since, now())
         WHERE id = $1 RETURNING (EXTRACT(EPOCH FROM (now() - failing_since)) * 1000)::float8 AS "failingMs"`,
        [first.endpointId],
      );
      return health && health.failingMs >= this.options.disableAfterMs ? disableFailingEndpoint(tx, first.organizationId, first.endpointId, this.options.disableAfterMs, result) : [];
    });
    // Committed: subscribers and the organization's other endpoints learn of the disable now.
    if (committed.length) this.options.onEvents?.(committed);
  }

  /** One POST through the guard; never throws (a failure is the attempt's error). */
  private async send(url: string, request: { body: string; headers: Record<string, string> }, stop: AbortSignal): Promise<AttemptResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const signal = AbortSignal.any([stop, AbortSignal.timeout(this.options.timeoutMs)]);
    try {
      const response = await this.options.outbound.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'LifecycleHub-Webhooks/1', ...request.headers },
        body: request.body,
        signal,
      });
      const excerpt = await readExcerpt(response);
      return { status: response.status, durationMs: elapsed(), error: response.ok ? null : `HTTP ${response.status}`, excerpt, retryAfterMs: retryAfter(response) };
    } catch (error) {
      const message = signal.aborted && !stop.aborted ? `no answer within ${this.options.timeoutMs} ms` : error instanceof Error ? error.message : String(error);
      return { status: null, durationMs: elapsed(), error: message.slice(0, 500), excerpt: null, retryAfterMs: null };
    }
  }
}

/** What one request carries: a webhook delivery alone; a SIEM stream's (HEC, Datadog) in batches of HEC_BATCH. */
function groups(claimed: Claimed[]): Claimed[][] {
  const out: Claimed[][] = [];
  const streams = new Map<string, Claimed[]>();
  for (const d of claimed) {
    if (d.kind === 'STANDARD_WEBHOOKS') {
      out.push([d]);
      continue;
    }
    let batch = streams.get(d.endpointId);
    if (!batch || batch.length >= HEC_BATCH) {
      batch = [];
      streams.set(d.endpointId, batch);
      out.push(batch);
    }
    batch.push(d);
  }
  return out;
}

/** The first RESPONSE_EXCERPT_BYTES of the body; the rest is never read (the stream is cancelled). */
async function readExcerpt(response: Response): Promise<string | null> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body that breaks off: what arrived is the excerpt.
  } finally {
    await reader.cancel().catch(() => {});
  }
  const text = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
  return text || null;
}

/** Retry-After of a 429 or 503 (seconds or an HTTP date), in ms; null otherwise or when unusable. */
export function retryAfter(response: { status: number; headers: Headers }, now = Date.now()): number | null {
  if (response.status !== 429 && response.status !== 503) return null;
  const value = response.headers.get('retry-after')?.trim();
  if (!value) return null;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms) || ms > MAX_RETRY_AFTER_MS) return null;
  return Math.max(0, ms);
}
