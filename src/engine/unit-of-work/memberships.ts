// The group_membership table (and the member counts it moves): columns, locking loads, flush.
import { prepared, type SqlExecutor } from '../../storage/sql.ts';
import { jsonSafe } from '../audit-log.ts';
import type { MembershipRecord } from '../types.ts';
import type { Tracked } from './types.ts';

export const membershipColumns = `group_id AS "groupId", user_id AS "userId", organization_id AS "organizationId",
  suspended_at AS "suspendedAt", removed_at AS "removedAt", source_updated_at AS "sourceUpdatedAt", created_at AS "createdAt"`;

// Locked in key order; a membership change also holds its user's row (users.ts), so readers see the latest.
export const membershipsOfUsersSql = prepared(`SELECT ${membershipColumns} FROM group_membership WHERE user_id = ANY($1::uuid[]) ORDER BY group_id, user_id FOR UPDATE`);
export const membershipsOfGroupSql = prepared(`SELECT ${membershipColumns} FROM group_membership WHERE group_id = $1 ORDER BY user_id FOR UPDATE`);
export const membershipPairsSql = prepared(`SELECT ${membershipColumns} FROM group_membership WHERE group_id = $1 AND user_id = ANY($2::uuid[]) ORDER BY user_id FOR UPDATE`);

const upsertMembershipsSql = prepared(`
  INSERT INTO group_membership (group_id, user_id, organization_id, suspended_at, removed_at, source_updated_at, created_at)
  SELECT "groupId", "userId", "organizationId", "suspendedAt", "removedAt", "sourceUpdatedAt", "createdAt"
  FROM jsonb_to_recordset($1::jsonb) AS r("groupId" uuid, "userId" uuid, "organizationId" uuid, "suspendedAt" timestamptz,
    "removedAt" timestamptz, "sourceUpdatedAt" timestamptz, "createdAt" timestamptz)
  ON CONFLICT (group_id, user_id) DO UPDATE SET suspended_at = EXCLUDED.suspended_at, removed_at = EXCLUDED.removed_at,
    source_updated_at = EXCLUDED.source_updated_at`);

// Member counts move by deltas: increments commute, so concurrent writers on one group stay exact.
const adjustMemberCountsSql = prepared(`
  UPDATE directory_group g SET member_count = g.member_count + d.delta
  FROM jsonb_to_recordset($1::jsonb) AS d(id uuid, delta int) WHERE g.id = d.id`);

/** Writes the changed membership rows, then moves each group's member count by what changed. */
export async function flushMemberships(tx: SqlExecutor, changed: Tracked<MembershipRecord>[]) {
  if (!changed.length) return;
  await tx.query(upsertMembershipsSql, [JSON.stringify(changed.map((t) => jsonSafe(t.current)))]);
  const deltas = new Map<string, number>();
  const active = (m: MembershipRecord | null) => (m && !m.suspendedAt && !m.removedAt ? 1 : 0);
  for (const t of changed) {
    const d = active(t.current) - active(t.original);
    if (d) deltas.set(t.current.groupId, (deltas.get(t.current.groupId) ?? 0) + d);
  }
  if (deltas.size) await tx.query(adjustMemberCountsSql, [JSON.stringify([...deltas].map(([id, delta]) => ({ id, delta })))]);
}
