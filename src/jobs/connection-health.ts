// The connection-health job: what a connection's status cannot learn from requests, because it is
// about requests that did not come. Every CONNECTION_HEALTH_INTERVAL_MS, on every instance (each
// change is a conditional UPDATE through the engine: of instances racing, one wins and emits):
//   - ACTIVE connections nothing was received from for CONNECTION_STALE_AFTER_SECONDS → STALE;
//   - SCIM tokens expiring within SCIM_TOKEN_EXPIRY_WARNING_SECONDS → connection.token_expiring, once;
//   - first syncs that went quiet (nothing received for FIRST_SYNC_QUIET_SECONDS) → completed.
import type { LifecycleEngine } from '../engine/engine.ts';
import type { Logger } from '../hub/logger.ts';
import type { SqlExecutor } from '../storage/sql.ts';
import type { ConnectionLifecycle } from '../tenancy/connection-lifecycle.ts';
import { PeriodicTask } from './periodic.ts';

export interface ConnectionHealthOptions {
  sql: SqlExecutor;
  engine: LifecycleEngine;
  lifecycle: ConnectionLifecycle;
  logger: Logger;
  intervalMs: number;
  staleAfterMs: number;
  tokenExpiryWarningMs: number;
  firstSyncQuietMs: number;
}

/** When the source was last heard from: successes are written at most every 10 s, lastSyncedAt likewise. */
const lastHeard = 'GREATEST(c.last_success_at, c.last_synced_at, c.first_request_at)';

export class ConnectionHealthJob {
  private readonly task: PeriodicTask;

  constructor(private readonly options: ConnectionHealthOptions) {
    this.task = new PeriodicTask({ name: 'connection health', logger: options.logger, intervalMs: options.intervalMs, firstRunAfterMs: options.intervalMs, run: () => this.runOnce() });
  }

  start() {
    this.task.start();
  }

  wake() {
    this.task.wake();
  }

  stop() {
    return this.task.stop();
  }

  async runOnce(): Promise<void> {
    const { sql, lifecycle, engine, logger } = this.options;
    const stale = await sql.query<{ id: string; organizationId: string }>(
      `SELECT c.id, c.organization_id AS "organizationId" FROM directory_connection c
       WHERE c.status = 'ACTIVE' AND c.deleted_at IS NULL AND COALESCE(${lastHeard}, c.status_changed_at, c.created_at) < now() - make_interval(secs => $1)`,
      [this.options.staleAfterMs / 1000],
    );
    for (const c of stale) {
      await lifecycle.transition(c.organizationId, c.id, ['ACTIVE'], 'STALE', `nothing received for ${Math.round(this.options.staleAfterMs / 1000)} s`);
    }

    const expiring = await sql.query<{ id: string; connectionId: string; organizationId: string }>(
      `SELECT t.id, t.connection_id AS "connectionId", t.organization_id AS "organizationId" FROM scim_token t
       JOIN directory_connection c ON c.id = t.connection_id AND c.deleted_at IS NULL
       WHERE t.revoked_at IS NULL AND t.expiring_notified_at IS NULL AND t.expires_at IS NOT NULL AND t.expires_at < now() + make_interval(secs => $1)`,
      [this.options.tokenExpiryWarningMs / 1000],
    );
    for (const t of expiring) {
      await engine.execute({
        organizationId: t.organizationId,
        actor: { type: 'system', name: 'connection health' },
        commands: [{ type: 'recordConnectionChange', change: 'token_expiring', connectionId: t.connectionId, tokenId: t.id }],
      });
    }

    // Idempotent (only the first write sets it): no event, so no need for the engine. Set to when it
    // was found quiet, not to lastHeard: successes are written at most every 10 s, so lastHeard can be
    // older than the sync's last writes, which firstSync's counts (created until completedAt) must include.
    const completed = await sql.query<{ id: string }>(
      `UPDATE directory_connection c SET first_sync_completed_at = now()
       WHERE c.first_request_at IS NOT NULL AND c.first_sync_completed_at IS NULL AND c.deleted_at IS NULL
         AND ${lastHeard} < now() - make_interval(secs => $1)
       RETURNING c.id`,
      [this.options.firstSyncQuietMs / 1000],
    );
    if (stale.length || expiring.length || completed.length) logger.info({ stale: stale.length, expiringTokens: expiring.length, firstSyncsCompleted: completed.length }, 'connection health');
  }
}
