// One backfill run: every page the connector lists goes through the lifecycle engine as it comes;
// progress is kept in sync_run (connection.sync in GraphQL) and told as lifecycle events
// (sync.started / sync.progress / sync.drift_detected / sync.completed / sync.failed). At the end,
// users present here but not listed at the source (drift) are reported, and deprovisioned when the
// connection says so (deprovisionOnDrift).
import { connectorContext, failureText } from '../connectors/context.ts';
import type { AnyConnector, ConnectionView, ConnectorContext } from '../connectors/contract.ts';
import type { LifecycleCommandInput } from '../engine/commands.ts';
import { isHubError } from '../hub/errors.ts';
import type { Actor } from '../engine/types.ts';
import type { SyncDeps } from './sync.ts';
import { backoffSleep } from './backoff.ts';

export interface BackfillRun {
  id: string;
  connection: ConnectionView;
  connector: AnyConnector;
  startedAt: Date;
  signal: AbortSignal;
}

export interface BackfillOptions {
  /** Least time between two sync.progress events (each is an audit row too). */
  progressEveryMs: number;
}

type SyncPhase = 'started' | 'progress' | 'completed' | 'failed' | 'drift_detected';

const DRIFT_LIST_LIMIT = 1000;
const DRIFT_CHUNK = 500;

class Interrupted extends Error {}

export async function runBackfill(hub: SyncDeps, run: BackfillRun, options: BackfillOptions): Promise<void> {
  const { connection, connector } = run;
  const sql = hub.db.sql;
  const logger = hub.logger.child({ connectionId: connection.id, provider: connection.provider, syncRunId: run.id });
  const ctx: ConnectorContext = connectorContext({ sql, logger: hub.logger.child({ syncRunId: run.id }), outbound: hub.outbound.for(connector) }, connection, { signal: run.signal });
  const sourceActor: Actor = { type: 'connection', connectionId: connection.id };
  const seen = new Set<string>();
  let total: number | null = null;
  let rejected = 0;
  const rejections: string[] = [];

  const record = async (phase: SyncPhase, extra: Record<string, unknown> = {}) => {
    try {
      await hub.engine.execute({
        organizationId: connection.organizationId,
        actor: { type: 'system', name: 'sync' },
        commands: [{ type: 'recordSync', connectionId: connection.id, runId: run.id, phase, processed: seen.size, total, ...extra }],
      });
    } catch (error) {
      logger.warn({ err: error, phase }, 'could not record a sync event');
    }
  };

  /** Applies one page; a page the engine refuses is retried command by command so one bad record costs only itself. */
  const apply = async (commands: LifecycleCommandInput[], actor: Actor = sourceActor, deliveryId?: string) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await hub.engine.execute({ connectionId: connection.id, actor, deliveryId, commands });
        return;
      } catch (error) {
        if (!isHubError(error)) throw error;
        if (error.code === 'CONNECTION_PAUSED') throw new Error('the connection was paused during the sync; resume it, then run syncConnection again');
        if (error.retryable) {
          if (attempt >= 4 || run.signal.aborted) throw error;
          await backoffSleep(attempt + 1, { baseMs: 500 });
          continue;
        }
        if (commands.length === 1) {
          rejected++;
          if (rejections.length < 5) rejections.push(error.message);
          logger.warn({ err: error, command: commands[0]!.type }, 'sync: a record was refused');
          return;
        }
        for (const command of commands) await apply([command], actor);
        return;
      }
    }
  };

  await record('started');
  let lastProgress = Date.now();
  try {
    if (!connector.backfill) throw new Error(`${connector.displayName} connections cannot be listed`);
    for await (const page of connector.backfill(ctx)) {
      if (run.signal.aborted) throw new Interrupted();
      for (const id of page.seenUserSourceIds) seen.add(id);
      if (page.total !== undefined) total = page.total;
      if (page.commands.length) await apply(page.commands);
      await sql.query('UPDATE sync_run SET processed = $2, total = $3 WHERE id = $1', [run.id, seen.size, total]);
      if (Date.now() - lastProgress >= options.progressEveryMs) {
        lastProgress = Date.now();
        await record('progress');
      }
    }
    if (run.signal.aborted) throw new Interrupted();

    const drifted = await findDrift(hub, run, seen, ctx);
    const deprovision = drifted.length > 0 && (await deprovisionOnDrift(hub, connection.id));
    if (drifted.length) {
      logger.info({ drifted: drifted.length, deprovision }, 'sync: users here are gone at the source');
      await record('drift_detected', { drifted: drifted.length, driftedUsers: drifted.slice(0, DRIFT_LIST_LIMIT), deprovisioned: deprovision });
      if (deprovision) {
        const reason = `not found at the source by sync ${run.id} (drift)`;
        for (let i = 0; i < drifted.length; i += DRIFT_CHUNK) {
          const chunk = drifted.slice(i, i + DRIFT_CHUNK);
          await apply(chunk.map((u) => ({ type: 'deactivateUser', user: { userId: u.userId }, reason })), { type: 'system', name: 'sync' }, `sync:${run.id}:drift:${i / DRIFT_CHUNK}`);
        }
      }
    }

    const note = rejected ? `${rejected} record(s) from the source could not be applied: ${rejections.join('; ')}${rejected > rejections.length ? '; …' : ''}. Fix them at the source (or the connection's settings) and sync again` : null;
    await sql.transaction(async (tx) => {
      await tx.query(`UPDATE sync_run SET status = 'SUCCEEDED', processed = $2, total = $3, drifted = $4, finished_at = now(), error = $5 WHERE id = $1`, [run.id, seen.size, total, drifted.length, note]);
      // The first backfill that finishes completes the first sync (firstSync.completedAt), if going quiet did not already.
      await tx.query(`UPDATE directory_connection SET last_synced_at = now(), last_error = $2, last_error_at = CASE WHEN $2::text IS NULL THEN NULL ELSE now() END, updated_at = now(),
        first_request_at = COALESCE(first_request_at, $3), first_sync_completed_at = COALESCE(first_sync_completed_at, now()) WHERE id = $1`, [connection.id, note, run.startedAt ?? new Date()]);
    });
    await record('completed', { drifted: drifted.length, deprovisioned: deprovision, rejected, ...(note ? { error: note } : {}) });
  } catch (error) {
    const cause = error instanceof Interrupted || run.signal.aborted ? 'interrupted: the hub was shut down' : failureText(error, connector, connection, 3000);
    const message = `sync ${run.id} failed after ${seen.size} user(s): ${cause}. Fix the cause, then run syncConnection again (a sync only adds and updates; it is safe to repeat)`;
    logger.warn({ err: error }, 'sync failed');
    await sql
      .transaction(async (tx) => {
        await tx.query(`UPDATE sync_run SET status = 'FAILED', processed = $2, total = $3, finished_at = now(), error = $4 WHERE id = $1`, [run.id, seen.size, total, message]);
        await tx.query('UPDATE directory_connection SET last_error = $2, last_error_at = now(), updated_at = now() WHERE id = $1', [connection.id, message]);
      })
      .catch((e: unknown) => logger.error({ err: e }, 'could not record a failed sync'));
    await record('failed', { error: message.slice(0, 4000) });
  }
}

