// The pull poller: for every active connection whose connector reads an ordered feed (`pull`), read
// the pages after the saved cursor, apply each through the engine, then save the cursor the page
// returned. The cursor only moves after its page is committed, so a crash re-reads a page (its
// delivery id makes that a no-op) and never skips one. Polled on an interval (a PeriodicTask: one
// round at a time); a webhook wakes one connection at once. One reader per connection at a time in
// this instance (a wake during a read asks for one more read after it) and across instances
// (ConnectionLocks).
import { createHash } from 'node:crypto';
import { loadConnectionView } from '../tenancy/connections.ts';
import { connectorContext, failureText } from '../connectors/context.ts';
import type { AnyConnector, ConnectionView } from '../connectors/contract.ts';
import { isHubError } from '../hub/errors.ts';
import type { SyncDeps } from './sync.ts';
import type { ConnectionLocks } from './connection-locks.ts';
import { PeriodicTask } from './periodic.ts';

/** Errors the poller records start with this, so a later good read can clear its own (and only its own). */
const FEED_ERROR_PREFIX = 'reading ';

export interface PullOptions {
  intervalMs: number;
  /** Most pages read per connection per round, so one busy feed cannot starve the others. */
  maxPagesPerRound: number;
}

/** The delivery id of a page read from `from` that ended at `to`: equal only for the same page. */
export function pullDeliveryId(from: string | null, to: string | null): string {
  const id = `pull:${from ?? ''}>${to ?? ''}`;
  return id.length <= 200 ? id : `pull:sha256:${createHash('sha256').update(id).digest('hex')}`;
}

export class PullPoller {
  private readonly task: PeriodicTask;
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private stopped = false;

  constructor(
    private readonly hub: SyncDeps,
    private readonly locks: ConnectionLocks,
    private readonly options: PullOptions,
    private readonly signal: AbortSignal,
  ) {
    this.task = new PeriodicTask({ name: 'pulls', logger: hub.logger, intervalMs: options.intervalMs, run: () => this.round() });
  }

  private pullConnectors(): AnyConnector[] {
    return this.hub.registry.list().filter((c) => typeof c.pull === 'function');
  }

  /** First round at once, then every intervalMs after a round ends (not at all without a connector that pulls). */
  start() {
    if (this.pullConnectors().length) this.task.start();
  }

  async stop() {
    this.stopped = true;
    await this.task.stop();
    await Promise.allSettled([...this.running.values()]);
  }

  /** Every active connection with a feed, one after another. */
  async round() {
    const providers = this.pullConnectors().map((c) => c.id);
    if (!providers.length || this.stopped) return;
    const rows = await this.hub.db.sql.query<{ id: string }>(`SELECT id FROM directory_connection WHERE provider = ANY($1::text[]) AND status <> 'PAUSED' AND deleted_at IS NULL ORDER BY id`, [providers]);
    for (const { id } of rows) {
      if (this.stopped) return;
      await this.pull(id);
    }
  }

  /** Reads this connection's feed now (or right after the read in progress). */
  wake(connectionId: string) {
    if (this.stopped) return;
    if (this.running.has(connectionId)) this.again.add(connectionId);
    else void this.pull(connectionId);
  }

  /** Reads the connection's feed until it has nothing newer (or the round's page budget is spent). */
  pull(connectionId: string): Promise<void> {
    const current = this.running.get(connectionId);
    if (current) {
      this.again.add(connectionId);
      return current;
    }
    const task = (async () => {
      try {
        do {
          this.again.delete(connectionId);
          await this.locks.tryWith('pull', connectionId, () => this.readFeed(connectionId));
        } while (this.again.has(connectionId) && !this.stopped);
      } finally {
        this.running.delete(connectionId);
      }
    })();
    this.running.set(connectionId, task);
    return task;
  }

