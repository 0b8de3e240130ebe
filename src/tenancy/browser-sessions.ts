// Setup links and browser sessions (issue 12). A setup link is a one-time secret a customer's IT
// admin opens; opening it starts a `setup` browser session scoped to that organization's directory
// setup. The operator console exchanges an API key for a `console` session acting with that key.
// A session is an HttpOnly cookie (src/http/session-cookies.ts) whose value, like the link's
// secret, is stored only as its SHA-256 digest.
//
// Lifetimes:
// - a link lives expiresInSeconds: 1 day by default, 60 s to 7 days. WorkOS's portal links last 5
//   minutes because the SaaS mints one the moment its customer clicks; ours are also handed over by
//   email or chat, so a day, and never more than a week, since the session opened from it lasts
//   until the link's expiry (it never outlives it) and ends when the link is revoked;
// - a console session lasts 12 hours at most and ends as soon as its API key is revoked.
import { v7 as uuidv7 } from 'uuid';
import { throttledTouch, type SqlClient, type SqlExecutor } from '../storage/sql.ts';
import { actorColumns, appendAudit } from '../engine/audit-log.ts';
import type { Actor } from '../engine/types.ts';
import { HubError } from '../hub/errors.ts';
import { digestsEqual, generateSecret, hashSecret } from '../secrets/index.ts';
import type { KeyPrincipal, Principal } from './principal.ts';

export const SETUP_LINK_SECONDS = { default: 86_400, min: 60, max: 7 * 86_400 } as const;
export const CONSOLE_SESSION_SECONDS = 12 * 3600;

export interface SetupLinkRow {
  id: string;
  organizationId: string;
  connectionId: string | null;
  expiresAt: Date;
}

export type LinkRefusal = 'expired' | 'revoked' | 'used';

const LINK_REFUSALS: Record<LinkRefusal, { code: 'LINK_EXPIRED' | 'LINK_REVOKED' | 'LINK_USED'; message: string }> = {
  expired: { code: 'LINK_EXPIRED', message: 'this setup link has expired: ask for a new one' },
  revoked: { code: 'LINK_REVOKED', message: 'this setup link was revoked: ask for a new one' },
  used: { code: 'LINK_USED', message: 'this setup link was already opened (links work once): ask for a new one, or continue in the browser that opened it' },
};

const linkColumns = 'id, organization_id AS "organizationId", connection_id AS "connectionId", expires_at AS "expiresAt"';

export async function createSetupLink(
  sql: SqlClient,
  input: { organizationId: string; connectionId?: string | null; expiresInSeconds?: number | null },
  actor: Actor,
): Promise<{ link: SetupLinkRow; token: string }> {
  const seconds = input.expiresInSeconds ?? SETUP_LINK_SECONDS.default;
  if (!Number.isInteger(seconds) || seconds < SETUP_LINK_SECONDS.min || seconds > SETUP_LINK_SECONDS.max) {
    throw new HubError('BAD_USER_INPUT', `expiresInSeconds must be a whole number from ${SETUP_LINK_SECONDS.min} to ${SETUP_LINK_SECONDS.max} (7 days); default ${SETUP_LINK_SECONDS.default}`, { field: 'expiresInSeconds' });
  }
  const token = generateSecret('lhsetup');
  const { actorType, actorId } = actorColumns(actor);
  const link = await sql.transaction(async (tx) => {
    const org = await tx.query('SELECT 1 FROM organization WHERE id = $1', [input.organizationId]);
    if (!org.length) throw new HubError('NOT_FOUND', `organization ${input.organizationId} not found`, { field: 'organizationId' });
    if (input.connectionId) {
      const found = await tx.query('SELECT 1 FROM directory_connection WHERE id = $1 AND organization_id = $2', [input.connectionId, input.organizationId]);
      if (!found.length) throw new HubError('NOT_FOUND', `connection ${input.connectionId} not found`, { field: 'connectionId' });
    }
    const [row] = await tx.query<SetupLinkRow>(
      `INSERT INTO setup_link (id, organization_id, connection_id, hash, created_by_type, created_by_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7)) RETURNING ${linkColumns}`,
      [uuidv7(), input.organizationId, input.connectionId ?? null, hashSecret(token), actorType, actorId, seconds],
    );
    await appendAudit(tx, input.organizationId, [{
      action: 'setup_link.created', actor, targetType: 'setup_link', targetId: row!.id,
      data: { connectionId: row!.connectionId, expiresAt: row!.expiresAt },
    }]);
    return row!;
  });
  return { link, token };
}

