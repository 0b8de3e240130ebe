// A connection's lifecycle status, as the hub observes it:
//
//   AWAITING_FIRST_REQUEST ──first authenticated request / successful pull──▶ ACTIVE
//   ACTIVE ──the last K requests or pulls failed (CONNECTION_FAILING_AFTER)──▶ FAILING ──a success──▶ ACTIVE
//   ACTIVE ──nothing received for CONNECTION_STALE_AFTER_SECONDS (the health job)──▶ STALE ──a request──▶ ACTIVE
//   PAUSED: set and cleared by an admin (pauseConnection / resumeConnection), never by the hub.
//
// Every transition is an engine command (recordConnectionChange): a conditional UPDATE whose winner
// alone writes the audit row and the `connection.*` event into the ordered lifecycle stream.
//
// Cheap on the push path: requests are checked against the cached view (src/http/app.ts), so a
// transition is asked for only when the cached status says it is due; failures and successes are
// counted in the same statement as the request-log flush (one per batch, not one per request).
import type { LifecycleEngine } from '../engine/engine.ts';
import type { Logger } from '../hub/logger.ts';
import { throttledTouch, type SqlExecutor } from '../storage/sql.ts';
import type { ConnectionView } from '../connectors/contract.ts';

export type ConnectionStatus = ConnectionView['status'];

const system = { type: 'system', name: 'connection lifecycle' } as const;

/**
 * A request that failed, for the FAILING rule: the hub could not process it (5xx) or refused what
 * the source sent (400, 413, 415, 422...). Not failures: 404 and 409 (answers IdPs ask for: "does
 * it exist", "already there"), 412 (a version race, retried) and 429 (the hub's own throttle).
 */
export function isFailedRequest(status: number): boolean {
  return status >= 500 || (status >= 400 && ![404, 409, 412, 429].includes(status));
}

/** Per connection, what one batch of requests (or one pull) said. */
export interface HealthSummary {
  connectionId: string;
  /** Failures after the batch's last success (all of them when none succeeded). */
  trailingFailures: number;
  succeeded: boolean;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: string | null;
}

export interface HealthRow {
  id: string;
  organizationId: string;
  status: ConnectionStatus;
  recentFailures: number;
}

/**
 * Updates the health columns from summaries, in one statement (the request-log flush runs it after
 * its INSERT, as a CTE of the same statement). Errors themselves stay in the request log and in
 * lastError (pulls, backfills): health.lastError reads them.
 */
export const recordHealthSql = (param: string) => `
  UPDATE directory_connection c SET
    recent_failures = CASE WHEN h.succeeded THEN h."trailingFailures" ELSE c.recent_failures + h."trailingFailures" END,
    last_success_at = COALESCE(GREATEST(c.last_success_at, h."lastSuccessAt"), c.last_success_at, h."lastSuccessAt"),
    last_failure_at = COALESCE(GREATEST(c.last_failure_at, h."lastFailureAt"), c.last_failure_at, h."lastFailureAt")
  FROM jsonb_to_recordset(${param}::jsonb) AS h("connectionId" uuid, "trailingFailures" int, succeeded boolean,
    "lastSuccessAt" timestamptz, "lastFailureAt" timestamptz, "lastError" text)
  WHERE c.id = h."connectionId" AND c.deleted_at IS NULL
  RETURNING c.id, c.organization_id AS "organizationId", c.status::text AS status, c.recent_failures AS "recentFailures"`;

/** How often one instance writes a connection's rejectedCredentialsAt: a flood of bad tokens costs a write per 10 s. */
const REJECTED_TOUCH_MS = 10_000;

export class ConnectionLifecycle {
  private readonly listeners = new Set<(connectionId: string) => void>();

  constructor(
    private readonly options: { sql: SqlExecutor; engine: LifecycleEngine; logger: Logger; failingAfter: number },
  ) {
    this.rejectedCredentials = throttledTouch(options.sql, 'UPDATE directory_connection SET rejected_credentials_at = now() WHERE id = $1 AND deleted_at IS NULL', REJECTED_TOUCH_MS,
      (error) => options.logger.warn({ err: error }, 'could not record a request with rejected credentials'));
  }

  /**
   * A request reached this connection's URL with a token (SCIM) or signature (webhooks) that did not
   * verify: the most common setup mistake, which the portal names ("the token was wrong"). Only a
   * time, neither counted as a failure nor logged: whoever knows the URL can send one.
   */
  readonly rejectedCredentials: (connectionId: string) => void;

