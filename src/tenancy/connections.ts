import { v7 as uuidv7 } from 'uuid';
import type { SqlClient } from '../storage/sql.ts';
import type { AnyConnector, ConnectionView } from '../connectors/contract.ts';
import { ConnectorOutbound } from '../connectors/outbound.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import { appendAudit } from '../engine/audit-log.ts';
import type { Actor } from '../engine/types.ts';
import { HubError } from '../hub/errors.ts';
import { type SecretBox } from '../secrets/index.ts';
import { activeTokenCondition, insertToken, replaceAllTokens, type ActiveToken } from './scim-tokens.ts';

/**
 * Told, after commit, when a connection's status, settings or token change in this process, so
 * caches of it (the bearer-token check of push endpoints) drop it at once.
 */
const changeListeners = new Set<(connectionId: string) => void>();
export function onConnectionChanged(listener: (connectionId: string) => void): () => void {
  changeListeners.add(listener);
  return () => changeListeners.delete(listener);
}
function connectionChanged(connectionId: string) {
  for (const listener of changeListeners) listener(connectionId);
}

export interface ConnectionServices {
  sql: SqlClient;
  registry: ConnectorRegistry;
  box: SecretBox;
  /**
   * Checks a configured API base URL against the hosts the connector and the operator allow
   * (the hub's); without it, only the connector's own hosts, never a private address.
   */
  outbound?: ConnectorOutbound;
}

const strictOutbound = new ConnectorOutbound({ allowPrivateNetworks: false, allowedHosts: [] });

interface ConnectionRow {
  id: string;
  organizationId: string;
  provider: string;
  name: string;
  status: ConnectionView['status'];
  testMode: boolean;
  config: Record<string, unknown>;
  secretsCiphertext: string | null;
  cursor: string | null;
  recentFailures: number;
}

const connectionColumns = `id, organization_id AS "organizationId", provider, name, status, test_mode AS "testMode", config,
  secrets_ciphertext AS "secretsCiphertext", cursor, recent_failures AS "recentFailures"`;

function connectorFor(registry: ConnectorRegistry, provider: string): AnyConnector {
  const connector = registry.get(provider);
  if (!connector) {
    const known = registry.list().map((c) => `"${c.id}"`).join(', ') || 'none';
    throw new HubError('BAD_USER_INPUT', `unknown provider "${provider}"; available: ${known}`, { field: 'provider' });
  }
  return connector;
}

/** Validates config with the connector's schema; secret fields are split off to be encrypted. */
function splitConfig(connector: AnyConnector, config: unknown, outbound: ConnectorOutbound): { plain: Record<string, unknown>; secrets: Record<string, unknown> } {
  const parsed = connector.configSchema.safeParse(config ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]! as { code?: string; path: PropertyKey[]; message: string; keys?: string[] };
    // An unknown key is named like any other field, with the ones that exist.
    const unknown = issue.code === 'unrecognized_keys' && issue.keys?.length ? issue.keys[0] : undefined;
    const field = ['config', ...issue.path.map(String), ...(unknown ? [unknown] : [])].join('.');
    const known = unknown && typeof (connector.configSchema as { keyof?: unknown }).keyof === 'function' ? Object.keys((connector.configSchema as unknown as { shape: object }).shape ?? {}) : [];
    const message = unknown
      ? `is not a ${connector.displayName} setting${known.length ? ` (settings: ${known.join(', ')})` : ''}`
      : issue.code === 'invalid_type' && /received undefined/.test(issue.message)
        ? 'is required'
        : issue.message;
    throw new HubError('BAD_USER_INPUT', `${field}: ${message}`, { field });
  }
  const value = (parsed.data ?? {}) as Record<string, unknown>;
  const refused = outbound.configProblem(connector, value);
  if (refused) throw new HubError('BAD_USER_INPUT', `${refused.field}: ${refused.message}`, { field: refused.field });
  const secretFields = new Set(connector.secretFields ?? []);
  const plain: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) (secretFields.has(k) ? secrets : plain)[k] = v;
  return { plain, secrets };
}

