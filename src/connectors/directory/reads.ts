// The DirectoryReader a connector gets for one connection: every query is scoped to that
// connection, reads only, and costs what SCIM's reads always cost (one indexed query for a get, one
// windowed query for a page; a count alone for count 0 or a page past the end).
import type { SqlExecutor } from '../../storage/sql.ts';
import { filterToSql, SqlParams, type DirectoryKind } from './filter-sql.ts';
import type { DirectoryFilter, DirectoryGroup, DirectoryMember, DirectoryPage, DirectoryQuery, DirectoryReader, DirectoryUser } from './types.ts';
import { isUuid } from '../../storage/sql.ts';

const USER_COLUMNS = `u.id, u.user_name AS "userName", u.external_id AS "externalId", u.display_name AS "displayName",
  u.given_name AS "givenName", u.family_name AS "familyName", u.emails, u.source_data AS "sourceData", u.source_active AS "sourceActive",
  u.version, u.created_at AS "createdAt", u.updated_at AS "updatedAt"`;

const GROUP_COLUMNS = `g.id, g.display_name AS "displayName", g.external_id AS "externalId", g.source_data AS "sourceData",
  g.version, g.created_at AS "createdAt", g.updated_at AS "updatedAt"`;

/** Each kind's table, alias, columns and what "live" means for it. */
const TABLES = {
  user: { from: 'directory_user u', columns: USER_COLUMNS, live: `u.source_deleted_at IS NULL AND u.state <> 'DELETED'`, id: 'u.id', connection: 'u.connection_id' },
  group: { from: 'directory_group g', columns: GROUP_COLUMNS, live: 'g.deleted_at IS NULL', id: 'g.id', connection: 'g.connection_id' },
} as const;


export function directoryReader(sql: SqlExecutor, connectionId: string): DirectoryReader {
  async function get<R>(kind: DirectoryKind, id: string): Promise<R | null> {
    if (!isUuid(id)) return null;
    const t = TABLES[kind];
    const [row] = await sql.query<R>(`SELECT ${t.columns} FROM ${t.from} WHERE ${t.id} = $1 AND ${t.connection} = $2 AND ${t.live}`, [id, connectionId]);
    return row ?? null;
  }

  async function list<R>(kind: DirectoryKind, query: DirectoryQuery = {}): Promise<DirectoryPage<R>> {
    const t = TABLES[kind];
    const params = new SqlParams([connectionId]);
    const condition = (filter: DirectoryFilter | undefined) => (filter ? ` AND ${filterToSql(kind, filter, params)}` : '');
    const where = `${t.connection} = $1 AND ${t.live}${condition(query.filter)}`;
    const startIndex = Math.max(1, query.startIndex ?? 1);
    const count = async (values: unknown[]) => (await sql.query<{ total: number }>(`SELECT count(*)::int AS total FROM ${t.from} WHERE ${where}`, values))[0]?.total ?? 0;
    if (query.count === 0) return { totalResults: await count(params.values), resources: [] };
    const filterValues = [...params.values];
    const limit = query.count === undefined ? 'ALL' : params.add(query.count);
    const offset = params.add(startIndex - 1);
    const rows = await sql.query<R & { total: number }>(
      `SELECT ${t.columns}, count(*) OVER ()::int AS total FROM ${t.from} WHERE ${where} ORDER BY ${t.id} LIMIT ${limit} OFFSET ${offset}`,
      params.values,
    );
    // Past the end the window is empty and says no total: count it alone.
    const totalResults = rows.length ? rows[0]!.total : startIndex > 1 ? await count(filterValues) : 0;
    return { totalResults, resources: rows.map(({ total: _total, ...row }) => row as R) };
  }

  return {
    getUser: (id) => get<DirectoryUser>('user', id),
    listUsers: (query) => list<DirectoryUser>('user', query),
    getGroup: (id) => get<DirectoryGroup>('group', id),
    listGroups: (query) => list<DirectoryGroup>('group', query),
    async groupMembers(groupIds) {
      const byGroup = new Map<string, DirectoryMember[]>(groupIds.map((id) => [id, []]));
      const ids = groupIds.filter((id) => isUuid(id));
      if (!ids.length) return byGroup;
      // Scoped through the member: a group id of another connection finds none of its members.
      const rows = await sql.query<DirectoryMember>(
        `SELECT m.group_id AS "groupId", m.user_id AS value, COALESCE(u.display_name, u.user_name) AS display
         FROM group_membership m JOIN directory_user u ON u.id = m.user_id
         WHERE m.group_id = ANY($1::uuid[]) AND u.connection_id = $2 AND m.removed_at IS NULL ORDER BY m.group_id, m.user_id`,
        [ids, connectionId],
      );
      for (const row of rows) byGroup.get(row.groupId)?.push(row);
      return byGroup;
    },
  };
}