  get failingAfter() {
    return this.options.failingAfter;
  }

  /** Told after a transition this instance won (caches of the connection drop it). */
  onTransition(listener: (connectionId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Moves the connection to `to` if it is in one of `from`; true when this call made the change. */
  async transition(organizationId: string, connectionId: string, from: ConnectionStatus[], to: ConnectionStatus, reason?: string): Promise<boolean> {
    const outcome = await this.options.engine.execute({
      organizationId,
      actor: system,
      commands: [{ type: 'recordConnectionChange', change: 'status', connectionId, from, to, ...(reason ? { reason: reason.slice(0, 2000) } : {}) }],
    });
    const won = outcome.status === 'applied';
    if (won) for (const listener of this.listeners) listener(connectionId);
    return won;
  }

  /** The source was heard from (an authenticated request, a pull that worked): activates or recovers. */
  heardFrom(organizationId: string, connectionId: string, cachedStatus: ConnectionStatus): Promise<boolean> | null {
    if (cachedStatus !== 'AWAITING_FIRST_REQUEST' && cachedStatus !== 'STALE') return null;
    return this.transition(organizationId, connectionId, ['AWAITING_FIRST_REQUEST', 'STALE'], 'ACTIVE').catch((error: unknown) => {
      this.options.logger.warn({ err: error, connectionId }, 'could not record that a connection was heard from');
      return false;
    });
  }

  /** After the health columns were updated: FAILING at K failures in a row, back to ACTIVE on a success. */
  async afterHealth(rows: HealthRow[], summaries: Map<string, HealthSummary>): Promise<void> {
    const K = this.options.failingAfter;
    await Promise.all(rows.map(async (row) => {
      const summary = summaries.get(row.id);
      try {
        if (row.recentFailures >= K && row.status !== 'FAILING' && row.status !== 'PAUSED') {
          await this.transition(row.organizationId, row.id, ['AWAITING_FIRST_REQUEST', 'ACTIVE', 'STALE'], 'FAILING',
            `the last ${row.recentFailures} requests or pulls failed${summary?.lastError ? `; the last error: ${summary.lastError}` : ''}`);
        } else if (row.recentFailures < K && row.status === 'FAILING' && summary?.succeeded) {
          await this.transition(row.organizationId, row.id, ['FAILING'], 'ACTIVE', 'a request succeeded again');
        }
      } catch (error) {
        this.options.logger.warn({ err: error, connectionId: row.id }, 'could not record a connection\'s health transition');
      }
    }));
  }

  /** One pull's outcome (src/jobs/pulls.ts): counted like a request, and a first success activates. */
  async recordPull(organizationId: string, connectionId: string, status: ConnectionStatus, ok: boolean, error?: string): Promise<void> {
    const now = new Date().toISOString();
    const summary: HealthSummary = { connectionId, trailingFailures: ok ? 0 : 1, succeeded: ok, lastSuccessAt: ok ? now : null, lastFailureAt: ok ? null : now, lastError: ok ? null : (error ?? 'the pull failed').slice(0, 2000) };
    const rows = await this.options.sql.query<HealthRow>(recordHealthSql('$1'), [JSON.stringify([summary])]);
    if (ok) await this.heardFrom(organizationId, connectionId, status);
    await this.afterHealth(rows, new Map([[connectionId, summary]]));
  }
}

/** Summaries of a batch of request-log entries, per connection (entries in arrival order). */
export function summarize(entries: ReadonlyArray<{ connectionId: string; at: Date; status: number; error: string | null }>): Map<string, HealthSummary> {
  const out = new Map<string, HealthSummary>();
  for (const e of entries) {
    let s = out.get(e.connectionId);
    if (!s) out.set(e.connectionId, (s = { connectionId: e.connectionId, trailingFailures: 0, succeeded: false, lastSuccessAt: null, lastFailureAt: null, lastError: null }));
    if (isFailedRequest(e.status)) {
      s.trailingFailures++;
      s.lastFailureAt = e.at.toISOString();
      s.lastError = `${e.status}${e.error ? `: ${e.error}` : ''}`.slice(0, 2000);
    } else {
      s.trailingFailures = 0;
      s.succeeded = true;
      s.lastSuccessAt = e.at.toISOString();
    }
  }
  return out;
}