export async function createConnection(
  services: ConnectionServices,
  input: { organizationId: string; provider: string; name: string; config?: unknown; testMode?: boolean; deprovisionPolicy?: 'SOFT' | 'HARD_DELETE' },
  actor: Actor,
): Promise<{ connectionId: string; secret: string | null }> {
  const connector = connectorFor(services.registry, input.provider);
  const name = input.name.trim();
  if (!name || name.length > 200) throw new HubError('BAD_USER_INPUT', 'name must be 1 to 200 characters', { field: 'name' });
  const { plain, secrets } = splitConfig(connector, input.config, services.outbound ?? strictOutbound);
  const id = uuidv7();
  const token = await services.sql.transaction(async (tx) => {
    const org = await tx.query('SELECT 1 FROM organization WHERE id = $1', [input.organizationId]);
    if (!org.length) throw new HubError('NOT_FOUND', `organization ${input.organizationId} not found`, { field: 'organizationId' });
    await tx.query(
      `INSERT INTO directory_connection (id, organization_id, provider, name, status, status_changed_at, test_mode, deprovision_policy, config, secrets_ciphertext, updated_at)
       VALUES ($1, $2, $3, $4, 'AWAITING_FIRST_REQUEST', now(), $5, $6::"DeprovisionPolicy", $7::jsonb, $8, now())`,
      [id, input.organizationId, input.provider, name, input.testMode ?? false, input.deprovisionPolicy ?? 'SOFT', JSON.stringify(plain),
        Object.keys(secrets).length ? services.box.seal(secrets) : null],
    );
    const token = connector.issuesBearerToken ? (await insertToken(tx, { id, organizationId: input.organizationId, provider: input.provider }, { name: 'Initial token' })).secret : null;
    await appendAudit(tx, input.organizationId, [{
      action: 'connection.created', actor, targetType: 'connection', targetId: id,
      data: { provider: input.provider, name, secretFields: Object.keys(secrets), issuedToken: token !== null, testMode: input.testMode ?? false },
    }]);
    return token;
  });
  return { connectionId: id, secret: token };
}

async function lockConnection(tx: Parameters<Parameters<SqlClient['transaction']>[0]>[0], id: string, organizationScope: string | null) {
  const [row] = await tx.query<ConnectionRow>(`SELECT ${connectionColumns} FROM directory_connection WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, [id]);
  if (!row || (organizationScope && row.organizationId !== organizationScope)) throw new HubError('NOT_FOUND', `connection ${id} not found`, { field: 'connectionId' });
  return row;
}

export async function updateConnection(
  services: ConnectionServices,
  connectionId: string,
  change: { status?: 'PAUSED' | 'RESUMED'; testMode?: boolean; deprovisionPolicy?: 'SOFT' | 'HARD_DELETE'; deprovisionOnDrift?: boolean; deniedAttributes?: string[]; name?: string },
  actor: Actor,
  organizationScope: string | null,
): Promise<void> {
  await services.sql.transaction(async (tx) => {
    const row = await lockConnection(tx, connectionId, organizationScope);
    // Resuming goes back to where the connection was before it was paused, as far as the hub can
    // tell: ACTIVE once it has been heard from, AWAITING_FIRST_REQUEST otherwise (FAILING and STALE
    // are found again by the next requests and the health job).
    const status = change.status === 'PAUSED' ? 'PAUSED' : change.status === 'RESUMED' && row.status === 'PAUSED' ? 'RESUMED' : null;
    await tx.query(
      `UPDATE directory_connection SET
         status = CASE WHEN $2::text IS NULL THEN status WHEN $2 = 'PAUSED' THEN 'PAUSED'::"ConnectionStatus"
           WHEN first_request_at IS NULL THEN 'AWAITING_FIRST_REQUEST'::"ConnectionStatus" ELSE 'ACTIVE'::"ConnectionStatus" END,
         status_changed_at = CASE WHEN $2::text IS NULL OR status = 'PAUSED' AND $2 = 'PAUSED' THEN status_changed_at ELSE now() END,
         recent_failures = CASE WHEN $2::text IS NULL THEN recent_failures ELSE 0 END, test_mode = COALESCE($3, test_mode),
         deprovision_policy = COALESCE($4::"DeprovisionPolicy", deprovision_policy), deprovision_on_drift = COALESCE($5, deprovision_on_drift),
         denied_attributes = COALESCE($6, denied_attributes), name = COALESCE($7, name), updated_at = now()
       WHERE id = $1`,
      [connectionId, status, change.testMode ?? null, change.deprovisionPolicy ?? null, change.deprovisionOnDrift ?? null, change.deniedAttributes ?? null, change.name?.trim() || null],
    );
    await appendAudit(tx, row.organizationId, [{ action: 'connection.updated', actor, targetType: 'connection', targetId: connectionId, data: { change } }]);
  });
  connectionChanged(connectionId);
}

/**
 * Issues a new bearer token and revokes every active one at commit ("create + revoke all" in one
 * step; createScimToken + revokeScimToken rotate without downtime).
 */
export async function rotateConnectionSecret(services: ConnectionServices, connectionId: string, actor: Actor, organizationScope: string | null, tokenRevoked?: (credential: { kind: string; id: string }) => void): Promise<string> {
  const token = await services.sql.transaction(async (tx) => {
    const row = await lockConnection(tx, connectionId, organizationScope);
    const connector = connectorFor(services.registry, row.provider);
    if (!connector.issuesBearerToken) {
      throw new HubError('FAILED_PRECONDITION', `${connector.displayName} connections have no hub-issued token; rotate the secret at ${connector.displayName} and update the connection's config`);
    }
    const { secret, revoked, tokenId } = await replaceAllTokens(tx, row);
    await tx.query('UPDATE directory_connection SET updated_at = now() WHERE id = $1', [connectionId]);
    await appendAudit(tx, row.organizationId, [{ action: 'connection.secret_rotated', actor, targetType: 'connection', targetId: connectionId, data: { revokedTokens: revoked, tokenId } }]);
    return { secret, revoked };
  });
  connectionChanged(connectionId);
  for (const id of token.revoked) tokenRevoked?.({ kind: 'scim_token', id });
  return token.secret;
}

