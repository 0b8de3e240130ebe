import { v7 as uuidv7 } from 'uuid';
import type { SqlClient } from '../storage/sql.ts';
import { appendAudit } from '../engine/audit-log.ts';
import type { Actor } from '../engine/types.ts';
import { HubError } from '../hub/errors.ts';
import { generateSecret, hashSecret } from '../secrets/index.ts';

export interface ApiKeyRow {
  id: string;
  organizationId: string | null;
  name: string;
  prefix: string;
  createdAt: Date;
}

const KEY_PREFIX = 'lhk';

/** Creates a key; its secret is returned once and only its SHA-256 is kept. */
export async function createApiKey(sql: SqlClient, input: { organizationId: string | null; name: string }, actor: Actor): Promise<{ apiKey: ApiKeyRow; secret: string }> {
  const name = input.name.trim();
  if (!name || name.length > 200) throw new HubError('BAD_USER_INPUT', 'name must be 1 to 200 characters', { field: 'name' });
  const secret = generateSecret(KEY_PREFIX);
  const apiKey = await sql.transaction(async (tx) => {
    if (input.organizationId) {
      const org = await tx.query('SELECT 1 FROM organization WHERE id = $1', [input.organizationId]);
      if (!org.length) throw new HubError('NOT_FOUND', `organization ${input.organizationId} not found`, { field: 'organizationId' });
    }
    const [row] = await tx.query<ApiKeyRow>(
      `INSERT INTO api_key (id, organization_id, name, prefix, hash) VALUES ($1, $2, $3, $4, $5)
       RETURNING id, organization_id AS "organizationId", name, prefix, created_at AS "createdAt"`,
      [uuidv7(), input.organizationId, name, secret.slice(0, KEY_PREFIX.length + 7), hashSecret(secret)],
    );
    if (input.organizationId) {
      await appendAudit(tx, input.organizationId, [{ action: 'api_key.created', actor, targetType: 'api_key', targetId: row!.id, data: { name, prefix: row!.prefix } }]);
    }
    return row!;
  });
  return { apiKey, secret };
}

export async function revokeApiKey(sql: SqlClient, id: string, actor: Actor, scope: { organizationId: string | null }) {
  await sql.transaction(async (tx) => {
    const [row] = await tx.query<{ organizationId: string | null }>('SELECT organization_id AS "organizationId" FROM api_key WHERE id = $1 FOR UPDATE', [id]);
    if (!row || (scope.organizationId && row.organizationId !== scope.organizationId)) throw new HubError('NOT_FOUND', `API key ${id} not found`);
    await tx.query('UPDATE api_key SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
    if (row.organizationId) await appendAudit(tx, row.organizationId, [{ action: 'api_key.revoked', actor, targetType: 'api_key', targetId: id }]);
  });
}

/**
 * With no ADMIN_API_KEY configured, the first start creates an admin key and returns it to be
 * printed once; later starts find it (by its hash only) and return null.
 */
export async function ensureBootstrapAdminKey(sql: SqlClient): Promise<string | null> {
  const existing = await sql.query('SELECT 1 FROM api_key WHERE organization_id IS NULL AND revoked_at IS NULL LIMIT 1');
  if (existing.length) return null;
  const { secret } = await createApiKey(sql, { organizationId: null, name: 'bootstrap admin key' }, { type: 'system', name: 'bootstrap' });
  return secret;
}
