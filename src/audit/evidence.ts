// deprovisionEvidence: what an auditor asks for when told "prove this user lost access on this
// date". Built from the lifecycle event of each deprovision (what the source signalled and when,
// when the hub received and enforced it) and the audit rows that recorded it and every revocation
// that followed, with their chain hashes, the verification of the whole chain, and a signed anchor
// covering those rows (src/audit/anchor.ts) so the document can be checked offline.
import type { SqlClient } from '../storage/sql.ts';
import { auditRowColumns } from '../engine/audit-log.ts';
import { anchorChain, type AnchorData, type AuditSigner } from './anchor.ts';
import { verifyAuditChainWithAnchors, type AuditChainReport } from './verify.ts';

export interface EvidenceAuditRow {
  id: string;
  seq: number;
  at: string;
  action: string;
  actorType: string;
  actorId: string | null;
  deliveryId: string | null;
  targetType: string | null;
  targetId: string | null;
  data: Record<string, unknown>;
  warnings: string[];
  prevHash: string;
  hash: string;
}

export interface RevokedAccessEvidence {
  id: string;
  kind: string | null;
  name: string | null;
  externalRef: string;
  /** The connection owning it upstream (null: the SaaS's own, revoked in the hub's commit). */
  connectionId: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
  revocationStatus: string | null;
  revocationAttempts: number;
  revocationError: string | null;
  revocationConfirmedAt: string | null;
  /** Audit rows of each revocation attempt at the source. */
  attempts: EvidenceAuditRow[];
}

export interface DeprovisionRecord {
  eventId: string;
  /** When the source signalled the change. */
  occurredAt: string;
  /** When the hub received the delivery. */
  receivedAt: string;
  /** When the change was committed: from then on access was denied. */
  enforcedAt: string;
  reason: string | null;
  warnings: string[];
  connection: { id: string; provider: string; name: string } | null;
  deliveryId: string | null;
  actor: { type: string; id: string | null };
  auditEvent: EvidenceAuditRow | null;
  sessions: RevokedAccessEvidence[];
  credentials: RevokedAccessEvidence[];
  memberships: Array<{ groupId: string; displayName: string | null }>;
  roles: Array<{ workspace: string | null; role: string }>;
}

