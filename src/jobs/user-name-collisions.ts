// Users whose userNames became one name when userName keys were normalized (src/engine/name-key.ts;
// the migration normalized_name_keys recorded them in user_name_collision instead of failing on the
// unique index). They keep working on their earlier keys; an operator should still look at them:
// they look like one person to whoever reads a list, and `userName eq` finds only one of them.
// Reported at start while it lasts (docs/operations.md#username-collisions).
import type { SqlExecutor } from '../storage/sql.ts';
import { nameKey } from '../engine/name-key.ts';
import type { Logger } from '../hub/logger.ts';

export interface UserNameCollision {
  organizationId: string;
  connectionId: string;
  /** Users of the connection, not deleted at the source, whose userNames are still one name. */
  userIds: string[];
}

/** The recorded collisions that still hold (two of their users are still there, still alike). */
export async function openUserNameCollisions(sql: SqlExecutor): Promise<UserNameCollision[]> {
  const rows = await sql.query<{ id: string; organizationId: string; connectionId: string; key: string; userId: string | null; userName: string | null }>(
    `SELECT c.id, c.organization_id AS "organizationId", c.connection_id AS "connectionId", c.user_name_key AS key, u.id AS "userId", u.user_name AS "userName"
     FROM user_name_collision c
     LEFT JOIN directory_user u ON u.id = ANY(c.user_ids) AND u.connection_id = c.connection_id AND u.user_name_key IS NOT NULL
     ORDER BY c.detected_at, c.id, u.id`,
  );
  const byId = new Map<string, UserNameCollision>();
  for (const row of rows) {
    const collision = byId.get(row.id) ?? { organizationId: row.organizationId, connectionId: row.connectionId, userIds: [] };
    byId.set(row.id, collision);
    // Renamed since (to a name that is not this one) or gone: no longer part of it.
    if (row.userId && nameKey(row.userName) === row.key) collision.userIds.push(row.userId);
  }
  return [...byId.values()].filter((c) => c.userIds.length > 1);
}

/** One warning per collision that still holds, naming its organization, connection and users (not their names). */
export async function reportUserNameCollisions(sql: SqlExecutor, logger: Logger): Promise<UserNameCollision[]> {
  const open = await openUserNameCollisions(sql);
  for (const collision of open) {
    logger.warn(
      collision,
      `userName collision: ${collision.userIds.length} users of connection ${collision.connectionId} have userNames that are one name ` +
        '(they differ only in case, Unicode form, surrounding spaces or invisible characters) from before such names were refused. ' +
        'They keep working, but `userName eq` finds one of them: remove or rename the duplicates at the source (docs/operations.md#username-collisions)',
    );
  }
  return open;
}
