// The group_mapping table: the load of a group's mappings, and the flush of set/remove writes in order.
import { prepared, type SqlExecutor } from '../../storage/sql.ts';

export const mappingsSql = prepared('SELECT group_id AS "groupId", workspace, role FROM group_mapping WHERE group_id = ANY($1::uuid[])');

export interface MappingWrite {
  op: 'set' | 'remove';
  groupId: string;
  workspace: string;
  role: string | null;
}

export async function flushMappings(tx: SqlExecutor, organizationId: string, writes: readonly MappingWrite[], now: Date) {
  for (const m of writes) {
    if (m.op === 'set') {
      await tx.query(
        `INSERT INTO group_mapping (id, organization_id, group_id, workspace, role, created_at, updated_at)
             VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $5)
             ON CONFLICT (group_id, workspace) DO UPDATE SET role = EXCLUDED.role, updated_at = EXCLUDED.updated_at`,
        [organizationId, m.groupId, m.workspace, m.role, now],
      );
    } else {
      await tx.query('DELETE FROM group_mapping WHERE group_id = $1 AND workspace = $2', [m.groupId, m.workspace]);
    }
  }
}
