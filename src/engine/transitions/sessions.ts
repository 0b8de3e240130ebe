// Sessions and credentials: registered, ended at the source, and the revocation worker's reports.
import { v7 as uuidv7 } from 'uuid';
import { EngineError } from '../errors.ts';
import type { CommandResult } from '../types.ts';
import { audit, event, findUser, occurredAt, requireUser, type ApplyContext, type Cmd } from './context.ts';

export async function registerSession(ctx: ApplyContext, cmd: Cmd<'registerSession' | 'registerCredential'>): Promise<CommandResult> {
  const { uow } = ctx;
  const user = await requireUser(ctx, cmd.user);
  const table = cmd.type === 'registerSession' ? 'session' : 'credential';
  const kind = cmd.type === 'registerCredential' ? cmd.kind : undefined;
  const existing = await uow.findSession(table, user.id, cmd.externalRef, kind);
  if (existing) return { status: 'noop', user };
  const connectionId = ctx.connection?.id ?? null;
  // Access registered for someone already offboarded is revoked on arrival.
  const live = user.state === 'ACTIVE';
  const upstream = !!ctx.connection && ctx.revokesUpstream(ctx.connection.provider);
  const row = {
    id: uuidv7(), organizationId: user.organizationId, userId: user.id, connectionId, externalRef: cmd.externalRef, createdAt: uow.now,
    revokedAt: live ? null : uow.now, revokedReason: live ? null : 'registered after the user was deprovisioned',
    revocationStatus: live ? null : upstream ? 'PENDING' : 'NOT_REQUIRED',
    ...(kind ? { kind, name: cmd.type === 'registerCredential' ? (cmd.name ?? null) : null } : {}),
  };
  uow.addSession(table, row);
  const auditIndex = audit(ctx, { action: `${table}.registered`, targetType: table, targetId: row.id, data: { userId: user.id, externalRef: cmd.externalRef, ...(kind ? { kind } : {}), revokedOnArrival: !live } });
  if (!live) event(ctx, `${table}.revoked`, occurredAt(ctx, cmd), { userId: user.id, data: { [`${table}Id`]: row.id, externalRef: cmd.externalRef, reason: row.revokedReason, upstream }, auditIndex });
  return { status: ctx.dryRun ? 'dry_run' : 'applied', user, created: { type: table, id: row.id } };
}

export async function endSession(ctx: ApplyContext, cmd: Cmd<'endSession'>): Promise<CommandResult> {
  const { uow } = ctx;
  const user = await findUser(ctx, cmd.user);
  if (!user) return { status: 'noop' };
  const session = await uow.findSession('session', user.id, cmd.externalRef);
  const reason = cmd.reason ?? 'ended at the source';
  if (!session && ctx.connection) {
    // Ended before we saw it start (unordered webhooks): record it ended, so the late
    // "registered" finds it and changes nothing.
    uow.addSession('session', {
      id: uuidv7(), organizationId: user.organizationId, userId: user.id, connectionId: ctx.connection.id, externalRef: cmd.externalRef,
      createdAt: uow.now, revokedAt: uow.now, revokedReason: reason, revocationStatus: 'CONFIRMED',
    });
    return { status: 'noop', user };
  }
  if (!session || session.revokedAt) return { status: 'noop', user };
  uow.revokeSession('session', session.id, reason, 'CONFIRMED');
  const auditIndex = audit(ctx, { action: 'session.ended', targetType: 'session', targetId: session.id, data: { userId: user.id, externalRef: cmd.externalRef, reason } });
  event(ctx, 'session.revoked', occurredAt(ctx, cmd), { userId: user.id, data: { sessionId: session.id, externalRef: cmd.externalRef, reason, endedAtSource: true }, auditIndex });
  return { status: ctx.dryRun ? 'dry_run' : 'applied', user };
}

/**
 * Records one attempt to revoke a session or credential at its source (the revocation worker's
 * report): CONFIRMED, another try later, or FAILED, which emits `<session|credential>.revocation_failed`
 * so someone acts by hand. Only the next attempt of a PENDING row counts; anything else is a noop.
 */
export async function recordRevocation(ctx: ApplyContext, cmd: Cmd<'recordRevocation'>): Promise<CommandResult> {
  const { uow } = ctx;
  // Only the hub's own worker reports revocations: a connector (or an API key) cannot confirm one.
  if (ctx.connection || ctx.actor.type !== 'system') throw new EngineError('INVALID_COMMAND', 'recordRevocation is reported by the revocation worker only');
  const table = cmd.target;
  const [row] = await uow.tx.query<{ id: string; userId: string; connectionId: string | null; externalRef: string; kind: string | null; status: string | null; attempts: number }>(
    `SELECT id, user_id AS "userId", connection_id AS "connectionId", external_ref AS "externalRef", ${table === 'credential' ? 'kind' : 'NULL::text AS kind'},
       revocation_status::text AS status, revocation_attempts AS attempts
     FROM ${table} WHERE id = $1 AND organization_id = $2 FOR UPDATE`,
    [cmd.id, uow.organization.id],
  );
  if (!row) throw new EngineError('NOT_FOUND', `${table} ${cmd.id} not found`);
  if (row.status !== 'PENDING' || row.attempts !== cmd.attempt - 1) return { status: 'noop' };
  if (cmd.outcome === 'retry' && !cmd.nextAttemptAt) throw new EngineError('INVALID_COMMAND', 'a retry needs nextAttemptAt', { field: 'nextAttemptAt' });
  const now = uow.now;
  const status = cmd.outcome === 'confirmed' ? 'CONFIRMED' : cmd.outcome === 'failed' ? 'FAILED' : 'PENDING';
  const error = cmd.outcome === 'confirmed' ? null : (cmd.error ?? 'unknown error');
  const nextAttemptAt = cmd.outcome === 'retry' ? cmd.nextAttemptAt! : null;
  uow.deferWrite((tx) =>
    tx.query(
      `UPDATE ${table} SET revocation_status = $2::"RevocationStatus", revocation_attempts = $3, revocation_error = $4, next_attempt_at = $5,
         revocation_confirmed_at = $6 WHERE id = $1`,
      [row.id, status, cmd.attempt, error, nextAttemptAt, status === 'CONFIRMED' ? now : null],
    ),
  );
  const action = cmd.outcome === 'confirmed' ? `${table}.revocation_confirmed` : cmd.outcome === 'failed' ? `${table}.revocation_failed` : `${table}.revocation_attempt_failed`;
  const data = {
    userId: row.userId,
    [`${table}Id`]: row.id,
    externalRef: row.externalRef,
    ...(row.kind ? { kind: row.kind } : {}),
    connectionId: row.connectionId,
    attempt: cmd.attempt,
    ...(error ? { error } : {}),
    ...(nextAttemptAt ? { nextAttemptAt } : {}),
  };
  const warnings = cmd.outcome === 'failed' ? [`could not revoke ${table} ${row.externalRef} at its source after ${cmd.attempt} attempts: revoke it by hand`] : [];
  const auditIndex = audit(ctx, { action, targetType: table, targetId: row.id, data, warnings });
  // A retry is audited only; a confirmation or a final failure is news for subscribers.
  if (cmd.outcome !== 'retry') event(ctx, action, now, { userId: row.userId, connectionId: row.connectionId, data, auditIndex });
  return { status: 'applied', warnings };
}
