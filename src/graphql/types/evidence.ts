// Audit evidence: verifyAuditChain, deprovisionEvidence, and the revocation schedule on sessions
// and credentials.
import { buildDeprovisionEvidence, type DeprovisionEvidence, type DeprovisionRecord, type EvidenceAuditRow, type RevokedAccessEvidence } from '../../audit/evidence.ts';
import { verifyAuditChainWithAnchors, type AuditChainReport } from '../../audit/verify.ts';
import { builder } from '../builder.ts';
import { assertOrganization, userOrganization } from '../access.ts';
import { notFound } from '../errors.ts';
import { Credential, Session } from './session.ts';

builder.prismaObjectField(Session, 'revocationNextAttemptAt', (t) =>
  t.expose('nextAttemptAt', { type: 'DateTime', nullable: true, description: 'While PENDING: when the owning connector is asked again.' }),
);
builder.prismaObjectField(Credential, 'revocationNextAttemptAt', (t) =>
  t.expose('nextAttemptAt', { type: 'DateTime', nullable: true, description: 'While PENDING: when the owning connector is asked again.' }),
);

type Report = AuditChainReport;
const AuditChainVerification = builder.objectRef<Report>('AuditChainVerification').implement({
  description: "The organization's audit chain recomputed row by row, with every signed anchor checked.",
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    checked: t.exposeInt('checked', { description: 'Rows recomputed.' }),
    firstBrokenId: t.exposeID('firstBrokenId', { nullable: true, description: 'The first row that does not hold: altered, following a deleted row, or an anchor that no longer matches.' }),
    reason: t.exposeString('reason', { nullable: true }),
    headSeq: t.exposeInt('headSeq'),
    anchors: t.exposeInt('anchors', { description: 'Signed anchors found and verified.' }),
    anchoredThroughSeq: t.exposeInt('anchoredThroughSeq', { description: 'Rows up to this seq are covered by a verified signature (a key outside the database).' }),
    lastAnchoredAt: t.string({ nullable: true, resolve: (r) => r.lastAnchoredAt }),
  }),
});

const AuditSigningKey = builder.objectRef<{ algorithm: string; keyId: string; publicKeyPem: string }>('AuditSigningKey').implement({
  description: 'The public key audit anchors are signed with: check exported evidence offline with it.',
  fields: (t) => ({ algorithm: t.exposeString('algorithm'), keyId: t.exposeString('keyId'), publicKeyPem: t.exposeString('publicKeyPem') }),
});

const EvidenceAuditRowRef = builder.objectRef<EvidenceAuditRow>('EvidenceAuditRow').implement({
  description: 'An audit row with its place in the hash chain.',
  fields: (t) => ({
    id: t.exposeID('id'),
    seq: t.exposeInt('seq'),
    at: t.exposeString('at'),
    action: t.exposeString('action'),
    actorType: t.exposeString('actorType'),
    actorId: t.exposeString('actorId', { nullable: true }),
    deliveryId: t.exposeString('deliveryId', { nullable: true }),
    targetType: t.exposeString('targetType', { nullable: true }),
    targetId: t.exposeString('targetId', { nullable: true }),
    data: t.field({ type: 'JSON', resolve: (r) => r.data }),
    warnings: t.exposeStringList('warnings'),
    prevHash: t.exposeString('prevHash'),
    hash: t.exposeString('hash'),
  }),
});

const EvidenceConnection = builder.objectRef<{ id: string; provider: string; name: string }>('EvidenceConnection').implement({
  fields: (t) => ({ id: t.exposeID('id'), provider: t.exposeString('provider'), name: t.exposeString('name') }),
});

const RevokedAccessEvidenceRef = builder.objectRef<RevokedAccessEvidence>('RevokedAccessEvidence').implement({
  description: 'A session or credential the deprovision revoked, and what its source confirmed.',
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.exposeString('kind', { nullable: true }),
    name: t.exposeString('name', { nullable: true }),
    externalRef: t.exposeString('externalRef'),
    connectionId: t.exposeID('connectionId', { nullable: true, description: 'The connection owning it upstream; null for your own (revoked in the hub’s commit).' }),
    revokedAt: t.exposeString('revokedAt', { nullable: true }),
    revokedReason: t.exposeString('revokedReason', { nullable: true }),
    revocationStatus: t.exposeString('revocationStatus', { nullable: true }),
    revocationAttempts: t.exposeInt('revocationAttempts'),
    revocationError: t.exposeString('revocationError', { nullable: true }),
    revocationConfirmedAt: t.exposeString('revocationConfirmedAt', { nullable: true }),
    attempts: t.field({ type: [EvidenceAuditRowRef], resolve: (r) => r.attempts }),
  }),
});

const EvidenceMembership = builder.objectRef<{ groupId: string; displayName: string | null }>('EvidenceMembership').implement({
  fields: (t) => ({ groupId: t.exposeID('groupId'), displayName: t.exposeString('displayName', { nullable: true }) }),
});
const EvidenceRole = builder.objectRef<{ workspace: string | null; role: string }>('EvidenceRole').implement({
  fields: (t) => ({ workspace: t.exposeString('workspace', { nullable: true, description: 'null for the organization itself.' }), role: t.exposeString('role') }),
});

