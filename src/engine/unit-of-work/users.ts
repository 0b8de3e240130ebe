// The directory_user table: its columns, the locking load, and the flush of changed users.
import { prepared, type SqlExecutor } from '../../storage/sql.ts';
import { jsonSafe } from '../audit-log.ts';
import type { UserRecord } from '../types.ts';

const userColumns = `id, organization_id AS "organizationId", connection_id AS "connectionId", source_id AS "sourceId",
  external_id AS "externalId", user_name AS "userName", user_name_key AS "userNameKey", external_id_key AS "externalIdKey",
  email, emails, given_name AS "givenName", family_name AS "familyName", display_name AS "displayName", title, department,
  employee_number AS "employeeNumber", manager, custom_attributes AS "customAttributes", source_data AS "sourceData", state,
  source_active AS "sourceActive", deprovisioned_at AS "deprovisionedAt", deprovision_reason AS "deprovisionReason",
  source_deleted_at AS "sourceDeletedAt", source_updated_at AS "sourceUpdatedAt", source_state_at AS "sourceStateAt", last_synced_at AS "lastSyncedAt", roles,
  is_admin AS "isAdmin", person_key AS "personKey", version, created_at AS "createdAt", updated_at AS "updatedAt"`;

// Users and groups are locked in id order (a stable order across writers). Membership rows are
// locked too (memberships.ts): every membership change also holds its user's row, so readers see the latest.
export const loadUsersSql = prepared(`SELECT ${userColumns} FROM directory_user
  WHERE organization_id = $1 AND (id = ANY($2::uuid[]) OR (connection_id = $3::uuid AND
    (source_id = ANY($4::text[]) OR user_name_key = ANY($5::text[]) OR external_id_key = ANY($6::text[]))))
  ORDER BY id FOR UPDATE`);

// The organization's row lock serializes admin counts (UnitOfWork.countOtherActiveAdmins).
export const lockOrganizationSql = prepared('SELECT 1 FROM organization WHERE id = $1 FOR UPDATE');
export const countOtherAdminsSql = prepared(`SELECT count(*)::int AS n FROM directory_user
  WHERE organization_id = $1 AND is_admin AND state = 'ACTIVE' AND NOT (id = ANY($2::uuid[]))`);

const upsertUsersSql = prepared(`
  INSERT INTO directory_user (id, organization_id, connection_id, source_id, external_id, user_name, user_name_key, external_id_key, email, emails,
    given_name, family_name, display_name, title, department, employee_number, manager, custom_attributes, source_data, state, source_active,
    deprovisioned_at, deprovision_reason, source_deleted_at, source_updated_at, source_state_at, last_synced_at, roles, is_admin, person_key, version, created_at, updated_at)
  SELECT id, "organizationId", "connectionId", "sourceId", "externalId", "userName", "userNameKey", "externalIdKey", email, emails,
    "givenName", "familyName", "displayName", title, department, "employeeNumber", manager, "customAttributes", "sourceData", state, "sourceActive",
    "deprovisionedAt", "deprovisionReason", "sourceDeletedAt", "sourceUpdatedAt", "sourceStateAt", "lastSyncedAt", roles, "isAdmin", "personKey", version, "createdAt", "updatedAt"
  FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, "organizationId" uuid, "connectionId" uuid, "sourceId" text, "externalId" text, "userName" text,
    "userNameKey" text, "externalIdKey" text, email text, emails jsonb, "givenName" text, "familyName" text, "displayName" text, title text,
    department text, "employeeNumber" text, manager jsonb, "customAttributes" jsonb, "sourceData" jsonb, state "UserState", "sourceActive" boolean,
    "deprovisionedAt" timestamptz, "deprovisionReason" text, "sourceDeletedAt" timestamptz, "sourceUpdatedAt" timestamptz, "sourceStateAt" timestamptz, "lastSyncedAt" timestamptz,
    roles jsonb, "isAdmin" boolean, "personKey" text, version int, "createdAt" timestamptz, "updatedAt" timestamptz)
  ON CONFLICT (id) DO UPDATE SET external_id = EXCLUDED.external_id, user_name = EXCLUDED.user_name, user_name_key = EXCLUDED.user_name_key,
    external_id_key = EXCLUDED.external_id_key, email = EXCLUDED.email, emails = EXCLUDED.emails, given_name = EXCLUDED.given_name,
    family_name = EXCLUDED.family_name, display_name = EXCLUDED.display_name, title = EXCLUDED.title, department = EXCLUDED.department,
    employee_number = EXCLUDED.employee_number, manager = EXCLUDED.manager, custom_attributes = EXCLUDED.custom_attributes,
    source_data = EXCLUDED.source_data, state = EXCLUDED.state, source_active = EXCLUDED.source_active, deprovisioned_at = EXCLUDED.deprovisioned_at,
    deprovision_reason = EXCLUDED.deprovision_reason, source_deleted_at = EXCLUDED.source_deleted_at, source_updated_at = EXCLUDED.source_updated_at,
    source_state_at = EXCLUDED.source_state_at,
    last_synced_at = EXCLUDED.last_synced_at, roles = EXCLUDED.roles, is_admin = EXCLUDED.is_admin, person_key = EXCLUDED.person_key,
    version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`);

export async function flushUsers(tx: SqlExecutor, users: UserRecord[]) {
  if (users.length) await tx.query(upsertUsersSql, [JSON.stringify(users.map(jsonSafe))]);
}
