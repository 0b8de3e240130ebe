// SCIM bearer tokens: at most two active per connection, so an admin can rotate without downtime
// (create the new one, paste it into the IdP, revoke the old). Only the SHA-256 of a secret is
// stored; the secret is returned once. Revocation reaches every instance at once through the
// credential-revocation control channel (kind "scim_token"), which drops the push endpoints'
// cached view of the connection (src/http/app.ts).
import { v7 as uuidv7 } from 'uuid';
import type { SqlClient, SqlExecutor } from '../storage/sql.ts';
import { appendAudit } from '../engine/audit-log.ts';
import type { Actor } from '../engine/types.ts';
import { HubError } from '../hub/errors.ts';
import { generateSecret, hashSecret } from '../secrets/index.ts';

/** Active tokens a connection may hold at once: the one in use and its replacement. */
export const MAX_ACTIVE_SCIM_TOKENS = 2;

/** A token as the push endpoints check it. */
export interface ActiveToken {
  id: string;
  hash: string;
  expiresAt: Date | null;
}

export const tokenSecretPrefix = (provider: string) => `lh${provider.replace(/[^a-z0-9]/g, '')}`;

/** Not revoked, not expired (the push check compares expiresAt again: a cached token can expire). */
export const activeTokenCondition = (alias: string) => `${alias}.revoked_at IS NULL AND (${alias}.expires_at IS NULL OR ${alias}.expires_at > now())`;
const activeWhere = activeTokenCondition('scim_token');

/** The tokens that may authenticate for a connection right now. */
export async function activeTokens(sql: SqlExecutor, connectionId: string): Promise<ActiveToken[]> {
  const rows = await sql.query<{ id: string; hash: string; expiresAt: Date | string | null }>(
    `SELECT id, hash, expires_at AS "expiresAt" FROM scim_token WHERE connection_id = $1 AND ${activeWhere} ORDER BY created_at`,
    [connectionId],
  );
  return rows.map((r) => ({ id: r.id, hash: r.hash, expiresAt: r.expiresAt ? new Date(r.expiresAt) : null }));
}

/**
 * Inserts a token row inside the caller's transaction (which holds the connection's row lock, so
 * two instances creating at once cannot both pass the limit).
 */
export async function insertToken(
  tx: SqlExecutor,
  connection: { id: string; organizationId: string; provider: string },
  input: { name: string; expiresAt?: Date | null },
): Promise<{ id: string; secret: string; lastFour: string }> {
  const secret = generateSecret(tokenSecretPrefix(connection.provider));
  const id = uuidv7();
  const lastFour = secret.slice(-4);
  await tx.query(
    'INSERT INTO scim_token (id, organization_id, connection_id, name, hash, last_four, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [id, connection.organizationId, connection.id, input.name, hashSecret(secret), lastFour, input.expiresAt ?? null],
  );
  return { id, secret, lastFour };
}

export function validateTokenInput(input: { name?: string | null; expiresAt?: Date | null }, now = new Date()): { name: string; expiresAt: Date | null } {
  const name = input.name == null ? `Token ${now.toISOString().slice(0, 10)}` : input.name.trim();
  if (!name || name.length > 100) throw new HubError('BAD_USER_INPUT', 'name must be 1 to 100 characters', { field: 'name' });
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= now.getTime())) {
    throw new HubError('BAD_USER_INPUT', 'expiresAt must be in the future', { field: 'expiresAt' });
  }
  return { name, expiresAt };
}

type Tx = Parameters<Parameters<SqlClient['transaction']>[0]>[0];