/** Revokes the link and ends its sessions; returns the ended sessions' ids (to close their sockets and streams). */
export async function revokeSetupLink(sql: SqlClient, id: string, actor: Actor, mayAccess: (organizationId: string) => boolean): Promise<{ sessionIds: string[] }> {
  return sql.transaction(async (tx) => {
    const [row] = await tx.query<{ organizationId: string; revokedAt: Date | null }>(
      'SELECT organization_id AS "organizationId", revoked_at AS "revokedAt" FROM setup_link WHERE id = $1 FOR UPDATE',
      [id],
    );
    if (!row || !mayAccess(row.organizationId)) throw new HubError('NOT_FOUND', `setup link ${id} not found`, { field: 'setupLinkId' });
    const ended = await tx.query<{ id: string }>('UPDATE browser_session SET revoked_at = now() WHERE setup_link_id = $1 AND revoked_at IS NULL RETURNING id::text AS id', [id]);
    // Revoking twice changes nothing and is audited once.
    if (!row.revokedAt) {
      await tx.query('UPDATE setup_link SET revoked_at = now() WHERE id = $1', [id]);
      await appendAudit(tx, row.organizationId, [{ action: 'setup_link.revoked', actor, targetType: 'setup_link', targetId: id, data: { endedSessions: ended.map((s) => s.id) } }]);
    }
    return { sessionIds: ended.map((s) => s.id) };
  });
}

export interface StartedSession {
  /** The cookie's value: handed to the browser once, stored as its digest. */
  cookieValue: string;
  principal: Principal;
}

/**
 * Opens a setup link. Null when no link has this token (a guess: counted as a failed
 * authentication by the caller). An expired, revoked or used link is refused with its code, and
 * the refusal is audited (after commit: the audit row must survive the refusal).
 */
export async function startSetupSession(sql: SqlClient, token: string): Promise<StartedSession | null> {
  if (!token || token.length > 512) return null;
  const cookieValue = generateSecret('lhsess');
  const sessionId = uuidv7();
  const outcome = await sql.transaction(async (tx): Promise<{ refusal: LinkRefusal } | { principal: Principal } | null> => {
    const [link] = await tx.query<SetupLinkRow & { usedAt: Date | null; revokedAt: Date | null; expired: boolean }>(
      `SELECT ${linkColumns}, used_at AS "usedAt", revoked_at AS "revokedAt", expires_at <= now() AS expired FROM setup_link WHERE hash = $1 FOR UPDATE`,
      [hashSecret(token)],
    );
    if (!link) return null;
    const refusal: LinkRefusal | null = link.revokedAt ? 'revoked' : link.usedAt ? 'used' : link.expired ? 'expired' : null;
    if (refusal) {
      await appendAudit(tx, link.organizationId, [{ action: 'setup_link.refused', actor: { type: 'system', name: 'setup link' }, targetType: 'setup_link', targetId: link.id, data: { reason: refusal } }]);
      return { refusal };
    }
    await tx.query('UPDATE setup_link SET used_at = now() WHERE id = $1', [link.id]);
    // The session ends with the link: it never outlives the link's expiry.
    await tx.query(
      `INSERT INTO browser_session (id, hash, kind, organization_id, connection_id, setup_link_id, expires_at) VALUES ($1, $2, 'setup', $3, $4, $5, $6)`,
      [sessionId, hashSecret(cookieValue), link.organizationId, link.connectionId, link.id, link.expiresAt],
    );
    await appendAudit(tx, link.organizationId, [{ action: 'setup_link.used', actor: { type: 'setup_session', sessionId }, targetType: 'setup_link', targetId: link.id, data: { sessionId, expiresAt: link.expiresAt } }]);
    const principal: Principal = { kind: 'setup', organizationId: link.organizationId, setupLinkId: link.id, connectionId: link.connectionId, browserSession: { id: sessionId, expiresAt: new Date(link.expiresAt) } };
    return { principal };
  });
  if (!outcome) return null;
  if ('refusal' in outcome) throw new HubError(LINK_REFUSALS[outcome.refusal].code, LINK_REFUSALS[outcome.refusal].message, { field: 'token' });
  return { cookieValue, principal: outcome.principal };
}

