// A connection's lifecycle as the hub decides it (src/tenancy/connection-lifecycle.ts): status
// transitions, SCIM tokens about to expire, deletion. Each is one conditional UPDATE inside the
// engine's transaction: when several instances race for the same transition, the row lock makes
// the later UPDATEs re-check their WHERE after the first commits, match nothing and change nothing
// (noop), so only the winner writes the audit row and the event, appended in the organization's
// ordered stream like every other lifecycle event.
import { EngineError } from '../errors.ts';
import type { CommandResult } from '../types.ts';
import { audit, type ApplyContext, type Cmd } from './context.ts';

type Change = Cmd<'recordConnectionChange'>;

/** The event a status transition emits. */
export function statusEventType(from: string, to: string): string {
  if (to === 'ACTIVE') return from === 'AWAITING_FIRST_REQUEST' ? 'connection.activated' : 'connection.recovered';
  return `connection.${to.toLowerCase()}`;
}

export async function recordConnectionChange(ctx: ApplyContext, cmd: Change): Promise<CommandResult> {
  if (ctx.connection) throw new EngineError('INVALID_COMMAND', 'connection lifecycle changes are decided by the hub, not by a connector');
  if (ctx.dryRun) return { status: 'dry_run' };
  switch (cmd.change) {
    case 'status':
      return changeStatus(ctx, cmd);
    case 'token_expiring':
      return tokenExpiring(ctx, cmd);
    case 'deleted':
      return deleted(ctx, cmd);
  }
}

async function changeStatus(ctx: ApplyContext, cmd: Extract<Change, { change: 'status' }>): Promise<CommandResult> {
  const [row] = await ctx.uow.tx.query<{ from: string }>(
    // FOR UPDATE in the CTE: a racing transaction waits here, then re-checks the status on the
    // committed row, which no longer matches `from`.
    `WITH cur AS (
       SELECT id, status::text AS status FROM directory_connection
       WHERE id = $1 AND organization_id = $5 AND deleted_at IS NULL AND status::text = ANY($2::text[]) FOR UPDATE)
     UPDATE directory_connection c SET status = $3::"ConnectionStatus", status_changed_at = $4,
       first_request_at = CASE WHEN $3 = 'ACTIVE' THEN COALESCE(c.first_request_at, $4) ELSE c.first_request_at END,
       recent_failures = CASE WHEN $3 = 'ACTIVE' THEN 0 ELSE c.recent_failures END
     FROM cur WHERE c.id = cur.id
     RETURNING cur.status AS "from"`,
    [cmd.connectionId, cmd.from, cmd.to, ctx.uow.now, ctx.uow.organization.id],
  );
  if (!row) return { status: 'noop' };
  const type = statusEventType(row.from, cmd.to);
  const data = { from: row.from, to: cmd.to, ...(cmd.reason ? { reason: cmd.reason } : {}) };
  const auditIndex = audit(ctx, { action: type, targetType: 'connection', targetId: cmd.connectionId, data, warnings: cmd.to === 'FAILING' || cmd.to === 'STALE' ? [cmd.reason ?? type] : [] });
  ctx.uow.addEvent({ type, occurredAt: ctx.receivedAt, receivedAt: ctx.receivedAt, connectionId: cmd.connectionId, deliveryId: ctx.deliveryId, data, auditIndex });
  return { status: 'applied' };
}

async function tokenExpiring(ctx: ApplyContext, cmd: Extract<Change, { change: 'token_expiring' }>): Promise<CommandResult> {
  const [row] = await ctx.uow.tx.query<{ name: string; expiresAt: Date; lastFour: string | null }>(
    `UPDATE scim_token SET expiring_notified_at = $3
     WHERE id = $1 AND connection_id = $2 AND organization_id = $4 AND expiring_notified_at IS NULL AND revoked_at IS NULL AND expires_at IS NOT NULL
     RETURNING name, expires_at AS "expiresAt", last_four AS "lastFour"`,
    [cmd.tokenId, cmd.connectionId, ctx.uow.now, ctx.uow.organization.id],
  );
  if (!row) return { status: 'noop' };
  const data = { tokenId: cmd.tokenId, name: row.name, lastFour: row.lastFour, expiresAt: new Date(row.expiresAt).toISOString() };
  const auditIndex = audit(ctx, { action: 'connection.token_expiring', targetType: 'connection', targetId: cmd.connectionId, data, warnings: [`SCIM token "${row.name}" expires at ${data.expiresAt}: create a new one and paste it into the identity provider`] });
  ctx.uow.addEvent({ type: 'connection.token_expiring', occurredAt: ctx.receivedAt, receivedAt: ctx.receivedAt, connectionId: cmd.connectionId, deliveryId: ctx.deliveryId, data, auditIndex });
  return { status: 'applied' };
}

/** Marks the connection deleted and revokes its tokens; its users are handled by the caller, each through the engine. */
async function deleted(ctx: ApplyContext, cmd: Extract<Change, { change: 'deleted' }>): Promise<CommandResult> {
  const [row] = await ctx.uow.tx.query<{ provider: string; name: string }>(
    `UPDATE directory_connection SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND organization_id = $3 AND deleted_at IS NULL RETURNING provider, name`,
    [cmd.connectionId, ctx.uow.now, ctx.uow.organization.id],
  );
  if (!row) return { status: 'noop' };
  const revoked = await ctx.uow.tx.query<{ id: string }>(
    'UPDATE scim_token SET revoked_at = $2 WHERE connection_id = $1 AND revoked_at IS NULL RETURNING id',
    [cmd.connectionId, ctx.uow.now],
  );
  const [{ users }] = (await ctx.uow.tx.query<{ users: number }>(
    `SELECT count(*)::int AS users FROM directory_user WHERE connection_id = $1 AND state = 'ACTIVE'`,
    [cmd.connectionId],
  )) as [{ users: number }];
  const data = { provider: row.provider, name: row.name, disposition: cmd.disposition, revokedTokens: revoked.map((r) => r.id), activeUsers: users };
  const auditIndex = audit(ctx, { action: 'connection.deleted', targetType: 'connection', targetId: cmd.connectionId, data });
  if (cmd.disposition === 'KEEP_USERS') {
    // The users stay as they are, no longer managed by any source: nothing can reach them through
    // this connection again (its tokens are revoked, it is never pulled or listed).
    audit(ctx, { action: 'connection.source_detached', targetType: 'connection', targetId: cmd.connectionId, data: { users } });
  }
  ctx.uow.addEvent({ type: 'connection.deleted', occurredAt: ctx.receivedAt, receivedAt: ctx.receivedAt, connectionId: cmd.connectionId, deliveryId: ctx.deliveryId, data, auditIndex });
  return { status: 'applied' };
}