/** The connection, locked, or NOT_FOUND (also for another organization's, or a deleted one). */
export async function lockPushConnection(tx: Tx, connectionId: string, organizationScope: string | null, issuesBearerToken: (provider: string) => boolean) {
  const [row] = await tx.query<{ id: string; organizationId: string; provider: string }>(
    'SELECT id, organization_id AS "organizationId", provider FROM directory_connection WHERE id = $1 AND deleted_at IS NULL FOR UPDATE',
    [connectionId],
  );
  if (!row || (organizationScope && row.organizationId !== organizationScope)) throw new HubError('NOT_FOUND', `connection ${connectionId} not found`, { field: 'connectionId' });
  if (!issuesBearerToken(row.provider)) {
    throw new HubError('FAILED_PRECONDITION', `${row.provider} connections authenticate with the vendor's own secret, not a hub-issued token`, { field: 'connectionId' });
  }
  return row;
}

export async function createScimToken(
  sql: SqlClient,
  input: { connectionId: string; name?: string | null; expiresAt?: Date | null },
  actor: Actor,
  organizationScope: string | null,
  issuesBearerToken: (provider: string) => boolean,
): Promise<{ tokenId: string; secret: string }> {
  const valid = validateTokenInput(input);
  return sql.transaction(async (tx) => {
    const connection = await lockPushConnection(tx, input.connectionId, organizationScope, issuesBearerToken);
    const active = await activeTokens(tx, connection.id);
    if (active.length >= MAX_ACTIVE_SCIM_TOKENS) {
      throw new HubError('SCIM_TOKEN_LIMIT', `connection ${connection.id} has ${MAX_ACTIVE_SCIM_TOKENS} active SCIM tokens already: revoke one (revokeScimToken) before creating another`, { field: 'connectionId' });
    }
    const token = await insertToken(tx, connection, valid);
    await appendAudit(tx, connection.organizationId, [{
      action: 'connection.token_created', actor, targetType: 'connection', targetId: connection.id,
      data: { tokenId: token.id, name: valid.name, lastFour: token.lastFour, expiresAt: valid.expiresAt?.toISOString() ?? null },
    }]);
    return { tokenId: token.id, secret: token.secret };
  });
}

/** Revokes a token (idempotent: revoking a revoked token changes nothing). Returns its connection. */
export async function revokeScimToken(sql: SqlClient, tokenId: string, actor: Actor, organizationScope: string | null): Promise<{ connectionId: string; changed: boolean }> {
  return sql.transaction(async (tx) => {
    const [row] = await tx.query<{ connectionId: string; organizationId: string; revokedAt: Date | null; name: string }>(
      `SELECT t.connection_id AS "connectionId", t.organization_id AS "organizationId", t.revoked_at AS "revokedAt", t.name
       FROM scim_token t JOIN directory_connection c ON c.id = t.connection_id AND c.deleted_at IS NULL WHERE t.id = $1 FOR UPDATE OF t`,
      [tokenId],
    );
    if (!row || (organizationScope && row.organizationId !== organizationScope)) throw new HubError('NOT_FOUND', `SCIM token ${tokenId} not found`, { field: 'tokenId' });
    if (row.revokedAt) return { connectionId: row.connectionId, changed: false };
    await tx.query('UPDATE scim_token SET revoked_at = now() WHERE id = $1', [tokenId]);
    await appendAudit(tx, row.organizationId, [{ action: 'connection.token_revoked', actor, targetType: 'connection', targetId: row.connectionId, data: { tokenId, name: row.name } }]);
    return { connectionId: row.connectionId, changed: true };
  });
}

/** Revokes every active token and issues one (rotateConnectionSecret: the old tokens stop at commit). */
export async function replaceAllTokens(tx: Tx, connection: { id: string; organizationId: string; provider: string }): Promise<{ secret: string; revoked: string[]; tokenId: string }> {
  const revoked = await tx.query<{ id: string }>('UPDATE scim_token SET revoked_at = now() WHERE connection_id = $1 AND revoked_at IS NULL RETURNING id', [connection.id]);
  const token = await insertToken(tx, connection, { name: 'Rotated token' });
  return { secret: token.secret, revoked: revoked.map((r) => r.id), tokenId: token.id };
}
