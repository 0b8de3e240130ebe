import { v7 as uuidv7 } from 'uuid';
import type { SqlClient } from '../db/sql.ts';
import type { AnyConnector, ConnectionView } from '../connectors/contract.ts';
import { ConnectorOutbound } from '../connectors/outbound.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import { appendAudit } from '../engine/audit-log.ts';
import type { Actor } from '../engine/types.ts';
import { HubError } from '../errors.ts';
import { digestsEqual, generateSecret, hashSecret, type SecretBox } from '../secrets/index.ts';

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
  status: 'ACTIVE' | 'PAUSED';
  testMode: boolean;
  config: Record<string, unknown>;
  secretsCiphertext: string | null;
  tokenHash: string | null;
  cursor: string | null;
}

const connectionColumns = `id, organization_id AS "organizationId", provider, name, status, test_mode AS "testMode", config,
  secrets_ciphertext AS "secretsCiphertext", token_hash AS "tokenHash", cursor`;

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
  const token = connector.issuesBearerToken ? generateSecret(`lh${connector.id.replace(/[^a-z0-9]/g, '')}`) : null;
  const id = uuidv7();
  await services.sql.transaction(async (tx) => {
    const org = await tx.query('SELECT 1 FROM organization WHERE id = $1', [input.organizationId]);
    if (!org.length) throw new HubError('NOT_FOUND', `organization ${input.organizationId} not found`, { field: 'organizationId' });
    await tx.query(
      `INSERT INTO directory_connection (id, organization_id, provider, name, test_mode, deprovision_policy, config, secrets_ciphertext, token_hash, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6::"DeprovisionPolicy", $7::jsonb, $8, $9, now())`,
      [id, input.organizationId, input.provider, name, input.testMode ?? false, input.deprovisionPolicy ?? 'SOFT', JSON.stringify(plain),
        Object.keys(secrets).length ? services.box.seal(secrets) : null, token ? hashSecret(token) : null],
    );
    await appendAudit(tx, input.organizationId, [{
      action: 'connection.created', actor, targetType: 'connection', targetId: id,
      data: { provider: input.provider, name, secretFields: Object.keys(secrets), issuedToken: token !== null, testMode: input.testMode ?? false },
    }]);
  });
  return { connectionId: id, secret: token };
}

async function lockConnection(tx: Parameters<Parameters<SqlClient['transaction']>[0]>[0], id: string, organizationScope: string | null) {
  const [row] = await tx.query<ConnectionRow>(`SELECT ${connectionColumns} FROM directory_connection WHERE id = $1 FOR UPDATE`, [id]);
  if (!row || (organizationScope && row.organizationId !== organizationScope)) throw new HubError('NOT_FOUND', `connection ${id} not found`, { field: 'connectionId' });
  return row;
}

export async function updateConnection(
  services: ConnectionServices,
  connectionId: string,
  change: { status?: 'ACTIVE' | 'PAUSED'; testMode?: boolean; deprovisionPolicy?: 'SOFT' | 'HARD_DELETE'; deprovisionOnDrift?: boolean; deniedAttributes?: string[]; name?: string },
  actor: Actor,
  organizationScope: string | null,
): Promise<void> {
  await services.sql.transaction(async (tx) => {
    const row = await lockConnection(tx, connectionId, organizationScope);
    await tx.query(
      `UPDATE directory_connection SET
         status = COALESCE($2::"ConnectionStatus", status), test_mode = COALESCE($3, test_mode),
         deprovision_policy = COALESCE($4::"DeprovisionPolicy", deprovision_policy), deprovision_on_drift = COALESCE($5, deprovision_on_drift),
         denied_attributes = COALESCE($6, denied_attributes), name = COALESCE($7, name), updated_at = now()
       WHERE id = $1`,
      [connectionId, change.status ?? null, change.testMode ?? null, change.deprovisionPolicy ?? null, change.deprovisionOnDrift ?? null, change.deniedAttributes ?? null, change.name?.trim() || null],
    );
    await appendAudit(tx, row.organizationId, [{ action: 'connection.updated', actor, targetType: 'connection', targetId: connectionId, data: { change } }]);
  });
  connectionChanged(connectionId);
}

/** Issues a new bearer token; the old one stops working at commit. */
export async function rotateConnectionSecret(services: ConnectionServices, connectionId: string, actor: Actor, organizationScope: string | null): Promise<string> {
  const token = await services.sql.transaction(async (tx) => {
    const row = await lockConnection(tx, connectionId, organizationScope);
    const connector = connectorFor(services.registry, row.provider);
    if (!connector.issuesBearerToken) {
      throw new HubError('FAILED_PRECONDITION', `${connector.displayName} connections have no hub-issued token; rotate the secret at ${connector.displayName} and update the connection's config`);
    }
    const token = generateSecret(`lh${connector.id.replace(/[^a-z0-9]/g, '')}`);
    await tx.query('UPDATE directory_connection SET token_hash = $2, updated_at = now() WHERE id = $1', [connectionId, hashSecret(token)]);
    await appendAudit(tx, row.organizationId, [{ action: 'connection.secret_rotated', actor, targetType: 'connection', targetId: connectionId }]);
    return token;
  });
  connectionChanged(connectionId);
  return token;
}

/** The connection as its connector sees it (secrets decrypted), or null. */
export async function loadConnectionView(services: Pick<ConnectionServices, 'sql' | 'box'>, connectionId: string): Promise<(ConnectionView & { tokenHash: string | null }) | null> {
  if (!/^[0-9a-f-]{36}$/i.test(connectionId)) return null;
  const [row] = await services.sql.query<ConnectionRow>(`SELECT ${connectionColumns} FROM directory_connection WHERE id = $1`, [connectionId]);
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
    tokenHash: row.tokenHash,
  };
}

/** True when the token is this connection's; constant-time in the token. */
export function tokenMatches(tokenHash: string | null, token: string): boolean {
  return tokenHash !== null && digestsEqual(hashSecret(token), tokenHash);
}
