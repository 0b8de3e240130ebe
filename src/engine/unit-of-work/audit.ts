// The audit chain and lifecycle events: appended last, in one statement, under the chain head's lock
// (audit-log.ts), so the lock is held only for this insert and the commit.
import type { SqlExecutor } from '../../storage/sql.ts';
import { appendAuditAndEventsSql, appendAuditSql, jsonSafe, type linkAuditDrafts } from '../audit-log.ts';
import type { LifecycleEventRecord } from '../types.ts';
import type { EventDraft } from './types.ts';

type Linked = Awaited<ReturnType<typeof linkAuditDrafts>>;

/** Appends the linked audit rows and, with them, the events (ids in commit order); returns the events. */
export async function appendAuditAndEvents(tx: SqlExecutor, organizationId: string, { rows, head }: Linked, drafts: readonly EventDraft[]): Promise<LifecycleEventRecord[]> {
  const chain = [JSON.stringify(rows), organizationId, head.seq, head.hash];
  if (!drafts.length) {
    await tx.query(appendAuditSql, chain);
    return [];
  }
  const events = await tx.query<LifecycleEventRecord>(appendAuditAndEventsSql, [
    ...chain,
    JSON.stringify(
      drafts.map((e, ord) => ({
        ord,
        type: e.type,
        userId: e.userId ?? null,
        groupId: e.groupId ?? null,
        connectionId: e.connectionId ?? null,
        deliveryId: e.deliveryId ?? null,
        auditEventId: e.auditIndex !== undefined ? rows[e.auditIndex]!.id : null,
        occurredAt: e.occurredAt,
        receivedAt: e.receivedAt,
        data: jsonSafe(e.data ?? {}),
      })),
    ),
  ]);
  events.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  return events;
}
