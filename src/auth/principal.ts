import type { SqlClient } from '../db/sql.ts';
import type { Actor } from '../engine/types.ts';
import { digestsEqual, hashSecret } from '../secrets/index.ts';

export type Principal =
  | { kind: 'admin'; apiKeyId: string | null }
  | { kind: 'organization'; organizationId: string; apiKeyId: string };

export function actorOf(principal: Principal): Actor {
  return principal.kind === 'admin' ? { type: 'admin', apiKeyId: principal.apiKeyId } : { type: 'api_key', apiKeyId: principal.apiKeyId };
}

/** True when the principal may act on this organization. */
export function canAccessOrganization(principal: Principal | null, organizationId: string | null | undefined): boolean {
  if (!principal || !organizationId) return false;
  return principal.kind === 'admin' || principal.organizationId === organizationId;
}

interface CacheEntry {
  principal: Principal | null;
  expires: number;
}

/**
 * Resolves `Authorization: Bearer <key>` to a principal. Keys are looked up by SHA-256 digest; the
 * environment's ADMIN_API_KEY is compared digest-to-digest in constant time. Results are cached
 * briefly (subscriptions and accessCheck may authenticate on every request); a revoked key stops
 * working within the cache lifetime.
 */
export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly envAdminDigest: string | null;
  private readonly lastUsedWrites = new Map<string, number>();

  constructor(
    private readonly sql: SqlClient,
    options: { adminApiKey?: string; cacheMs?: number; maxEntries?: number } = {},
  ) {
    this.envAdminDigest = options.adminApiKey ? hashSecret(options.adminApiKey) : null;
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

  async authenticate(token: string | null): Promise<Principal | null> {
    if (!token || token.length > 512) return null;
    const digest = hashSecret(token);
    if (this.envAdminDigest && digestsEqual(digest, this.envAdminDigest)) return { kind: 'admin', apiKeyId: null };
    const now = Date.now();
    const cached = this.cache.get(digest);
    if (cached && cached.expires > now) return cached.principal;
    const [row] = await this.sql.query<{ id: string; organizationId: string | null }>(
      'SELECT id, organization_id AS "organizationId" FROM api_key WHERE hash = $1 AND revoked_at IS NULL',
      [digest],
    );
    const principal: Principal | null = row
      ? row.organizationId
        ? { kind: 'organization', organizationId: row.organizationId, apiKeyId: row.id }
        : { kind: 'admin', apiKeyId: row.id }
      : null;
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(digest, { principal, expires: now + this.cacheMs });
    if (row) this.touch(row.id, now);
    return principal;
  }

  /** Records use at most once a minute per key, off the request path. */
  private touch(id: string, now: number) {
    if ((this.lastUsedWrites.get(id) ?? 0) > now - 60_000) return;
    this.lastUsedWrites.set(id, now);
    this.sql.query('UPDATE api_key SET last_used_at = now() WHERE id = $1', [id]).catch(() => {});
  }

  forget(): void {
    this.cache.clear();
  }
}
