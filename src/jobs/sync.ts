// Sync machinery: backfill runs (syncConnection) and the pull poller, for any connector that
// implements `backfill` or `pull`. Connectors only list and translate; this runs them, applies what
// they return through the lifecycle engine, keeps progress and cursors, and records errors on the
// connection with what to do about them.
import { v7 as uuidv7 } from 'uuid';
import { loadConnectionView } from '../tenancy/connections.ts';
import { HubError } from '../hub/errors.ts';
import type { Hub } from '../hub/hub.ts';
import { runBackfill } from './backfill.ts';
import { ConnectionLocks } from './connection-locks.ts';
import { PullPoller } from './pulls.ts';

export interface SyncOptions {
  /** How often connections with an ordered feed (`pull`) are read. */
  pullIntervalMs?: number;
  /** Least time between two sync.progress events. */
  progressEveryMs?: number;
}

const INTERRUPTED = 'interrupted: the instance running this sync stopped before it finished. Run syncConnection again';

/**
 * What syncs need from the hub, and nothing more: the database (and the box its connection
 * secrets are sealed in), the engine that applies what a source lists, the connectors and their
 * outbound guard, logs and metrics.
 */
export type SyncDeps = Pick<Hub, 'db' | 'box' | 'engine' | 'registry' | 'outbound' | 'logger' | 'metrics'> & Partial<Pick<Hub, 'lifecycle'>>;

export class SyncService {
  readonly locks: ConnectionLocks;
  private readonly poller: PullPoller;
  private readonly abort = new AbortController();
  private readonly runs = new Map<string, Promise<unknown>>();
  private readonly progressEveryMs: number;
  private sweep: Promise<void> = Promise.resolve();

  constructor(private readonly hub: SyncDeps, options: SyncOptions = {}) {
    this.locks = new ConnectionLocks(hub.db);
    this.progressEveryMs = options.progressEveryMs ?? 5_000;
    this.poller = new PullPoller(hub, this.locks, { intervalMs: options.pullIntervalMs ?? 60_000, maxPagesPerRound: 100 }, this.abort.signal);
  }

  start() {
    this.poller.start();
    this.sweep = this.failOrphanedRuns().catch((error: unknown) => this.hub.logger.warn({ err: error }, 'could not check for interrupted sync runs'));
  }

  async stop() {
    this.abort.abort();
    await this.sweep;
    await this.poller.stop();
    await Promise.allSettled([...this.runs.values()]);
  }

  /** Wakes the poller for this connection (a webhook said its feed has news). */
  wake(connectionId: string) {
    this.poller.wake(connectionId);
  }

  /** Reads this connection's feed now and resolves when it has nothing newer. */
  pullNow(connectionId: string): Promise<void> {
    return this.poller.pull(connectionId);
  }

  /** Resolves when every backfill started by this instance has finished. */
  async idle(): Promise<void> {
    while (this.runs.size) await Promise.allSettled([...this.runs.values()]);
  }

  /**
   * Starts a backfill of the connection in the background and returns its run id at once. A sync
   * already running for the connection (on any instance) is returned instead of a second one.
   */
  async startSync(connectionId: string): Promise<{ runId: string; alreadyRunning: boolean }> {
    const connection = await loadConnectionView({ sql: this.hub.db.sql, box: this.hub.box }, connectionId);
    if (!connection) throw new HubError('NOT_FOUND', `connection ${connectionId} not found`, { field: 'connectionId' });
    const connector = this.hub.registry.get(connection.provider);
    if (!connector) throw new HubError('FAILED_PRECONDITION', `the "${connection.provider}" connector is not loaded on this server: add it to LIFECYCLE_PLUGINS and restart`);
    if (!connector.backfill) throw new HubError('FAILED_PRECONDITION', `${connector.displayName} connections cannot be synced: the source offers no listing (its changes arrive as they happen)`);
    if (connection.status === 'PAUSED') throw new HubError('FAILED_PRECONDITION', `connection ${connectionId} is paused: resume it, then sync`);
    if (this.abort.signal.aborted) throw new HubError('UNAVAILABLE', 'the hub is shutting down; retry on another instance or after restart', { retryAfterSeconds: 5 });
    await this.sweep;

    for (let attempt = 0; attempt < 20; attempt++) {
      const started = await new Promise<{ runId: string } | null>((resolve, reject) => {
        const key = `${connectionId}:${uuidv7()}`;
        const task = this.locks
          .tryWith('sync', connectionId, async () => {
            // Holding the lock, any run still RUNNING lost its instance.
            await this.hub.db.sql.query(`UPDATE sync_run SET status = 'FAILED', finished_at = now(), error = $2 WHERE connection_id = $1 AND status = 'RUNNING'`, [connectionId, INTERRUPTED]);
            const runId = uuidv7();
            const [row] = await this.hub.db.sql.query<{ startedAt: Date }>(
              `INSERT INTO sync_run (id, connection_id, status, processed, started_at) VALUES ($1, $2, 'RUNNING', 0, now()) RETURNING started_at AS "startedAt"`,
              [runId, connectionId],
            );
            resolve({ runId });
            await runBackfill(this.hub, { id: runId, connection, connector, startedAt: new Date(row!.startedAt), signal: this.abort.signal }, { progressEveryMs: this.progressEveryMs });
          })
          .then((locked) => {
            if (!locked.acquired) resolve(null);
          }, reject)
          .finally(() => this.runs.delete(key));
        this.runs.set(key, task);
      });
      if (started) return { runId: started.runId, alreadyRunning: false };
      const [running] = await this.hub.db.sql.query<{ id: string }>(`SELECT id FROM sync_run WHERE connection_id = $1 AND status = 'RUNNING' ORDER BY started_at DESC LIMIT 1`, [connectionId]);
      if (running) return { runId: running.id, alreadyRunning: true };
      // The holder is between taking the lock and recording its run: look again shortly.
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new HubError('UNAVAILABLE', 'another sync of this connection is starting; retry in a few seconds', { retryAfterSeconds: 5 });
  }

  /** Runs left RUNNING by an instance that stopped (on PostgreSQL: whose lock nobody holds). */
  private async failOrphanedRuns() {
    const rows = await this.hub.db.sql.query<{ connectionId: string }>(`SELECT DISTINCT connection_id AS "connectionId" FROM sync_run WHERE status = 'RUNNING'`);
    for (const { connectionId } of rows) {
      await this.locks.tryWith('sync', connectionId, () =>
        this.hub.db.sql.query(`UPDATE sync_run SET status = 'FAILED', finished_at = now(), error = $2 WHERE connection_id = $1 AND status = 'RUNNING'`, [connectionId, INTERRUPTED]),
      );
    }
  }
}
