import { throttledTouch, type SqlClient } from '../storage/sql.ts';
import type { Actor } from '../engine/types.ts';
import { digestsEqual, hashSecret } from '../secrets/index.ts';

/** The browser session (cookie) a principal was resolved from, if any (src/tenancy/browser-sessions.ts). */
export interface BrowserSessionRef {
  id: string;
  expiresAt: Date;
}

/** What an API key stands for (also a console session, which acts with the key it signed in with). */
export type KeyPrincipal =
  | { kind: 'admin'; apiKeyId: string | null; browserSession?: BrowserSessionRef }
  | { kind: 'organization'; organizationId: string; apiKeyId: string; browserSession?: BrowserSessionRef };

/**
 * A customer's IT admin in a setup session opened from a setup link: scoped to one organization's
 * directory setup (its connection, that connection's groups and mappings), never to the rest of it.
 * Deny by default: canAccessOrganization is false for it, so every field that checks the
 * organization refuses it; what it may do is listed in src/graphql/plugins/use-setup-restrictions.ts
 * and checked on objects by canConfigureConnection / canSetUpOrganization.
 */
export interface SetupPrincipal {
  kind: 'setup';
  organizationId: string;
  setupLinkId: string;
  /** The connection being set up: the link's, or the one this session created; null until then. */
  connectionId: string | null;
  browserSession: BrowserSessionRef;
}

export type Principal = KeyPrincipal | SetupPrincipal;

export function actorOf(principal: Principal): Actor {
  switch (principal.kind) {
    case 'admin':
      return { type: 'admin', apiKeyId: principal.apiKeyId };
    case 'organization':
      return { type: 'api_key', apiKeyId: principal.apiKeyId };
    case 'setup':
      return { type: 'setup_session', sessionId: principal.browserSession.id };
  }
}

/** True when the principal may act on this organization as a whole (never a setup session). */
export function canAccessOrganization(principal: Principal | null, organizationId: string | null | undefined): boolean {
  if (!principal || !organizationId) return false;
  if (principal.kind === 'setup') return false;
  return principal.kind === 'admin' || principal.organizationId === organizationId;
}

/**
 * True when the principal may read and change this connection's setup (status, tokens, test mode,
 * pause, its groups' mappings): whoever may access the organization, or a setup session for this
 * very connection. The lead applies it to fields added elsewhere (connection(id), scimTokens,
 * createScimToken, revokeScimToken) through connectionOrganization in src/graphql/access.ts.
 */
export function canConfigureConnection(principal: Principal | null, connection: { id: string; organizationId: string }): boolean {
  if (!principal) return false;
  if (principal.kind === 'setup') return principal.organizationId === connection.organizationId && principal.connectionId === connection.id;
  return canAccessOrganization(principal, connection.organizationId);
}

/** True when the principal may read the organization's setup data (name, roles, group mappings): a setup session of it too. */
export function canSetUpOrganization(principal: Principal | null, organizationId: string | null | undefined): boolean {
  if (principal?.kind === 'setup') return !!organizationId && principal.organizationId === organizationId;
  return canAccessOrganization(principal, organizationId);
}

/** A setup session of this same organization (refused with FORBIDDEN rather than NOT_FOUND: it knows the organization). */
export const isSetupSessionOf = (principal: Principal | null, organizationId: string | null | undefined): boolean =>
  principal?.kind === 'setup' && !!organizationId && principal.organizationId === organizationId;

interface CacheEntry {
  principal: KeyPrincipal | null;
  expires: number;
}

/**
 * Resolves `Authorization: Bearer <key>` to a principal. Keys are looked up by SHA-256 digest; the
 * environment's ADMIN_API_KEY is compared digest-to-digest in constant time. Results are cached
 * briefly (subscriptions and accessCheck may authenticate on every request); a key revoked through
 * the API is dropped from every instance's cache at once (forgetApiKey, via
 * src/tenancy/credential-revocations.ts); one revoked otherwise stops working within the cache lifetime.
 */
export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly envAdminDigest: string | null;
  /** Bumped by forgetApiKey: a lookup that started before it does not cache what it read. */
  private generation = 0;

  constructor(
    private readonly sql: SqlClient,
    options: { adminApiKey?: string; cacheMs?: number; maxEntries?: number } = {},
  ) {
    this.envAdminDigest = options.adminApiKey ? hashSecret(options.adminApiKey) : null;
    this.touch = throttledTouch(sql, 'UPDATE api_key SET last_used_at = now() WHERE id = $1', 60_000);
    this.cacheMs = options.cacheMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  private readonly cacheMs: number;
  private readonly maxEntries: number;

  static bearer(header: string | null | undefined): string | null {
    if (!header) return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1]! : null;
  }

  async authenticate(token: string | null): Promise<KeyPrincipal | null> {
    if (!token || token.length > 512) return null;
    const digest = hashSecret(token);
    if (this.envAdminDigest && digestsEqual(digest, this.envAdminDigest)) return { kind: 'admin', apiKeyId: null };
    const now = Date.now();
    const cached = this.cache.get(digest);
    if (cached && cached.expires > now) return cached.principal;
    const generation = this.generation;
    const [row] = await this.sql.query<{ id: string; organizationId: string | null }>(
      'SELECT id, organization_id AS "organizationId" FROM api_key WHERE hash = $1 AND revoked_at IS NULL',
      [digest],
    );
    const principal: KeyPrincipal | null = row
      ? row.organizationId
        ? { kind: 'organization', organizationId: row.organizationId, apiKeyId: row.id }
        : { kind: 'admin', apiKeyId: row.id }
      : null;
    if (generation === this.generation) {
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(digest, { principal, expires: now + this.cacheMs });
    }
    if (row) this.touch(row.id, now);
    return principal;
  }

  /** Records use at most once a minute per key, off the request path. */
  private readonly touch: (id: string, now: number) => void;

  /** Drops the cached authentication of a revoked key (and keeps lookups already in flight from caching it again). */
  forgetApiKey(apiKeyId: string): void {
    this.generation++;
    for (const [digest, entry] of this.cache) if (entry.principal?.apiKeyId === apiKeyId) this.cache.delete(digest);
  }
}
