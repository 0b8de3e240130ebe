// Revocation at the source. A deprovision revokes every session and credential in the hub's own
// commit (accessCheck denies from then on); those owned upstream by a connector that can `revoke`
// are left PENDING. This job claims due PENDING rows, asks the owning connector to revoke each
// at its source, and reports the outcome through the engine (recordRevocation): CONFIRMED, a retry
// with exponential backoff, or, after the last attempt, FAILED with a `<kind>.revocation_failed`
// event so a person acts.
//
// Several instances share the work: a claim takes due rows with FOR UPDATE SKIP LOCKED and leases
// them (next_attempt_at moved past the call's timeout), so no two instances call for the same row
// at once, and a row whose worker died is picked up again when its lease runs out. The connector is
// called outside any transaction: no lock is held across a network call. A call that outlives its
// timeout is cancelled through ctx.signal (the outbound guard closes its request) and retried.
import { loadConnectionView } from '../tenancy/connections.ts';
import { failureText } from '../connectors/context.ts';
import type { RevocationTarget } from '../connectors/contract.ts';
import type { ConnectorOutbound } from '../connectors/outbound.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import type { SqlClient } from '../storage/sql.ts';
import type { LifecycleEngine } from '../engine/engine.ts';
import type { Logger } from '../hub/logger.ts';
import type { SecretBox } from '../secrets/index.ts';
import { backoffDelay } from './backoff.ts';
import { PeriodicTask } from './periodic.ts';

export interface RevocationWorkerOptions {
  sql: SqlClient;
  engine: LifecycleEngine;
  registry: ConnectorRegistry;
  box: SecretBox;
  logger: Logger;
  /** Each connector's outbound guard, handed to it as ctx.outbound. */
  outbound: ConnectorOutbound;
  /** Attempts before FAILED (default 8). */
  maxAttempts?: number;
  /** Delay before the first retry; doubled each time (±20 % jitter), capped at maxRetryMs. */
  retryBaseMs?: number;
  maxRetryMs?: number;
  /** A connector call taking longer is cancelled (ctx.signal aborted) and fails, to be retried. */
  callTimeoutMs?: number;
  /**
   * Longest sleep when nothing is due here (and after a round that failed): rows another instance
   * left PENDING are picked up within it. Otherwise the job sleeps until the next retry is due, or
   * until a local deprovision wakes it.
   */
  idlePollMs?: number;
  /** Rows claimed per table per round, and connector calls in flight at once. */
  batchSize?: number;
}

interface Claimed {
  table: 'session' | 'credential';
  id: string;
  organizationId: string;
  userId: string;
  userSourceId: string;
  connectionId: string | null;
  externalRef: string;
  kind: string | null;
  attempts: number;
}

const claimSql = (table: 'session' | 'credential') => `
  WITH due AS (
    SELECT id FROM ${table} WHERE revocation_status = 'PENDING' AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
  UPDATE ${table} t SET next_attempt_at = now() + make_interval(secs => $2::float8 / 1000)
  FROM due, directory_user u WHERE t.id = due.id AND u.id = t.user_id
  RETURNING t.id, t.organization_id AS "organizationId", t.user_id AS "userId", u.source_id AS "userSourceId", t.connection_id AS "connectionId",
    t.external_ref AS "externalRef", ${table === 'credential' ? 't.kind' : 'NULL::text AS kind'}, t.revocation_attempts AS attempts`;

export class RevocationWorker {
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly maxRetryMs: number;
  private readonly callTimeoutMs: number;
  private readonly idlePollMs: number;
  private readonly batchSize: number;
  private readonly task: PeriodicTask;
  private unsubscribe: (() => void) | null = null;
  readonly stats = { claimed: 0, confirmed: 0, retried: 0, failed: 0 };

