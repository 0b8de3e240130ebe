// Shared pieces of the out-of-order convergence properties (one per vendor): the observable state of
// a connection, and a delivery loop that retries refused (409) deliveries at the end, as a sender's
// retries would.
import type { TestHub } from '../server.ts';

export interface Observed {
  /** sourceId → "ACTIVE" | "DEPROVISIONED" | "GONE" (deleted at the source), with the display name while not gone. */
  users: Record<string, string>;
  /** sourceId → display name, for groups not deleted. */
  groups: Record<string, string>;
  /** "groupSourceId|userSourceId" of active memberships (not removed, not suspended). */
  memberships: string[];
}

/** What a connection's users, groups and memberships look like from outside, ignoring bookkeeping. */
export async function observe(t: TestHub, connectionId: string): Promise<Observed> {
  const users = await t.hub.db.sql.query<{ sourceId: string; state: string; gone: boolean; displayName: string | null }>(
    `SELECT source_id AS "sourceId", state, (source_deleted_at IS NOT NULL OR state = 'DELETED') AS gone, display_name AS "displayName"
     FROM directory_user WHERE connection_id = $1`,
    [connectionId],
  );
  const groups = await t.hub.db.sql.query<{ sourceId: string; displayName: string }>(
    'SELECT source_id AS "sourceId", display_name AS "displayName" FROM directory_group WHERE connection_id = $1 AND deleted_at IS NULL',
    [connectionId],
  );
  const memberships = await t.hub.db.sql.query<{ key: string }>(
    `SELECT g.source_id || '|' || u.source_id AS key FROM group_membership m
       JOIN directory_group g ON g.id = m.group_id JOIN directory_user u ON u.id = m.user_id
     WHERE g.connection_id = $1 AND g.deleted_at IS NULL AND m.removed_at IS NULL AND m.suspended_at IS NULL`,
    [connectionId],
  );
  return {
    users: Object.fromEntries(users.map((u) => [u.sourceId, u.gone ? 'GONE' : `${u.state} ${u.displayName ?? ''}`.trim()])),
    groups: Object.fromEntries(groups.map((g) => [g.sourceId, g.displayName])),
    memberships: memberships.map((m) => m.key).sort(),
  };
}

export interface DeliveryReport {
  statuses: number[];
  /** Deliveries still refused after the retries (a sender would keep retrying them). */
  stillRefused: number;
}

/**
 * Sends each delivery once in the given order; those answered 409 (something they name is not there
 * yet) are sent again after the rest, as many rounds as make progress.
 */
export async function deliverWithRetries(send: (index: number) => Promise<number>, order: number[]): Promise<DeliveryReport> {
  const statuses: number[] = [];
  let pending = order;
  for (let round = 0; pending.length; round++) {
    const refused: number[] = [];
    for (const index of pending) {
      const status = await send(index);
      statuses.push(status);
      if (status === 409) refused.push(index);
      else if (status !== 200) throw new Error(`delivery ${index} answered ${status}`);
    }
    if (refused.length === pending.length || round > 5) return { statuses, stillRefused: refused.length };
    pending = refused;
  }
  return { statuses, stillRefused: 0 };
}
