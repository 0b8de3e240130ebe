// The directory_group table: its columns, the locking load, and the flush of changed groups.
import { prepared, type SqlExecutor } from '../../storage/sql.ts';
import { jsonSafe } from '../audit-log.ts';
import type { GroupRecord } from '../types.ts';

const groupColumns = `id, organization_id AS "organizationId", connection_id AS "connectionId", source_id AS "sourceId",
  external_id AS "externalId", display_name AS "displayName", display_name_key AS "displayNameKey", source_data AS "sourceData",
  deleted_at AS "deletedAt", source_updated_at AS "sourceUpdatedAt", member_count AS "memberCount", version,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

// Locked in id order, as users are (users.ts).
export const loadGroupsSql = prepared(`SELECT ${groupColumns} FROM directory_group
  WHERE organization_id = $1 AND (id = ANY($2::uuid[]) OR (connection_id = $3::uuid AND
    (source_id = ANY($4::text[]) OR (display_name_key = ANY($5::text[]) AND deleted_at IS NULL))))
  ORDER BY id FOR UPDATE`);

const upsertGroupsSql = prepared(`
  INSERT INTO directory_group (id, organization_id, connection_id, source_id, external_id, display_name, display_name_key, source_data, deleted_at,
    source_updated_at, member_count, version, created_at, updated_at)
  SELECT id, "organizationId", "connectionId", "sourceId", "externalId", "displayName", "displayNameKey", "sourceData", "deletedAt",
    "sourceUpdatedAt", 0, version, "createdAt", "updatedAt"
  FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, "organizationId" uuid, "connectionId" uuid, "sourceId" text, "externalId" text,
    "displayName" text, "displayNameKey" text, "sourceData" jsonb, "deletedAt" timestamptz, "sourceUpdatedAt" timestamptz, version int,
    "createdAt" timestamptz, "updatedAt" timestamptz)
  ON CONFLICT (id) DO UPDATE SET external_id = EXCLUDED.external_id, display_name = EXCLUDED.display_name,
    display_name_key = EXCLUDED.display_name_key, source_data = EXCLUDED.source_data, deleted_at = EXCLUDED.deleted_at,
    source_updated_at = EXCLUDED.source_updated_at, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`);

// member_count is not written here: memberships move it by deltas (memberships.ts).
export async function flushGroups(tx: SqlExecutor, groups: GroupRecord[]) {
  if (groups.length) await tx.query(upsertGroupsSql, [JSON.stringify(groups.map(jsonSafe))]);
}