/**
 * Console sign-in: a session acting with the key (already authenticated by the caller). For the
 * environment's ADMIN_API_KEY (no row to revoke) the session keeps the key's digest: it ends when
 * ADMIN_API_KEY changes.
 */
export async function startConsoleSession(sql: SqlClient, key: KeyPrincipal, presentedKey: string): Promise<StartedSession> {
  const cookieValue = generateSecret('lhsess');
  const id = uuidv7();
  const organizationId = key.kind === 'organization' ? key.organizationId : null;
  const [row] = await sql.transaction(async (tx) => {
    const rows = await tx.query<{ expiresAt: Date }>(
      `INSERT INTO browser_session (id, hash, kind, api_key_id, admin, admin_key_hash, organization_id, expires_at)
       VALUES ($1, $2, 'console', $3, $4, $5, $6, now() + make_interval(secs => $7)) RETURNING expires_at AS "expiresAt"`,
      [id, hashSecret(cookieValue), key.apiKeyId, key.kind === 'admin', key.apiKeyId ? null : hashSecret(presentedKey), organizationId, CONSOLE_SESSION_SECONDS],
    );
    // Admin keys act on no one organization: their sign-ins, like their key changes, have no chain to go to.
    if (organizationId) await appendAudit(tx, organizationId, [{ action: 'console_session.started', actor: { type: 'api_key', apiKeyId: key.apiKeyId! }, targetType: 'browser_session', targetId: id }]);
    return rows;
  });
  return { cookieValue, principal: { ...key, browserSession: { id, expiresAt: new Date(row!.expiresAt) } } };
}

/** Sign-out: ends the principal's browser session (audited on its organization's chain). True when one was open. */
export async function endSession(sql: SqlClient, principal: Principal, actor: Actor): Promise<boolean> {
  const session = principal.browserSession;
  if (!session) return false;
  return sql.transaction(async (tx) => {
    const [row] = await tx.query<{ organizationId: string | null; kind: string }>(
      'UPDATE browser_session SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING organization_id AS "organizationId", kind::text AS kind',
      [session.id],
    );
    if (!row) return false;
    if (row.organizationId) await appendAudit(tx, row.organizationId, [{ action: `${row.kind}_session.ended`, actor, targetType: 'browser_session', targetId: session.id }]);
    return true;
  });
}

/**
 * Binds a setup session to the connection it created (once: false when it already had one). The
 * link records it too, so Organization.setupLinks shows what each link set up.
 */
export async function bindSetupConnection(sql: SqlClient, sessionId: string, connectionId: string): Promise<boolean> {
  return sql.transaction(async (tx) => {
    const [row] = await tx.query<{ setupLinkId: string }>(
      `UPDATE browser_session SET connection_id = $2 WHERE id = $1 AND kind = 'setup' AND connection_id IS NULL RETURNING setup_link_id AS "setupLinkId"`,
      [sessionId, connectionId],
    );
    if (!row) return false;
    await tx.query('UPDATE setup_link SET connection_id = $2 WHERE id = $1 AND connection_id IS NULL', [row.setupLinkId, connectionId]);
    return true;
  });
}