/** The connection as its connector sees it (secrets decrypted), or null. */
/** `includeDeleted`: the revocation job still revokes, at the source, what a deleted connection's deprovisions left. */
export async function loadConnectionView(services: Pick<ConnectionServices, 'sql' | 'box'>, connectionId: string, options: { includeDeleted?: boolean } = {}): Promise<ConnectionView | null> {
  const loaded = await loadConnectionRow(services, connectionId, options.includeDeleted);
  if (!loaded) return null;
  const { recentFailures: _f, ...view } = loaded;
  return view;
}

/**
 * The view, its active SCIM tokens and its failure count, for the push endpoints' check
 * (src/http/app.ts): one statement, as the single query it replaces (this runs once a second per
 * connection on the hot path).
 */
export async function loadPushConnection(services: Pick<ConnectionServices, 'sql' | 'box'>, connectionId: string): Promise<(ConnectionView & { tokens: ActiveToken[]; recentFailures: number }) | null> {
  const loaded = await loadConnectionRow(services, connectionId, false, true);
  if (!loaded) return null;
  const { tokens, ...view } = loaded as typeof loaded & { tokens: Array<{ id: string; hash: string; expiresAt: string | null }> | null };
  return { ...view, tokens: (tokens ?? []).map((t) => ({ id: t.id, hash: t.hash, expiresAt: t.expiresAt ? new Date(t.expiresAt) : null })) };
}

const activeTokensColumn = `(SELECT json_agg(json_build_object('id', t.id, 'hash', t.hash, 'expiresAt', t.expires_at) ORDER BY t.created_at) FROM scim_token t
  WHERE t.connection_id = directory_connection.id AND ${activeTokenCondition('t')}) AS tokens`;

async function loadConnectionRow(services: Pick<ConnectionServices, 'sql' | 'box'>, connectionId: string, includeDeleted = false, withTokens = false): Promise<(ConnectionView & { recentFailures: number }) | null> {
  if (!/^[0-9a-f-]{36}$/i.test(connectionId)) return null;
  // A deleted connection is gone for its sources: nothing authenticates or is pulled for it.
  const [row] = await services.sql.query<ConnectionRow & { tokens?: unknown }>(
    `SELECT ${connectionColumns}${withTokens ? `, ${activeTokensColumn}` : ''} FROM directory_connection WHERE id = $1${includeDeleted ? '' : ' AND deleted_at IS NULL'}`,
    [connectionId],
  );
  if (!row) return null;
  const secrets = row.secretsCiphertext ? services.box.open<Record<string, unknown>>(row.secretsCiphertext) : {};
  return {
    id: row.id,
    organizationId: row.organizationId,
    provider: row.provider,
    name: row.name,
    status: row.status,
    testMode: row.testMode,
    config: { ...row.config, ...secrets },
    cursor: row.cursor,
    recentFailures: row.recentFailures,
    ...(withTokens ? { tokens: row.tokens } : {}),
  };
}

export { connectionChanged };
