// What the engine reads for a batch before it applies it (engine.ts): the organization, its
// connections and audit chain head in one statement, the deliveries already applied (idempotency),
// and the entity keys that keep concurrent batches of one organization apart.
import { prepared, type SqlExecutor } from '../storage/sql.ts';
import type { LifecycleCommand } from './commands.ts';
import { EngineError } from './errors.ts';
import { nameKey } from './name-key.ts';
import type { Delivery } from './types.ts';
import type { ConnectionInfo, OrganizationInfo } from './unit-of-work/index.ts';

/** A delivery with its parsed commands, as a batch holds it. */
export interface BatchItem {
  delivery: Delivery;
  commands: readonly LifecycleCommand[];
}

// Identity-linking settings, and which ids the batch wants to create with are taken already (in any
// organization: creating with one is refused, never an overwrite), all in the context's one statement.
const organizationExtras = `o.identity_linking AS "identityLinking", o.authoritative_connection_id AS "authoritativeConnectionId",
    CASE WHEN cardinality($3::uuid[]) = 0 THEN '{}'::uuid[] ELSE ARRAY(
      SELECT id FROM directory_user WHERE id = ANY($3::uuid[]) UNION ALL SELECT id FROM directory_group WHERE id = ANY($3::uuid[])) END AS "takenIds"`;

const loadContextSql = prepared(`
  SELECT o.id, o.role_ranking AS "roleRanking", o.default_role AS "defaultRole", ${organizationExtras},
    CASE WHEN c.id IS NULL THEN NULL ELSE json_build_object('id', c.id, 'organizationId', c.organization_id, 'provider', c.provider,
      'status', c.status, 'testMode', c.test_mode, 'deprovisionPolicy', c.deprovision_policy, 'deniedAttributes', c.denied_attributes) END AS connection
  FROM organization o LEFT JOIN directory_connection c ON c.organization_id = o.id AND c.id = ANY($2::uuid[]) AND c.deleted_at IS NULL
  WHERE o.id = $1`);

const loadContextWithHeadSql = prepared(`
  SELECT o.id, o.role_ranking AS "roleRanking", o.default_role AS "defaultRole", ${organizationExtras}, h.seq AS "headSeq", h.hash AS "headHash",
    CASE WHEN c.id IS NULL THEN NULL ELSE json_build_object('id', c.id, 'organizationId', c.organization_id, 'provider', c.provider,
      'status', c.status, 'testMode', c.test_mode, 'deprovisionPolicy', c.deprovision_policy, 'deniedAttributes', c.denied_attributes) END AS connection
  FROM organization o JOIN audit_chain_head h ON h.organization_id = o.id
  LEFT JOIN directory_connection c ON c.organization_id = o.id AND c.id = ANY($2::uuid[]) AND c.deleted_at IS NULL
  WHERE o.id = $1`);

const knownDeliveriesSql = prepared(`
  SELECT connection_id AS "connectionId", delivery_id AS "deliveryId" FROM inbound_delivery
  WHERE (connection_id, delivery_id) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))`);

/** What a delivery names, for keeping concurrent batches apart. */
export function entityKeys(connectionId: string | undefined, commands: readonly LifecycleCommand[]): Set<string> {
  const keys = new Set<string>();
  const scope = connectionId ?? 'api';
  const user = (ref: { sourceId: string } | { userId: string }) => keys.add('sourceId' in ref ? `u:${scope}:${ref.sourceId}` : `u:${ref.userId}`);
  const group = (ref: { sourceId: string } | { groupId: string }) => keys.add('sourceId' in ref ? `g:${scope}:${ref.sourceId}` : `g:${ref.groupId}`);
  for (const c of commands) {
    switch (c.type) {
      case 'upsertUser': {
        keys.add(`u:${scope}:${c.sourceId}`);
        // Unique keys compete across users: two users claiming one userName must not race.
        const name = nameKey(c.profile.userName);
        if (name) keys.add(`name:${scope}:${name}`);
        if (c.profile.externalId) keys.add(`ext:${scope}:${c.profile.externalId}`);
        break;
      }
      case 'upsertGroup': {
        keys.add(`g:${scope}:${c.sourceId}`);
        const name = nameKey(c.displayName);
        if (name) keys.add(`gname:${scope}:${name}`);
        break;
      }
      case 'deleteGroup':
        group(c.group);
        break;
      case 'addMembers':
      case 'removeMembers':
      case 'replaceMembers':
        group(c.group);
        c.users.forEach(user);
        break;
      // Mapping and role-setting changes recompute roles across the organization: they run alone.
      case 'setGroupMapping':
      case 'removeGroupMapping':
      case 'setRoleSettings':
        keys.add('*');
        break;
      case 'recordSync':
        keys.add(`sync:${c.connectionId}`);
        break;
      case 'recordConnectionChange':
        keys.add(`connection:${c.connectionId}`);
        break;
      // One session or credential row (the revocation worker's report), locked by the command itself.
      case 'recordRevocation':
        keys.add(`${c.target}:${c.id}`);
        break;
      default:
        user(c.user);
    }
  }
  return keys;
}

export async function loadContext(tx: SqlExecutor, organizationId: string, batch: readonly BatchItem[], withChainHead: boolean) {
  const connectionIds = [...new Set(batch.map((p) => p.delivery.connectionId).filter((c): c is string => !!c))];
  const requestedIds: string[] = [];
  for (const p of batch) for (const c of p.commands) if ((c.type === 'upsertUser' || c.type === 'upsertGroup') && c.id) requestedIds.push(c.id);
  const rows = await tx.query<OrganizationInfo & { connection: ConnectionInfo | null; headSeq: string | number; headHash: string }>(
    withChainHead ? loadContextWithHeadSql : loadContextSql,
    [organizationId, connectionIds, requestedIds],
  );
  if (!rows.length) throw new EngineError('NOT_FOUND', `organization ${organizationId} not found`);
  const { connection: _c, headSeq, headHash, ...organization } = rows[0]!;
  const connections = new Map<string, ConnectionInfo>();
  for (const row of rows) if (row.connection) connections.set(row.connection.id, row.connection);
  const chainHead = withChainHead ? { seq: Number(headSeq), hash: headHash } : undefined;
  return { organization: organization as OrganizationInfo, connections, chainHead };
}

export async function knownDeliveries(tx: SqlExecutor, batch: readonly BatchItem[]): Promise<Set<string>> {
  const keyed = batch.filter((p) => p.delivery.deliveryId && p.delivery.connectionId);
  if (!keyed.length) return new Set();
  const rows = await tx.query<{ connectionId: string; deliveryId: string }>(knownDeliveriesSql, [keyed.map((p) => p.delivery.connectionId), keyed.map((p) => p.delivery.deliveryId)],
  );
  return new Set(rows.map((r) => `${r.connectionId}\u0000${r.deliveryId}`));
}
