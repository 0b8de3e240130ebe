import { v7 as uuidv7 } from 'uuid';
import { siemAuditOutboxInsert, webhookOutboxInsert } from '../webhooks/outbox-sql.ts';
import { prepared, type SqlExecutor } from '../storage/sql.ts';
import { auditHash, ChainVerifier, type AuditContent, type ChainVerification } from './audit-chain.ts';
import type { Actor } from './types.ts';

export interface AuditDraft {
  action: string;
  actor: Actor;
  deliveryId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  data?: Record<string, unknown>;
  warnings?: string[];
  testMode?: boolean;
  at?: Date;
}

export interface AppendedAudit extends AuditContent {
  prevHash: string;
  hash: string;
}

export function actorColumns(actor: Actor): { actorType: string; actorId: string | null } {
  switch (actor.type) {
    case 'connection':
      return { actorType: 'connection', actorId: actor.connectionId };
    case 'api_key':
      return { actorType: 'api_key', actorId: actor.apiKeyId };
    case 'admin':
      return { actorType: 'admin', actorId: actor.apiKeyId };
    case 'system':
      return { actorType: 'system', actorId: actor.name };
    case 'setup_session':
      return { actorType: 'setup_session', actorId: actor.sessionId };
  }
}

/** JSON-safe copy: Dates become ISO strings, undefined members vanish, as they will in JSONB. */
export function jsonSafe<T>(value: T): T {
  return JSON.parse(JSON.stringify(value ?? {})) as T;
}

/**
 * Locks the organization's chain head, links the drafts after it and returns the rows to insert.
 * The lock is held until the transaction ends, so links (and lifecycle event ids, appended under
 * the same lock) follow commit order within an organization. Take it last, just before commit.
 */
export async function linkAuditDrafts(
  tx: SqlExecutor,
  organizationId: string,
  drafts: readonly AuditDraft[],
  now: Date,
  lockedHead?: { seq: number; hash: string },
): Promise<{ rows: AppendedAudit[]; head: { seq: number; hash: string } }> {
  const [head] = lockedHead ? [lockedHead] : await tx.query<{ seq: string | number; hash: string }>(lockChainHeadSql, [organizationId]);
  if (!head) throw new Error(`organization ${organizationId} has no audit chain head`);
  let seq = Number(head.seq);
  let prevHash = head.hash;
  const rows = drafts.map((draft) => {
    seq += 1;
    const content: AuditContent = {
      id: uuidv7(),
      organizationId,
      seq,
      at: draft.at ?? now,
      ...actorColumns(draft.actor),
      deliveryId: draft.deliveryId ?? null,
      action: draft.action,
      targetType: draft.targetType ?? null,
      targetId: draft.targetId ?? null,
      data: jsonSafe(draft.data ?? {}),
      warnings: draft.warnings ?? [],
      testMode: draft.testMode ?? false,
    };
    const hash = auditHash(prevHash, content);
    const row = { ...content, prevHash, hash };
    prevHash = hash;
    return row;
  });
  return { rows, head: { seq, hash: prevHash } };
}

const lockChainHeadSql = prepared('SELECT seq, hash FROM audit_chain_head WHERE organization_id = $1 FOR UPDATE');

const auditInsert = `
  INSERT INTO audit_event (id, organization_id, seq, at, actor_type, actor_id, delivery_id, action, target_type, target_id, data, warnings, test_mode, prev_hash, hash)
  SELECT id, "organizationId", seq, at, "actorType", "actorId", "deliveryId", action, "targetType", "targetId", data, warnings, "testMode", "prevHash", hash
  FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, "organizationId" uuid, seq bigint, at timestamptz, "actorType" text, "actorId" text, "deliveryId" text,
    action text, "targetType" text, "targetId" text, data jsonb, warnings text[], "testMode" boolean, "prevHash" text, hash text)
  RETURNING id, organization_id, action`;

/**
 * Inserts linked audit rows ($1) and moves the chain head ($2 org, $3 seq, $4 hash) in one statement;
 * the rows are queued, in the same statement, for the organization's SIEM streams that take audit rows.
 */
