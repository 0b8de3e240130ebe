// Reading lifecycle events back from the database, with what subscribers are shown of the user,
// group and connection, in one statement per page (so fanning an event out to thousands of
// subscribers costs no further query).
import { prepared, type SqlExecutor } from '../storage/sql.ts';

export interface StreamEvent {
  /** The lifecycle event id: a decimal string (bigint), increasing in commit order per organization. */
  id: string;
  organizationId: string;
  type: string;
  occurredAt: Date;
  receivedAt: Date;
  enforcedAt: Date;
  deliveryId: string | null;
  auditEventId: string | null;
  data: Record<string, unknown>;
  /** As the user is when the event is read (a hard-deleted user's personal fields are gone). */
  user: { id: string; externalId: string | null; userName: string | null; email: string | null; displayName: string | null; state: string } | null;
  group: { id: string; displayName: string } | null;
  connection: { id: string; provider: string; name: string } | null;
}

const columns = `e.id::text AS id, e.organization_id AS "organizationId", e.type, e.occurred_at AS "occurredAt", e.received_at AS "receivedAt",
  e.enforced_at AS "enforcedAt", e.delivery_id AS "deliveryId", e.audit_event_id AS "auditEventId", e.data,
  CASE WHEN u.id IS NULL THEN NULL ELSE json_build_object('id', u.id, 'externalId', u.external_id, 'userName', u.user_name, 'email', u.email,
    'displayName', u.display_name, 'state', u.state) END AS "user",
  CASE WHEN g.id IS NULL THEN NULL ELSE json_build_object('id', g.id, 'displayName', g.display_name) END AS "group",
  CASE WHEN c.id IS NULL THEN NULL ELSE json_build_object('id', c.id, 'provider', c.provider, 'name', c.name) END AS connection`;

const joins = `LEFT JOIN directory_user u ON u.id = e.user_id
  LEFT JOIN directory_group g ON g.id = e.group_id
  LEFT JOIN directory_connection c ON c.id = e.connection_id`;

const pageSql = prepared(`SELECT ${columns} FROM lifecycle_event e ${joins}
  WHERE e.organization_id = $1 AND e.id > $2::int8 AND e.id <= $3::int8 ORDER BY e.id LIMIT $4`);

const typedPageSql = prepared(`SELECT ${columns} FROM lifecycle_event e ${joins}
  WHERE e.organization_id = $1 AND e.id > $2::int8 AND e.id <= $3::int8 AND e.type = ANY($5::text[]) ORDER BY e.id LIMIT $4`);

const byIdsSql = prepared(`SELECT ${columns} FROM lifecycle_event e ${joins} WHERE e.id = ANY($1::int8[]) ORDER BY e.id`);

const lastIdSql = prepared('SELECT COALESCE(max(id), 0)::text AS id FROM lifecycle_event WHERE organization_id = $1');

/** Largest bigint PostgreSQL holds: "no upper bound". */
export const NO_LIMIT = 9223372036854775807n;

/** Events of an organization with after < id <= upTo, oldest first, at most `limit`. */
export async function readEvents(
  sql: SqlExecutor,
  organizationId: string,
  range: { after: bigint; upTo?: bigint; limit: number; types?: readonly string[] | null },
): Promise<StreamEvent[]> {
  const params = [organizationId, range.after.toString(), (range.upTo ?? NO_LIMIT).toString(), range.limit];
  const rows = range.types?.length
    ? await sql.query<StreamEvent>(typedPageSql, [...params, range.types])
    : await sql.query<StreamEvent>(pageSql, params);
  for (const row of rows) normalize(row);
  return rows;
}

/** Events by id (any organization: the caller knows whose), oldest first: the webhook worker's payloads. */
export async function readEventsByIds(sql: SqlExecutor, ids: readonly string[]): Promise<StreamEvent[]> {
  if (!ids.length) return [];
  const rows = await sql.query<StreamEvent>(byIdsSql, [ids]);
  for (const row of rows) normalize(row);
  return rows;
}

export async function lastEventId(sql: SqlExecutor, organizationId: string): Promise<bigint> {
  const [row] = await sql.query<{ id: string }>(lastIdSql, [organizationId]);
  return BigInt(row?.id ?? '0');
}

/** PGlite and pg agree on timestamptz (Date) but JSON built in SQL keeps its keys as sent. */
function normalize(row: StreamEvent) {
  for (const key of ['occurredAt', 'receivedAt', 'enforcedAt'] as const) {
    if (!(row[key] instanceof Date)) row[key] = new Date(row[key] as unknown as string);
  }
  if (typeof row.data === 'string') row.data = JSON.parse(row.data);
  for (const key of ['user', 'group', 'connection'] as const) {
    if (typeof row[key] === 'string') (row as unknown as Record<string, unknown>)[key] = JSON.parse(row[key] as unknown as string);
  }
}