async function deprovisionOnDrift(hub: SyncDeps, connectionId: string): Promise<boolean> {
  const [row] = await hub.db.sql.query<{ on: boolean }>('SELECT deprovision_on_drift AS on FROM directory_connection WHERE id = $1', [connectionId]);
  return row?.on ?? false;
}

/**
 * Active users of the connection the listing never named. Users created after the run started are
 * left out (a webhook may have brought them in after the listing passed them), and so is anyone
 * the connector confirms the source still has.
 */
async function findDrift(hub: SyncDeps, run: BackfillRun, seen: Set<string>, ctx: ConnectorContext) {
  const rows = await hub.db.sql.query<{ userId: string; sourceId: string; email: string | null }>(
    `SELECT id AS "userId", source_id AS "sourceId", email FROM directory_user
     WHERE connection_id = $1 AND state = 'ACTIVE' AND source_deleted_at IS NULL AND created_at < $2 ORDER BY id`,
    [run.connection.id, run.startedAt],
  );
  let drifted = rows.filter((r) => !seen.has(r.sourceId));
  if (drifted.length && run.connector.stillExists) {
    const present = new Set<string>();
    for (let i = 0; i < drifted.length; i += 100) {
      for (const id of await run.connector.stillExists(drifted.slice(i, i + 100).map((d) => d.sourceId), ctx)) present.add(id);
    }
    drifted = drifted.filter((d) => !present.has(d.sourceId));
  }
  return drifted;
}