export interface DeprovisionEvidence {
  format: 'lifecycle-hub/deprovision-evidence/v1';
  generatedAt: string;
  organizationId: string;
  user: {
    id: string;
    externalId: string | null;
    userName: string | null;
    email: string | null;
    displayName: string | null;
    state: string;
    deprovisionedAt: string | null;
    deprovisionReason: string | null;
    connection: { id: string; provider: string; name: string };
  };
  deprovisions: DeprovisionRecord[];
  /** Every audit row about the user, its sessions and credentials, oldest first. */
  auditTrail: EvidenceAuditRow[];
  chain: AuditChainReport;
  /** A signed anchor of the chain head, covering every row above. */
  anchor: (AnchorData & { seq: number; auditEventId: string; publicKeyPem: string }) | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export async function buildDeprovisionEvidence(sql: SqlClient, signer: AuditSigner, userId: string): Promise<DeprovisionEvidence | null> {
  const [user] = await sql.query<{
    id: string; organizationId: string; externalId: string | null; userName: string | null; email: string | null; displayName: string | null;
    state: string; deprovisionedAt: Date | null; deprovisionReason: string | null; connection: { id: string; provider: string; name: string };
  }>(
    `SELECT u.id, u.organization_id AS "organizationId", u.external_id AS "externalId", u.user_name AS "userName", u.email, u.display_name AS "displayName",
       u.state, u.deprovisioned_at AS "deprovisionedAt", u.deprovision_reason AS "deprovisionReason",
       json_build_object('id', c.id, 'provider', c.provider, 'name', c.name) AS connection
     FROM directory_user u JOIN directory_connection c ON c.id = u.connection_id WHERE u.id = $1`,
    [userId],
  );
  if (!user) return null;
  const organizationId = user.organizationId;

  const auditRows = (
    await sql.query<EvidenceAuditRow & { seq: string | number; at: Date }>(
      `SELECT ${auditRowColumns} FROM audit_event
       WHERE organization_id = $1 AND (target_id = $2 OR data->>'userId' = $2) ORDER BY seq`,
      [organizationId, userId],
    )
  ).map((r) => ({ ...r, seq: Number(r.seq), at: iso(r.at)! }));
  const auditById = new Map(auditRows.map((r) => [r.id, r]));

  const events = await sql.query<{
    id: string; occurredAt: Date; receivedAt: Date; enforcedAt: Date; deliveryId: string | null; auditEventId: string | null; data: Record<string, unknown>;
    connection: { id: string; provider: string; name: string } | null;
  }>(
    `SELECT e.id::text AS id, e.occurred_at AS "occurredAt", e.received_at AS "receivedAt", e.enforced_at AS "enforcedAt", e.delivery_id AS "deliveryId",
       e.audit_event_id AS "auditEventId", e.data,
       CASE WHEN c.id IS NULL THEN NULL ELSE json_build_object('id', c.id, 'provider', c.provider, 'name', c.name) END AS connection
     FROM lifecycle_event e LEFT JOIN directory_connection c ON c.id = e.connection_id
     WHERE e.organization_id = $1 AND e.user_id = $2 AND e.type = 'user.deprovisioned' ORDER BY e.id`,
    [organizationId, userId],
  );

  const access = async (table: 'session' | 'credential', ids: string[]): Promise<RevokedAccessEvidence[]> => {
    if (!ids.length) return [];
    const rows = await sql.query<Omit<RevokedAccessEvidence, 'attempts'> & { revokedAt: Date | null; revocationConfirmedAt: Date | null }>(
      `SELECT id, ${table === 'credential' ? 'kind, name' : 'NULL::text AS kind, NULL::text AS name'}, external_ref AS "externalRef", connection_id AS "connectionId",
         revoked_at AS "revokedAt", revoked_reason AS "revokedReason", revocation_status::text AS "revocationStatus", revocation_attempts AS "revocationAttempts",
         revocation_error AS "revocationError", revocation_confirmed_at AS "revocationConfirmedAt"
       FROM ${table} WHERE id = ANY($1::uuid[]) AND organization_id = $2 ORDER BY id`,
      [ids, organizationId],
    );
    return rows.map((r) => ({
      ...r,
      revokedAt: iso(r.revokedAt),
      revocationConfirmedAt: iso(r.revocationConfirmedAt),
      attempts: auditRows.filter((a) => a.targetId === r.id && a.action.startsWith(`${table}.revocation_`)),
    }));
  };

  const deprovisions: DeprovisionRecord[] = [];
  for (const e of events) {
    const data = typeof e.data === 'string' ? (JSON.parse(e.data) as Record<string, unknown>) : e.data;
    const auditEvent = e.auditEventId ? (auditById.get(e.auditEventId) ?? null) : null;
    const strings = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);
    deprovisions.push({
      eventId: e.id,
      occurredAt: iso(e.occurredAt)!,
      receivedAt: iso(e.receivedAt)!,
      enforcedAt: iso(e.enforcedAt)!,
      reason: typeof data.reason === 'string' ? data.reason : null,
      warnings: strings(data.warnings),
      connection: typeof e.connection === 'string' ? JSON.parse(e.connection) : e.connection,
      deliveryId: e.deliveryId,
      actor: { type: auditEvent?.actorType ?? 'unknown', id: auditEvent?.actorId ?? null },
      auditEvent,
      sessions: await access('session', strings(data.revokedSessions)),
      credentials: await access('credential', strings(data.revokedCredentials)),
      memberships: Array.isArray(data.endedMemberships) ? (data.endedMemberships as DeprovisionRecord['memberships']) : [],
      roles: Object.entries((data.previousRoles ?? {}) as Record<string, string>).map(([workspace, role]) => ({ workspace: workspace || null, role })),
    });
  }

  // Anchor first, so the chain verified below includes a signature over every row reported.
  const anchored = await anchorChain(sql, signer, organizationId);
  const chain = await verifyAuditChainWithAnchors(sql, signer, organizationId);
  const connection = typeof user.connection === 'string' ? JSON.parse(user.connection) : user.connection;
  return {
    format: 'lifecycle-hub/deprovision-evidence/v1',
    generatedAt: new Date().toISOString(),
    organizationId,
    user: {
      id: user.id, externalId: user.externalId, userName: user.userName, email: user.email, displayName: user.displayName, state: user.state,
      deprovisionedAt: iso(user.deprovisionedAt), deprovisionReason: user.deprovisionReason, connection,
    },
    deprovisions,
    auditTrail: auditRows,
    chain,
    anchor: anchored ? { anchoredSeq: anchored.anchoredSeq, anchoredHash: anchored.anchoredHash, signedAt: anchored.signedAt, algorithm: anchored.algorithm, keyId: anchored.keyId, signature: anchored.signature, seq: anchored.seq, auditEventId: anchored.id, publicKeyPem: signer.publicKeyPem } : null,
  };
}