export const appendAuditSql = prepared(`
  WITH appended AS (${auditInsert}),
       moved AS (UPDATE audit_chain_head SET seq = $3, hash = $4 WHERE organization_id = $2),
       audit_queued AS (${siemAuditOutboxInsert('appended')})
  SELECT 1`);

/**
 * The same, plus lifecycle events ($5) inserted under the same lock: returns the events. In the same
 * statement, each event is queued for every enabled webhook endpoint of the organization that asked
 * for its type (the outbox, src/webhooks/README.md): committed with the event or not at all, at no
 * extra round trip.
 */
export const appendAuditAndEventsSql = prepared(`
  WITH appended AS (${auditInsert}),
       moved AS (UPDATE audit_chain_head SET seq = $3, hash = $4 WHERE organization_id = $2),
       inserted AS (
         INSERT INTO lifecycle_event (organization_id, type, user_id, group_id, connection_id, delivery_id, audit_event_id, occurred_at, received_at, enforced_at, data)
         SELECT $2, type, "userId", "groupId", "connectionId", "deliveryId", "auditEventId", "occurredAt", "receivedAt", clock_timestamp(), data
         FROM jsonb_to_recordset($5::jsonb) AS r(ord int, type text, "userId" uuid, "groupId" uuid, "connectionId" uuid,
           "deliveryId" text, "auditEventId" uuid, "occurredAt" timestamptz, "receivedAt" timestamptz, data jsonb)
         ORDER BY ord
         RETURNING id, organization_id, type, user_id, group_id, connection_id, delivery_id, audit_event_id, occurred_at, received_at, enforced_at, data),
       queued AS (${webhookOutboxInsert('inserted')}),
       audit_queued AS (${siemAuditOutboxInsert('appended')})
  SELECT id::text AS id, organization_id AS "organizationId", type, user_id AS "userId", group_id AS "groupId", connection_id AS "connectionId",
    delivery_id AS "deliveryId", audit_event_id AS "auditEventId", occurred_at AS "occurredAt", received_at AS "receivedAt",
    enforced_at AS "enforcedAt", data
  FROM inserted`);

/** Appends audit rows outside the engine (administrative actions), in the caller's transaction. */
export async function appendAudit(tx: SqlExecutor, organizationId: string, drafts: readonly AuditDraft[]): Promise<AppendedAudit[]> {
  if (drafts.length === 0) return [];
  const { rows, head } = await linkAuditDrafts(tx, organizationId, drafts, new Date());
  await tx.query(appendAuditSql, [JSON.stringify(rows), organizationId, head.seq, head.hash]);
  return rows;
}

export const auditRowColumns = `id, organization_id AS "organizationId", seq::int8 AS seq, at, actor_type AS "actorType", actor_id AS "actorId",
  delivery_id AS "deliveryId", action, target_type AS "targetType", target_id AS "targetId", data, warnings, test_mode AS "testMode",
  prev_hash AS "prevHash", hash`;

/** Recomputes an organization's whole chain, a page at a time. */
export async function verifyAuditChain(sql: SqlExecutor, organizationId: string, pageSize = 5000): Promise<ChainVerification> {
  const verifier = new ChainVerifier();
  let afterSeq = 0;
  for (;;) {
    const rows = await sql.query<AppendedAudit & { seq: string | number }>(
      `SELECT ${auditRowColumns} FROM audit_event WHERE organization_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [organizationId, afterSeq, pageSize],
    );
    for (const row of rows) {
      if (!verifier.add({ ...row, seq: Number(row.seq) })) return verifier.finish(null);
    }
    if (rows.length < pageSize) break;
    afterSeq = Number(rows[rows.length - 1]!.seq);
  }
  const [head] = await sql.query<{ seq: string | number; hash: string }>('SELECT seq, hash FROM audit_chain_head WHERE organization_id = $1', [organizationId]);
  return verifier.finish(head ? { seq: Number(head.seq), hash: head.hash } : null);
}