  constructor(private readonly options: RevocationWorkerOptions) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.retryBaseMs = options.retryBaseMs ?? 2_000;
    this.maxRetryMs = options.maxRetryMs ?? 15 * 60_000;
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.idlePollMs = options.idlePollMs ?? 30_000;
    this.batchSize = options.batchSize ?? 16;
    this.task = new PeriodicTask({ name: 'revocation', logger: options.logger, intervalMs: this.idlePollMs, run: (stopping) => this.drain(stopping) });
  }

  start() {
    if (this.unsubscribe) return;
    // A deprovision that left upstream work wakes the job at once.
    this.unsubscribe = this.options.engine.onCommitted((events) => {
      if (events.some((e) => (e.type === 'session.revoked' || e.type === 'credential.revoked') && e.data.upstream === true)) this.wake();
    });
    this.task.start();
  }

  async stop() {
    this.unsubscribe?.();
    await this.task.stop();
  }

  /** Looks for due work now (or right after the current round). */
  wake() {
    this.task.wake();
  }

  /** One round, for tests and for callers that want it done now. */
  async runOnce(): Promise<number> {
    let handled = 0;
    for (const table of ['session', 'credential'] as const) {
      const claimed = await this.claim(table);
      handled += claimed.length;
      await this.processAll(claimed);
    }
    return handled;
  }

  /** Rounds while they find work (a backlog drains without waiting), then the sleep until the next is due. */
  private async drain(stopping: AbortSignal): Promise<number> {
    while (!stopping.aborted && (await this.runOnce()) > 0);
    return this.untilNextDue();
  }

  /** Milliseconds until the earliest PENDING row is due (at most idlePollMs). */
  private async untilNextDue(): Promise<number> {
    try {
      const [row] = await this.options.sql.query<{ ms: number | string | null }>(
        `SELECT (EXTRACT(EPOCH FROM (min(at) - now())) * 1000)::float8 AS ms FROM (
           SELECT min(next_attempt_at) AS at FROM session WHERE revocation_status = 'PENDING'
           UNION ALL SELECT min(next_attempt_at) FROM credential WHERE revocation_status = 'PENDING') due`,
      );
      // Nothing PENDING: min() is NULL.
      if (row?.ms == null) return this.idlePollMs;
      return Math.min(this.idlePollMs, Math.max(0, Math.ceil(Number(row.ms))) + 5);
    } catch {
      return this.idlePollMs;
    }
  }

  private async claim(table: 'session' | 'credential'): Promise<Claimed[]> {
    const leaseMs = this.callTimeoutMs + 30_000;
    const rows = await this.options.sql.transaction((tx) => tx.query<Omit<Claimed, 'table'>>(claimSql(table), [this.batchSize, leaseMs]));
    this.stats.claimed += rows.length;
    return rows.map((r) => ({ ...r, table, attempts: Number(r.attempts) }));
  }

  private async processAll(items: Claimed[]) {
    await Promise.all(items.map((item) => this.process(item).catch((error: unknown) => this.options.logger.error({ err: error, id: item.id }, 'could not record a revocation attempt; retried when its lease ends'))));
  }

  private async process(item: Claimed) {
    const { registry, box, sql, logger, engine } = this.options;
    const attempt = item.attempts + 1;
    let error: string | null = null;
    let final = false;
    const connection = item.connectionId ? await loadConnectionView({ sql, box }, item.connectionId, { includeDeleted: true }) : null;
    const connector = connection ? registry.get(connection.provider) : undefined;
    if (!connection) {
      error = 'the connection that owns it was deleted: revoke it at the source by hand';
      final = true;
    } else if (!connector?.revoke) {
      error = `connector "${connection.provider}" is not installed or cannot revoke: revoke it at the source by hand`;
      final = true;
    } else {
      const target: RevocationTarget =
        item.table === 'session'
          ? { type: 'session', id: item.id, externalRef: item.externalRef, user: { id: item.userId, sourceId: item.userSourceId } }
          : { type: 'credential', id: item.id, kind: item.kind ?? 'other', externalRef: item.externalRef, user: { id: item.userId, sourceId: item.userSourceId } };
      const view = connection;
      try {
        const ctx = { connection: view, logger: logger.child({ connectionId: connection.id, provider: connection.provider }), outbound: this.options.outbound.for(connector) };
        await withTimeout(this.callTimeoutMs, (signal) => connector.revoke!(target, { ...ctx, signal }));
      } catch (cause) {
        error = failureText(cause, connector, view) || 'revoke failed';
      }
    }
    const outcome = error === null ? 'confirmed' : final || attempt >= this.maxAttempts ? 'failed' : 'retry';
    const nextAttemptAt = outcome === 'retry' ? new Date(Date.now() + this.backoff(attempt)) : undefined;
    await engine.execute({
      organizationId: item.organizationId,
      actor: { type: 'system', name: 'revocation-worker' },
      commands: [{ type: 'recordRevocation', target: item.table, id: item.id, attempt, outcome, error: error ?? undefined, nextAttemptAt }],
    });
    this.stats[outcome === 'confirmed' ? 'confirmed' : outcome === 'failed' ? 'failed' : 'retried']++;
    if (outcome === 'failed') logger.warn({ [`${item.table}Id`]: item.id, attempt, error }, `gave up revoking a ${item.table} at its source`);
  }

  /** Delay after failed attempt n (1-based): base·2^(n-1), ±20 % so retries of many rows spread out. */
  backoff(attempt: number): number {
    return backoffDelay(attempt, { baseMs: this.retryBaseMs, maxMs: this.maxRetryMs, jitter: [0.8, 1.2] });
  }
}

/**
 * Calls fn with a signal that is aborted after `ms`, and rejects then whether or not fn heeds it:
 * a connector that passes the signal on has its request closed; one that does not is left behind.
 */
async function withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`the connector did not answer within ${ms} ms`);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
