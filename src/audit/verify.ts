// verifyAuditChain: recomputes an organization's hash chain (src/engine/audit-chain.ts) and checks
// every anchor in it: that it names the row before it, and that its signature holds.
import type { SqlExecutor } from '../storage/sql.ts';
import { ChainVerifier } from '../engine/audit-chain.ts';
import { auditRowColumns, type AppendedAudit } from '../engine/audit-log.ts';
import { ANCHOR_ACTION, type AnchorData, type AuditSigner } from './anchor.ts';

export interface AuditChainReport {
  ok: boolean;
  /** Rows recomputed. */
  checked: number;
  /** The first row whose link or anchor does not hold (altered, following a deleted row, or a broken anchor). */
  firstBrokenId: string | null;
  reason: string | null;
  headSeq: number;
  /** Anchors found and verified. */
  anchors: number;
  /** Rows up to this seq are covered by a verified anchor (0: none). */
  anchoredThroughSeq: number;
  lastAnchoredAt: string | null;
}

export async function verifyAuditChainWithAnchors(sql: SqlExecutor, signer: AuditSigner, organizationId: string, pageSize = 2000): Promise<AuditChainReport> {
  const chain = new ChainVerifier();
  let anchors = 0;
  let anchoredThroughSeq = 0;
  let lastAnchoredAt: string | null = null;
  let anchorBreak: { id: string; reason: string } | null = null;
  let afterSeq = 0;
  outer: for (;;) {
    const rows = await sql.query<AppendedAudit & { seq: string | number }>(
      `SELECT ${auditRowColumns} FROM audit_event WHERE organization_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [organizationId, afterSeq, pageSize],
    );
    for (const raw of rows) {
      const row = { ...raw, seq: Number(raw.seq) };
      if (!chain.add(row)) break outer;
      if (row.action === ANCHOR_ACTION) {
        const anchor = row.data as AnchorData;
        const names = anchor.anchoredSeq === row.seq - 1 && anchor.anchoredHash === row.prevHash;
        if (!names || !signer.verify(organizationId, anchor)) {
          anchorBreak = {
            id: row.id,
            reason: names
              ? `the anchor at row ${row.seq} is not signed by this hub's key: it was forged or altered`
              : `the anchor at row ${row.seq} signed a different chain (row ${anchor.anchoredSeq}, hash ${String(anchor.anchoredHash).slice(0, 12)}…): rows after row ${anchoredThroughSeq} were rewritten and their hashes recomputed`,
          };
          break outer;
        }
        anchors++;
        anchoredThroughSeq = anchor.anchoredSeq;
        lastAnchoredAt = anchor.signedAt;
      }
    }
    if (rows.length < pageSize) break;
    afterSeq = Number(rows[rows.length - 1]!.seq);
  }
  const [head] = await sql.query<{ seq: string | number; hash: string }>('SELECT seq, hash FROM audit_chain_head WHERE organization_id = $1', [organizationId]);
  // Stopped at a broken anchor: the rows after it were not read, so the head check means nothing.
  const result = chain.finish(head && !anchorBreak ? { seq: Number(head.seq), hash: head.hash } : null);
  const broken = anchorBreak ?? (result.ok ? null : { id: result.firstBrokenId, reason: result.reason });
  return {
    ok: !broken,
    checked: result.checked,
    firstBrokenId: broken?.id ?? null,
    reason: broken?.reason ?? null,
    headSeq: head ? Number(head.seq) : 0,
    anchors,
    anchoredThroughSeq,
    lastAnchoredAt,
  };
}