/**
 * When a session is still valid (`s` the session, `l` its link, `k` its key): not signed out, not
 * expired; a setup session's link not revoked; a console session's key not revoked (or, for the
 * environment's ADMIN_API_KEY, the same one still configured: BrowserSessionResolver compares it).
 */
export const VALID_SESSION_SQL = `s.revoked_at IS NULL AND s.expires_at > now() AND (
  (s.kind = 'setup' AND l.id IS NOT NULL AND l.revoked_at IS NULL AND l.expires_at > now())
  OR (s.kind = 'console' AND ((s.api_key_id IS NULL AND s.admin_key_hash IS NOT NULL) OR (k.id IS NOT NULL AND k.revoked_at IS NULL))))`;

const SESSION_JOINS = 'browser_session s LEFT JOIN setup_link l ON l.id = s.setup_link_id LEFT JOIN api_key k ON k.id = s.api_key_id';

/** The ids among these whose sessions are no longer valid (for the live-credential re-check). */
export async function endedSessions(sql: SqlExecutor, ids: string[]): Promise<string[]> {
  const valid = await sql.query<{ id: string }>(`SELECT s.id::text AS id FROM ${SESSION_JOINS} WHERE s.id = ANY($1::uuid[]) AND ${VALID_SESSION_SQL}`, [ids]);
  const stillValid = new Set(valid.map((r) => r.id));
  return ids.filter((id) => !stillValid.has(id));
}

interface SessionRow {
  id: string;
  kind: 'console' | 'setup';
  apiKeyId: string | null;
  admin: boolean;
  organizationId: string | null;
  connectionId: string | null;
  setupLinkId: string | null;
  adminKeyHash: string | null;
  expiresAt: Date;
}

/** Resolves browser sessions from their cookie values; records use at most once a minute per session. */
export class BrowserSessionResolver {

  private readonly envAdminDigest: string | null;

  /** Records use at most once a minute per session. */
  private readonly touch: (id: string) => void;

  constructor(private readonly sql: SqlExecutor, options: { adminApiKey?: string } = {}) {
    this.envAdminDigest = options.adminApiKey ? hashSecret(options.adminApiKey) : null;
    this.touch = throttledTouch(sql, 'UPDATE browser_session SET last_seen_at = now() WHERE id = $1', 60_000);
  }

  async resolve(cookieValue: string | null | undefined): Promise<Principal | null> {
    if (!cookieValue || cookieValue.length > 512) return null;
    const [row] = await this.sql.query<SessionRow>(
      `SELECT s.id::text AS id, s.kind::text AS kind, s.api_key_id AS "apiKeyId", s.admin, s.organization_id AS "organizationId",
         s.connection_id AS "connectionId", s.setup_link_id AS "setupLinkId", s.admin_key_hash AS "adminKeyHash", s.expires_at AS "expiresAt"
       FROM ${SESSION_JOINS} WHERE s.hash = $1 AND ${VALID_SESSION_SQL}`,
      [hashSecret(cookieValue)],
    );
    if (!row) return null;
    // Signed in with an ADMIN_API_KEY this instance no longer has.
    if (row.adminKeyHash && !(this.envAdminDigest && digestsEqual(row.adminKeyHash, this.envAdminDigest))) return null;
    this.touch(row.id);
    const browserSession = { id: row.id, expiresAt: new Date(row.expiresAt) };
    if (row.kind === 'setup') return { kind: 'setup', organizationId: row.organizationId!, setupLinkId: row.setupLinkId!, connectionId: row.connectionId, browserSession };
    if (row.admin) return { kind: 'admin', apiKeyId: row.apiKeyId, browserSession };
    return { kind: 'organization', organizationId: row.organizationId!, apiKeyId: row.apiKeyId!, browserSession };
  }

}
