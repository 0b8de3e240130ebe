// The audit log is a hash chain per organization: each row's hash covers the previous row's hash
// and the row's own canonical content, so altering, inserting or deleting a row in SQL breaks every
// later link. Verification recomputes the chain from the rows alone.
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '';

export interface AuditContent {
  id: string;
  organizationId: string;
  seq: number;
  at: Date;
  actorType: string;
  actorId: string | null;
  deliveryId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  data: unknown;
  warnings: string[];
  testMode: boolean;
}

/**
 * JSON with object keys sorted at every depth and undefined members dropped: the same value always
 * yields the same text, whether it comes from the engine or back from a JSONB column.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

export function auditHash(prevHash: string, row: AuditContent): string {
  const content = canonicalJson({
    id: row.id,
    organizationId: row.organizationId,
    seq: row.seq,
    at: row.at,
    actorType: row.actorType,
    actorId: row.actorId,
    deliveryId: row.deliveryId,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    data: row.data,
    warnings: row.warnings,
    testMode: row.testMode,
  });
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  /** The first row whose link does not hold (altered, or following a deleted row). */
  firstBrokenId: string | null;
  reason: string | null;
}

/** Checks rows given in seq order, in pages; call `finish` with the chain head afterwards. */
export class ChainVerifier {
  private prevHash = GENESIS_HASH;
  private expectedSeq = 1;
  checked = 0;
  broken: { id: string | null; reason: string } | null = null;

  add(row: AuditContent & { prevHash: string; hash: string }): boolean {
    if (this.broken) return false;
    this.checked++;
    const fail = (reason: string) => {
      this.broken = { id: row.id, reason };
      return false;
    };
    if (row.seq !== this.expectedSeq) return fail(`row ${row.seq} follows row ${this.expectedSeq - 1}: rows are missing before it`);
    if (row.prevHash !== this.prevHash) return fail(`row ${row.seq} does not link to the row before it`);
    if (auditHash(row.prevHash, row) !== row.hash) return fail(`row ${row.seq} was altered after it was written`);
    this.prevHash = row.hash;
    this.expectedSeq++;
    return true;
  }

  finish(head: { seq: number; hash: string } | null): ChainVerification {
    if (!this.broken && head && (head.seq !== this.expectedSeq - 1 || head.hash !== this.prevHash)) {
      this.broken = { id: null, reason: `the chain head is at row ${head.seq} but the last intact row is ${this.expectedSeq - 1}: rows were removed from the end` };
    }
    return { ok: !this.broken, checked: this.checked, firstBrokenId: this.broken?.id ?? null, reason: this.broken?.reason ?? null };
  }
}
