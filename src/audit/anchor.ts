// Anchoring the audit chain outside the database.
//
// The hash chain shows a row altered or deleted in SQL, unless whoever did it recomputed every later
// hash: the algorithm is public and the database holds everything it needs. An anchor closes that:
// the chain head (seq, hash) of an organization, signed with Ed25519 by a key derived from
// ENCRYPTION_KEY, which is never in the database. Anchors are appended to the chain itself as
// `audit.anchored` rows (periodically when the chain has moved, and whenever evidence is produced),
// so rewriting any row before an anchor breaks a signature nobody with SQL access alone can redo.
// The periodic anchoring is a job: src/jobs/audit-anchoring.ts.
// The public key (auditSigningKey in GraphQL) lets an auditor check exported evidence offline.
//
// What this does not cover: rows after the newest anchor, and a rewrite that also deletes every
// later anchor — verifyAuditChain reports how far the chain is anchored, and evidence an auditor
// already holds carries its own signed anchor, which a later rewrite cannot match.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { SqlClient, SqlExecutor } from '../storage/sql.ts';
import { appendAudit } from '../engine/audit-log.ts';
import type { SecretBox } from '../secrets/index.ts';

export const ANCHOR_ACTION = 'audit.anchored';

export interface AnchorData {
  anchoredSeq: number;
  anchoredHash: string;
  signedAt: string;
  algorithm: 'Ed25519';
  keyId: string;
  /** base64 */
  signature: string;
}

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export class AuditSigner {
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly keyId: string;

  constructor(box: SecretBox) {
    const seed = box.deriveKey('audit-anchor-ed25519-v1');
    this.privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    this.publicKey = createPublicKey(this.privateKey);
    this.publicKeyPem = this.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const raw = this.publicKey.export({ format: 'der', type: 'spki' });
    this.keyId = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  }

  static message(organizationId: string, seq: number, hash: string, signedAt: string): Buffer {
    return Buffer.from(`lifecycle-hub audit anchor v1\n${organizationId}\n${seq}\n${hash}\n${signedAt}`);
  }

  sign(organizationId: string, seq: number, hash: string, signedAt: Date): AnchorData {
    const at = signedAt.toISOString();
    const signature = sign(null, AuditSigner.message(organizationId, seq, hash, at), this.privateKey).toString('base64');
    return { anchoredSeq: seq, anchoredHash: hash, signedAt: at, algorithm: 'Ed25519', keyId: this.keyId, signature };
  }

  verify(organizationId: string, anchor: AnchorData): boolean {
    try {
      return verify(null, AuditSigner.message(organizationId, anchor.anchoredSeq, anchor.anchoredHash, anchor.signedAt), this.publicKey, Buffer.from(anchor.signature, 'base64'));
    } catch {
      return false;
    }
  }
}

/**
 * Appends an anchor of the organization's current chain head, unless the head already is one.
 * Returns the anchor covering the head.
 */
export async function anchorChain(sql: SqlClient, signer: AuditSigner, organizationId: string): Promise<(AnchorData & { seq: number; id: string }) | null> {
  return sql.transaction(async (tx) => {
    const [head] = await tx.query<{ seq: string | number; hash: string }>('SELECT seq, hash FROM audit_chain_head WHERE organization_id = $1 FOR UPDATE', [organizationId]);
    if (!head || Number(head.seq) === 0) return null;
    const seq = Number(head.seq);
    const latest = await latestAnchorRow(tx, organizationId, seq);
    if (latest) return latest;
    const data = signer.sign(organizationId, seq, head.hash, new Date());
    const [row] = await appendAudit(tx, organizationId, [{ action: ANCHOR_ACTION, actor: { type: 'system', name: 'audit-anchor' }, targetType: 'organization', targetId: organizationId, data: { ...data } }]);
    return { ...data, seq: row!.seq, id: row!.id };
  });
}

async function latestAnchorRow(tx: SqlExecutor, organizationId: string, seq: number) {
  const [row] = await tx.query<{ id: string; seq: string | number; data: AnchorData }>(
    `SELECT id, seq, data FROM audit_event WHERE organization_id = $1 AND seq = $2 AND action = '${ANCHOR_ACTION}'`,
    [organizationId, seq],
  );
  return row ? { ...row.data, seq: Number(row.seq), id: row.id } : null;
}
