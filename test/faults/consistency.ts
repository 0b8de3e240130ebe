// What must hold in the database after a fault, read with SQL: every acknowledged SCIM write is
// there, nothing is half-applied, and every committed change has its audit row and lifecycle event.
import type { SqlExecutor } from '../../src/storage/sql.ts';
import { verifyAuditChain } from '../../src/engine/audit-log.ts';
import type { ScimLoad } from './scim-load.ts';

export interface ConsistencyReport {
  users: number;
  groups: number;
  memberships: number;
  events: number;
  auditRows: number;
  eventIds: string[];
  /** Acknowledged writes not found. */
  lost: string[];
  /** Groups POSTed with members (answer lost) found with only part of their members. */
  halfApplied: string[];
  /** Committed changes without their lifecycle event or audit row. */
  unrecorded: string[];
  auditChain: { ok: boolean; reason: string | null; checked: number };
}

export async function checkConsistency(sql: SqlExecutor, organizationId: string, connectionId: string, load: ScimLoad): Promise<ConsistencyReport> {
  const users = await sql.query<{ id: string; sourceId: string; userName: string }>('SELECT id, source_id AS "sourceId", user_name AS "userName" FROM directory_user WHERE connection_id = $1', [connectionId]);
  const groups = await sql.query<{ id: string; sourceId: string; displayName: string }>('SELECT id, source_id AS "sourceId", display_name AS "displayName" FROM directory_group WHERE connection_id = $1 AND deleted_at IS NULL', [connectionId]);
  const memberships = await sql.query<{ groupId: string; userId: string }>(
    'SELECT m.group_id AS "groupId", m.user_id AS "userId" FROM group_membership m JOIN directory_group g ON g.id = m.group_id WHERE g.connection_id = $1 AND m.removed_at IS NULL AND m.suspended_at IS NULL',
    [connectionId],
  );
  const events = await sql.query<{ id: string; type: string; userId: string | null; groupId: string | null; auditEventId: string | null }>(
    'SELECT id::text AS id, type, user_id AS "userId", group_id AS "groupId", audit_event_id AS "auditEventId" FROM lifecycle_event WHERE organization_id = $1 ORDER BY lifecycle_event.id',
    [organizationId],
  );
  const audits = await sql.query<{ id: string; action: string; targetId: string | null }>('SELECT id, action, target_id AS "targetId" FROM audit_event WHERE organization_id = $1', [organizationId]);

  const userBySource = new Map(users.map((u) => [u.sourceId, u]));
  const groupBySource = new Map(groups.map((g) => [g.sourceId, g]));
  const groupByName = new Map(groups.map((g) => [g.displayName, g]));
  const memberKey = (groupId: string, userId: string) => `${groupId}/${userId}`;
  const members = new Set(memberships.map((m) => memberKey(m.groupId, m.userId)));
  const rowIdOf = (scimId: string) => userBySource.get(scimId)?.id ?? `missing:${scimId}`;

  const lost: string[] = [];
  for (const [userName, id] of load.users) if (userBySource.get(id)?.userName !== userName) lost.push(`user ${userName} (${id})`);
  for (const group of load.groups.values()) {
    const row = groupBySource.get(group.id);
    if (!row) {
      lost.push(`group ${group.displayName} (${group.id})`);
      continue;
    }
    for (const m of group.members) if (!members.has(memberKey(row.id, rowIdOf(m)))) lost.push(`member ${m} of group ${group.displayName}`);
  }

  const halfApplied: string[] = [];
  for (const unknown of load.unknownGroups) {
    const row = groupByName.get(unknown.displayName);
    if (!row) continue;
    const present = unknown.members.filter((m) => members.has(memberKey(row.id, rowIdOf(m))));
    if (present.length !== unknown.members.length) halfApplied.push(`group ${unknown.displayName}: ${present.length} of ${unknown.members.length} members`);
  }

  const unrecorded: string[] = [];
  const auditIds = new Set(audits.map((a) => a.id));
  const audited = new Set(audits.map((a) => `${a.action}/${a.targetId}`));
  const evented = new Set(events.map((e) => `${e.type}/${e.userId ?? ''}/${e.groupId ?? ''}`));
  for (const u of users) {
    if (!evented.has(`user.provisioned/${u.id}/`)) unrecorded.push(`user ${u.userName}: no user.provisioned event`);
    if (!audited.has(`user.provisioned/${u.id}`)) unrecorded.push(`user ${u.userName}: no audit row`);
  }
  for (const g of groups) {
    if (!evented.has(`group.created//${g.id}`)) unrecorded.push(`group ${g.displayName}: no group.created event`);
    if (!audited.has(`group.created/${g.id}`)) unrecorded.push(`group ${g.displayName}: no audit row`);
  }
  for (const m of memberships) if (!evented.has(`membership.added/${m.userId}/${m.groupId}`)) unrecorded.push(`membership ${m.groupId}/${m.userId}: no membership.added event`);
  for (const e of events) if (e.auditEventId && !auditIds.has(e.auditEventId)) unrecorded.push(`event ${e.id}: its audit row ${e.auditEventId} is missing`);

  const chain = await verifyAuditChain(sql, organizationId);
  return {
    users: users.length,
    groups: groups.length,
    memberships: memberships.length,
    events: events.length,
    auditRows: audits.length,
    eventIds: events.map((e) => e.id),
    lost,
    halfApplied,
    unrecorded,
    auditChain: { ok: chain.ok, reason: chain.reason, checked: chain.checked },
  };
}