  private async readFeed(connectionId: string) {
    const sql = this.hub.db.sql;
    let connector: AnyConnector | undefined;
    let provider: string | undefined;
    let current: ConnectionView | undefined;
    // Per-connection health for /metrics: a feed read that works, or fails (src/observability).
    const observe = async (ok: boolean, error?: string) => {
      if (provider) this.hub.metrics.connectionRequest('pull', connectionId, provider, 'GET', ok ? 200 : 502);
      // Counted for the connection's status like a request: a first success activates it, K failures
      // in a row make it FAILING. Awaited, so a pull's promise (pullNow) settles after its outcome does.
      if (current) await this.hub.lifecycle?.recordPull(current.organizationId, connectionId, current.status, ok, error).catch((e: unknown) => this.hub.logger.warn({ err: e, connectionId }, 'could not record a pull\'s outcome'));
    };
    try {
      for (let pages = 0; pages < this.options.maxPagesPerRound && !this.stopped; pages++) {
        const connection = await loadConnectionView({ sql, box: this.hub.box }, connectionId);
        if (!connection || connection.status === 'PAUSED') return;
        connector = this.hub.registry.get(connection.provider);
        if (!connector?.pull) return;
        provider = connection.provider;
        const view = connection;
        current = view;
        const page = await connector.pull(connection.cursor, connectorContext({ sql, logger: this.hub.logger, outbound: this.hub.outbound.for(connector) }, view, { signal: this.signal }));
        // Nothing new (or a connection that does not read its feed): leave the connection as it is,
        // but a read that works again clears the error an earlier read recorded.
        if (!page.commands.length && page.cursor === connection.cursor) {
          await observe(true);
          await sql.query(`UPDATE directory_connection SET last_error = NULL, last_error_at = NULL WHERE id = $1 AND last_error LIKE $2`, [connectionId, `${FEED_ERROR_PREFIX}%`]);
          return;
        }
        if (page.commands.length) {
          await this.hub.engine.execute({
            connectionId,
            deliveryId: page.deliveryId ?? pullDeliveryId(connection.cursor, page.cursor),
            actor: { type: 'connection', connectionId },
            commands: page.commands,
          });
        }
        // Compare-and-set: a cursor someone else moved (another instance, an admin reset) is theirs.
        const moved = await sql.query(
          `UPDATE directory_connection SET cursor = $2, last_synced_at = now(), last_error = NULL, last_error_at = NULL, updated_at = now()
           WHERE id = $1 AND cursor IS NOT DISTINCT FROM $3 RETURNING id`,
          [connectionId, page.cursor, connection.cursor],
        );
        await observe(true);
        if (!moved.length || !page.hasMore) return;
      }
    } catch (error) {
      if (this.stopped && this.signal.aborted) return;
      const name = connector?.displayName ?? 'the source';
      const why = current ? failureText(error, connector, current, 3000) : (error as Error).message;
      const message =
        isHubError(error) && error.code === 'NOT_FOUND'
          ? `${FEED_ERROR_PREFIX}${name}'s feed stopped at the saved position: ${why}. Run syncConnection to import everything; the feed then resumes from the same position`
          : isHubError(error) && error.code === 'CONNECTION_PAUSED'
            ? null
            : `${FEED_ERROR_PREFIX}${name}'s feed failed: ${why}. The hub retries every ${Math.round(this.options.intervalMs / 1000)} s from the last saved position; if it persists, check the connection's credentials and API URL`;
      if (!message) return;
      await observe(false, message);
      // The vendor refused the connection's credentials: FAILING at once, not after K tries.
      if (current && rejectedCredentials(error)) {
        void this.hub.lifecycle?.transition(current.organizationId, connectionId, ['AWAITING_FIRST_REQUEST', 'ACTIVE', 'STALE'], 'FAILING', `credentials rejected upstream: ${message}`).catch(() => {});
      }
      this.hub.logger.warn({ err: error, connectionId }, 'pull failed');
      await sql.query('UPDATE directory_connection SET last_error = $2, last_error_at = now(), updated_at = now() WHERE id = $1', [connectionId, message.slice(0, 4000)]).catch(() => {});
    }
  }
}

/** A vendor SDK's error for refused credentials (Clerk and WorkOS say `status`, Stytch `status_code`). */
function rejectedCredentials(error: unknown): boolean {
  const e = error as { status?: unknown; statusCode?: unknown; status_code?: unknown } | null;
  const status = Number(e?.status ?? e?.statusCode ?? e?.status_code);
  return status === 401 || status === 403;
}