const DeprovisionRecordRef = builder.objectRef<DeprovisionRecord>('DeprovisionRecord').implement({
  description: 'One deprovision of the user: the source’s signal, its receipt and enforcement, and everything removed.',
  fields: (t) => ({
    eventId: t.exposeID('eventId'),
    occurredAt: t.exposeString('occurredAt', { description: 'When the source signalled it.' }),
    receivedAt: t.exposeString('receivedAt', { description: 'When the hub received it.' }),
    enforcedAt: t.exposeString('enforcedAt', { description: 'When it was committed: access denied from then on.' }),
    reason: t.exposeString('reason', { nullable: true }),
    warnings: t.exposeStringList('warnings'),
    connection: t.field({ type: EvidenceConnection, nullable: true, description: 'The connection whose delivery caused it (null: done through the API).', resolve: (r) => r.connection }),
    deliveryId: t.exposeString('deliveryId', { nullable: true }),
    actorType: t.string({ resolve: (r) => r.actor.type }),
    actorId: t.string({ nullable: true, resolve: (r) => r.actor.id }),
    auditEvent: t.field({ type: EvidenceAuditRowRef, nullable: true, resolve: (r) => r.auditEvent }),
    sessions: t.field({ type: [RevokedAccessEvidenceRef], resolve: (r) => r.sessions }),
    credentials: t.field({ type: [RevokedAccessEvidenceRef], resolve: (r) => r.credentials }),
    memberships: t.field({ type: [EvidenceMembership], resolve: (r) => r.memberships }),
    roles: t.field({ type: [EvidenceRole], resolve: (r) => r.roles }),
  }),
});

type Anchor = NonNullable<DeprovisionEvidence['anchor']>;
const AuditAnchorRef = builder.objectRef<Anchor>('AuditAnchor').implement({
  description: 'The chain head signed with a key that is not in the database: rows up to anchoredSeq cannot be rewritten unnoticed.',
  fields: (t) => ({
    anchoredSeq: t.exposeInt('anchoredSeq'),
    anchoredHash: t.exposeString('anchoredHash'),
    signedAt: t.exposeString('signedAt'),
    algorithm: t.exposeString('algorithm'),
    keyId: t.exposeString('keyId'),
    signature: t.exposeString('signature', { description: 'base64 Ed25519 signature of "lifecycle-hub audit anchor v1\\n<organizationId>\\n<anchoredSeq>\\n<anchoredHash>\\n<signedAt>".' }),
    auditEventId: t.exposeID('auditEventId'),
    publicKeyPem: t.exposeString('publicKeyPem'),
  }),
});

const DeprovisionEvidenceRef = builder.objectRef<DeprovisionEvidence>('DeprovisionEvidence').implement({
  description: 'What an auditor asks for: when the source signalled, when the hub received and enforced it, everything removed, by which connection and delivery, with the chain hashes and a signed anchor.',
  fields: (t) => ({
    generatedAt: t.exposeString('generatedAt'),
    organizationId: t.exposeID('organizationId'),
    user: t.prismaField({ type: 'DirectoryUser', resolve: (query, e, _a, ctx) => ctx.hub.db.prisma.directoryUser.findUniqueOrThrow({ ...query, where: { id: e.user.id } }) }),
    deprovisions: t.field({ type: [DeprovisionRecordRef], resolve: (e) => e.deprovisions }),
    auditTrail: t.field({ type: [EvidenceAuditRowRef], resolve: (e) => e.auditTrail }),
    chain: t.field({ type: AuditChainVerification, resolve: (e) => e.chain }),
    anchor: t.field({ type: AuditAnchorRef, nullable: true, resolve: (e) => e.anchor }),
    document: t.field({ type: 'JSON', description: 'The whole evidence as one JSON document (the same as the download).', resolve: (e) => e }),
    downloadPath: t.string({ description: 'GET this path (with your key) for the document as a file.', resolve: (e) => `/audit/evidence/${e.user.id}.json` }),
  }),
});

builder.queryFields((t) => ({
  verifyAuditChain: t.field({
    type: AuditChainVerification,
    description: "Recomputes the organization's audit chain and checks its signed anchors: finds a row altered or deleted directly in SQL, even with hashes recomputed.",
    authScopes: { authenticated: true },
    args: { organizationId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => verifyAuditChainWithAnchors(ctx.hub.db.sql, ctx.hub.auditSigner, assertOrganization(ctx, String(args.organizationId))),
  }),
  deprovisionEvidence: t.field({
    type: DeprovisionEvidenceRef,
    description: 'Evidence that a user lost access: also downloadable as JSON at downloadPath.',
    authScopes: { authenticated: true },
    args: { userId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const userId = String(args.userId);
      await userOrganization(ctx, userId);
      const evidence = await buildDeprovisionEvidence(ctx.hub.db.sql, ctx.hub.auditSigner, userId);
      if (!evidence) throw notFound('user', userId);
      return evidence;
    },
  }),
  auditSigningKey: t.field({
    type: AuditSigningKey,
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => ({ algorithm: 'Ed25519', keyId: ctx.hub.auditSigner.keyId, publicKeyPem: ctx.hub.auditSigner.publicKeyPem }),
  }),
}));
