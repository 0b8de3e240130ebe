// The session and credential tables (same shape; credentials add kind and name): the offboarding
// load, the lookup by external ref, and the flush of revocations and new rows.
import { prepared, type SqlExecutor } from '../../storage/sql.ts';
import { jsonSafe } from '../audit-log.ts';
import { membershipColumns } from './memberships.ts';

type SessionTable = 'session' | 'credential';

export interface SessionRevocation {
  table: SessionTable;
  id: string;
  status: string;
  reason: string;
  confirmed: boolean;
}

export interface NewSession {
  table: SessionTable;
  row: Record<string, unknown>;
}

// Row locks in the CTEs as in the separate loads (memberships, then sessions, then credentials, each in key order).
export const offboardingSql = prepared(`
  WITH m AS (SELECT ${membershipColumns} FROM group_membership WHERE $2::boolean AND user_id = $1 ORDER BY group_id FOR UPDATE),
  s AS (SELECT t.id, t.user_id AS "userId", t.connection_id AS "connectionId", c.provider, t.external_ref AS "externalRef"
    FROM session t LEFT JOIN directory_connection c ON c.id = t.connection_id WHERE t.user_id = $1 AND t.revoked_at IS NULL ORDER BY t.id FOR UPDATE OF t),
  k AS (SELECT t.id, t.user_id AS "userId", t.connection_id AS "connectionId", c.provider, t.external_ref AS "externalRef", t.kind
    FROM credential t LEFT JOIN directory_connection c ON c.id = t.connection_id WHERE t.user_id = $1 AND t.revoked_at IS NULL ORDER BY t.id FOR UPDATE OF t)
  SELECT (SELECT json_agg(m) FROM m) AS memberships, (SELECT json_agg(s ORDER BY s.id) FROM s) AS sessions, (SELECT json_agg(k ORDER BY k.id) FROM k) AS credentials`);

export function findSessionSql(table: SessionTable, kind: string | undefined): string {
  return `SELECT id, user_id AS "userId", connection_id AS "connectionId", external_ref AS "externalRef", revoked_at AS "revokedAt"
       FROM ${table} WHERE user_id = $1 AND external_ref = $2 ${kind ? 'AND kind = $3' : ''} FOR UPDATE`;
}

/** Per table, session then credential: revocations of existing rows, then new rows. */
export async function flushSessions(tx: SqlExecutor, revocations: readonly SessionRevocation[], created: readonly NewSession[], now: Date) {
  for (const table of ['session', 'credential'] as const) {
    const revoked = revocations.filter((r) => r.table === table);
    if (revoked.length) {
      await tx.query(
        `UPDATE ${table} t SET revoked_at = $2, revoked_reason = r.reason, revocation_status = r.status::"RevocationStatus",
               revocation_confirmed_at = CASE WHEN r.confirmed THEN $2::timestamptz END,
               next_attempt_at = CASE WHEN r.status = 'PENDING' THEN $2::timestamptz END
             FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, reason text, status text, confirmed boolean)
             WHERE t.id = r.id AND t.revoked_at IS NULL`,
        [JSON.stringify(revoked), now],
      );
    }
    const inserts = created.filter((s) => s.table === table).map((s) => jsonSafe(s.row));
    if (inserts.length) {
      await tx.query(
        `INSERT INTO ${table} (id, organization_id, user_id, connection_id, external_ref, created_at, revoked_at, revoked_reason, revocation_status,
               next_attempt_at ${table === 'credential' ? ', kind, name' : ''})
             SELECT id, "organizationId", "userId", "connectionId", "externalRef", "createdAt", "revokedAt", "revokedReason",
               "revocationStatus"::"RevocationStatus", CASE WHEN "revocationStatus" = 'PENDING' THEN "revokedAt" END ${table === 'credential' ? ', kind, name' : ''}
             FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, "organizationId" uuid, "userId" uuid, "connectionId" uuid, "externalRef" text,
               "createdAt" timestamptz, "revokedAt" timestamptz, "revokedReason" text, "revocationStatus" text, kind text, name text)`,
        [JSON.stringify(inserts)],
      );
    }
  }
}
