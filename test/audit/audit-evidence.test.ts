// Audit evidence over real HTTP: verifyAuditChain finds rows altered or deleted directly in SQL
// (even with every hash recomputed, through the signed anchors), deprovisionEvidence is complete for
// a deprovisioned user with sessions and credentials (also as a JSON download), the CSV export
// streams the whole log, and nothing in the API can change an audit row.
import { createPublicKey, verify } from 'node:crypto';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { anchorChain } from '../../src/audit/anchor.ts';
import { defineConnector } from '../../src/connectors/contract.ts';
import { auditHash } from '../../src/engine/audit-chain.ts';
import { auditRowColumns } from '../../src/engine/audit-log.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { testConnector } from '../support/engine-fixture.ts';
import { seedOrganization } from '../streams/support.ts';

const upstream = defineConnector({ id: 'upstream-idp', displayName: 'Upstream', configSchema: z.object({}).passthrough(), revoke: async () => {} });

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ connectors: [upstream, testConnector] });
});
afterAll(async () => {
  await t?.close();
});

const VERIFY = `query($o: ID!) { verifyAuditChain(organizationId: $o) { ok checked firstBrokenId reason headSeq anchors anchoredThroughSeq } }`;

/** Runs SQL on audit_event with its append-only trigger off, as an attacker with database access would. */
async function tamper(statements: Array<[string, unknown[]]>) {
  await t.hub.db.sql.transaction(async (tx) => {
    await tx.query('ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only');
    for (const [text, params] of statements) await tx.query(text, params);
    await tx.query('ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only');
  });
}

async function chainRows(orgId: string) {
  const rows = await t.hub.db.sql.query<any>(`SELECT ${auditRowColumns} FROM audit_event WHERE organization_id = $1 ORDER BY seq`, [orgId]);
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

describe('verifyAuditChain', () => {
  it('holds for an untouched log and finds a row altered in SQL', async () => {
    const org = await seedOrganization(t, 'tamper-alter');
    await org.provision('a', 5);
    const clean = (await t.gqlOk(VERIFY, { o: org.orgId }, org.orgKey)).verifyAuditChain;
    expect(clean).toMatchObject({ ok: true, firstBrokenId: null });
    expect(clean.checked).toBe(clean.headSeq);

    const victim = (await chainRows(org.orgId))[4];
    await tamper([[`UPDATE audit_event SET data = jsonb_set(data, '{profile,email}', '"someone-else@evil.test"') WHERE id = $1`, [victim.id]]]);
    const report = (await t.gqlOk(VERIFY, { o: org.orgId }, org.orgKey)).verifyAuditChain;
    expect(report).toMatchObject({ ok: false, firstBrokenId: victim.id });
    expect(report.reason).toMatch(/altered/);
  });

  it('finds a row deleted in SQL, and rows cut from the end', async () => {
    const org = await seedOrganization(t, 'tamper-delete');
    await org.provision('d', 5);
    const rows = await chainRows(org.orgId);
    await tamper([['DELETE FROM audit_event WHERE id = $1', [rows[3].id]]]);
    const report = (await t.gqlOk(VERIFY, { o: org.orgId })).verifyAuditChain;
    expect(report).toMatchObject({ ok: false, firstBrokenId: rows[4].id });
    expect(report.reason).toMatch(/missing/);

    const other = await seedOrganization(t, 'tamper-truncate');
    await other.provision('e', 3);
    const last = (await chainRows(other.orgId)).at(-1);
    await tamper([['DELETE FROM audit_event WHERE id = $1', [last.id]]]);
    const cut = (await t.gqlOk(VERIFY, { o: other.orgId })).verifyAuditChain;
    expect(cut.ok).toBe(false);
    expect(cut.reason).toMatch(/removed from the end/);
  });

  it('finds a rewrite whose hashes were all recomputed, through the signed anchor', async () => {
    const org = await seedOrganization(t, 'tamper-rewrite');
    await org.provision('w', 4);
    const anchor = await anchorChain(t.hub.db.sql, t.hub.auditSigner, org.orgId);
    await org.provision('late', 2);
    expect((await t.gqlOk(VERIFY, { o: org.orgId })).verifyAuditChain).toMatchObject({ ok: true, anchors: 1, anchoredThroughSeq: anchor!.anchoredSeq });

    // Rewrite row 3 and recompute every later link and the head, as the algorithm is public.
    const rows = await chainRows(org.orgId);
    const from = rows.findIndex((r) => r.seq === 3);
    const statements: Array<[string, unknown[]]> = [];
    let prevHash = rows[from - 1].hash as string;
    for (const row of rows.slice(from)) {
      const content = row.seq === 3 ? { ...row, data: { ...row.data, forged: true } } : row;
      const hash = auditHash(prevHash, content);
      statements.push(['UPDATE audit_event SET data = $2, prev_hash = $3, hash = $4 WHERE id = $1', [row.id, JSON.stringify(content.data), prevHash, hash]]);
      prevHash = hash;
    }
    statements.push(['UPDATE audit_chain_head SET hash = $2 WHERE organization_id = $1', [org.orgId, prevHash]]);
    await tamper(statements);

    const report = (await t.gqlOk(VERIFY, { o: org.orgId })).verifyAuditChain;
    expect(report).toMatchObject({ ok: false, firstBrokenId: anchor!.id });
    expect(report.reason).toMatch(/rewritten and their hashes recomputed/);
  });

  it('answers NOT_FOUND for another organization', async () => {
    const a = await seedOrganization(t, 'verify-iso-a');
    const b = await seedOrganization(t, 'verify-iso-b');
    const r = await t.gql(VERIFY, { o: b.orgId }, a.orgKey);
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('deprovisionEvidence', () => {
  it('is complete for a deprovisioned user with sessions and credentials, and downloadable as JSON', async () => {
    const org = await seedOrganization(t, 'evidence', 'upstream-idp');
    const [userId] = await org.provision('ev', 1);
    await org.send([
      { type: 'upsertGroup', sourceId: 'admins', displayName: 'Admins' },
      { type: 'addMembers', group: { sourceId: 'admins' }, users: [{ sourceId: 'ev0' }] },
      { type: 'registerSession', user: { sourceId: 'ev0' }, externalRef: 'idp-session-1' },
      { type: 'registerCredential', user: { sourceId: 'ev0' }, kind: 'oauth_token', externalRef: 'idp-token-1', name: 'CLI token' },
    ]);
    const group = await t.hub.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: org.connectionId } });
    await t.gqlOk(`mutation($g: ID!) { setGroupMapping(input: { groupId: $g, role: "admin" }) { mapping { id } } }`, { g: group.id });
    const { registerSession } = await t.gqlOk(`mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "app-session-9" }) { session { id } } }`, { u: userId });
    const { registerCredential } = await t.gqlOk(`mutation($u: ID!) { registerCredential(input: { userId: $u, kind: personal_access_token, externalRef: "pat-7", name: "deploy" }) { credential { id } } }`, { u: userId });

    const signalled = new Date(Date.now() - 50);
    await org.send([{ type: 'deactivateUser', user: { sourceId: 'ev0' }, occurredAt: signalled }], 'idp-delivery-42');
    await expect.poll(() => t.hub.db.prisma.session.count({ where: { userId, revocationStatus: 'CONFIRMED' } }), { timeout: 15_000, interval: 25 }).toBe(1);
    await expect.poll(() => t.hub.db.prisma.credential.count({ where: { userId, revocationStatus: 'CONFIRMED' } }), { timeout: 15_000, interval: 25 }).toBe(1);

    const { deprovisionEvidence: ev } = await t.gqlOk(
      `query($u: ID!) { deprovisionEvidence(userId: $u) {
        organizationId downloadPath user { id state deprovisionedAt }
        deprovisions { eventId occurredAt receivedAt enforcedAt reason warnings deliveryId actorType actorId connection { id provider name }
          auditEvent { id seq hash prevHash action }
          sessions { id externalRef connectionId revokedAt revocationStatus revocationConfirmedAt attempts { action seq hash } }
          credentials { id kind name externalRef connectionId revocationStatus attempts { action } }
          memberships { groupId displayName } roles { workspace role } }
        auditTrail { seq action hash prevHash }
        chain { ok checked anchors anchoredThroughSeq headSeq }
        anchor { anchoredSeq anchoredHash signedAt algorithm keyId signature publicKeyPem }
        document } }`,
      { u: userId },
      org.orgKey,
    );
    expect(ev.user).toMatchObject({ id: userId, state: 'DEPROVISIONED' });
    expect(ev.deprovisions).toHaveLength(1);
    const d = ev.deprovisions[0];
    expect(d).toMatchObject({
      occurredAt: signalled.toISOString(),
      reason: 'deactivated at the source',
      deliveryId: 'idp-delivery-42',
      actorType: 'connection',
      actorId: org.connectionId,
      connection: { id: org.connectionId, provider: 'upstream-idp', name: 'Okta' },
      auditEvent: { action: 'user.deprovisioned' },
      memberships: [{ groupId: group.id, displayName: 'Admins' }],
      roles: [{ workspace: null, role: 'admin' }],
    });
    expect(new Date(d.receivedAt).getTime()).toBeGreaterThanOrEqual(signalled.getTime());
    expect(new Date(d.enforcedAt).getTime()).toBeGreaterThanOrEqual(new Date(d.receivedAt).getTime());
    expect(d.warnings[0]).toMatch(/no active admin left/);
    // Every session and credential, the hub's own and the upstream ones with their confirmation.
    expect(d.sessions.map((s: any) => s.externalRef).sort()).toEqual(['app-session-9', 'idp-session-1']);
    const own = d.sessions.find((s: any) => s.id === registerSession.session.id);
    expect(own).toMatchObject({ connectionId: null, revocationStatus: 'NOT_REQUIRED', attempts: [] });
    const idp = d.sessions.find((s: any) => s.externalRef === 'idp-session-1');
    expect(idp).toMatchObject({ connectionId: org.connectionId, revocationStatus: 'CONFIRMED', attempts: [{ action: 'session.revocation_confirmed' }] });
    expect(idp.revocationConfirmedAt).not.toBeNull();
    expect(d.credentials.map((c: any) => [c.kind, c.externalRef, c.revocationStatus]).sort()).toEqual([
      ['oauth_token', 'idp-token-1', 'CONFIRMED'],
      ['personal_access_token', 'pat-7', 'NOT_REQUIRED'],
    ]);
    expect(d.credentials.some((c: any) => c.id === registerCredential.credential.id)).toBe(true);

    // The hashes are the chain's, and the chain (signed) holds.
    const stored = await t.hub.db.prisma.auditEvent.findUniqueOrThrow({ where: { id: d.auditEvent.id } });
    expect(d.auditEvent).toMatchObject({ hash: stored.hash, prevHash: stored.prevHash, seq: Number(stored.seq) });
    expect(ev.chain).toMatchObject({ ok: true });
    expect(ev.chain.anchoredThroughSeq).toBeGreaterThanOrEqual(Math.max(...ev.auditTrail.map((r: any) => r.seq)));
    // An auditor checks the anchor offline with the published public key.
    const { auditSigningKey } = await t.gqlOk(`{ auditSigningKey { algorithm keyId publicKeyPem } }`, undefined, org.orgKey);
    expect(auditSigningKey).toMatchObject({ algorithm: 'Ed25519', keyId: ev.anchor.keyId, publicKeyPem: ev.anchor.publicKeyPem });
    const message = `lifecycle-hub audit anchor v1\n${org.orgId}\n${ev.anchor.anchoredSeq}\n${ev.anchor.anchoredHash}\n${ev.anchor.signedAt}`;
    expect(verify(null, Buffer.from(message), createPublicKey(auditSigningKey.publicKeyPem), Buffer.from(ev.anchor.signature, 'base64'))).toBe(true);

    // The same document as a download.
    const download = await fetch(`${t.url}${ev.downloadPath}`, { headers: { authorization: `Bearer ${org.orgKey}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(/attachment; filename="deprovision-evidence-/);
    const file = await download.json();
    expect(file.format).toBe('lifecycle-hub/deprovision-evidence/v1');
    expect({ ...file, generatedAt: null, chain: null, anchor: null }).toEqual({ ...ev.document, generatedAt: null, chain: null, anchor: null });

    const stranger = await seedOrganization(t, 'evidence-stranger');
    expect((await fetch(`${t.url}${ev.downloadPath}`, { headers: { authorization: `Bearer ${stranger.orgKey}` } })).status).toBe(404);
    expect((await fetch(`${t.url}${ev.downloadPath}`)).status).toBe(401);
    expect((await t.gql(`query($u: ID!) { deprovisionEvidence(userId: $u) { generatedAt } }`, { u: userId }, stranger.orgKey)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('audit export', () => {
  it('streams the whole audit log as CSV to the organization key or an admin, and to no one else', async () => {
    const org = await seedOrganization(t, 'csv-export');
    const stranger = await seedOrganization(t, 'csv-stranger');
    await org.provision('c', 2300);
    await org.send([{ type: 'deactivateUser', user: { sourceId: 'c1' } }], '=HYPERLINK("http://evil.test")');
    // Fresh connections: a keep-alive one left idle through the long provisioning above may be
    // closed by the server just as it is reused.
    const get = (key: string | null) =>
      new Promise<IncomingMessage>((resolve, reject) =>
        httpGet(`${t.url}/audit/${org.orgId}.csv`, { agent: false, headers: key ? { authorization: `Bearer ${key}` } : {} }, resolve).on('error', reject),
      );
    const response = await get(org.orgKey);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.headers['transfer-encoding']).toBe('chunked');
    response.setEncoding('utf8');
    let chunks = 0;
    let text = '';
    for await (const chunk of response) {
      chunks++;
      text += String(chunk);
    }
    expect(chunks).toBeGreaterThan(1);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('seq,id,at,action,actor_type,actor_id,delivery_id,target_type,target_id,test_mode,warnings,data,prev_hash,hash');
    const rows = await chainRows(org.orgId);
    expect(lines.length - 1).toBe(rows.length);
    expect(lines[1]!.startsWith(`1,${rows[0].id},`)).toBe(true);
    expect(lines.at(-1)!.endsWith(`,${rows.at(-1).prevHash},${rows.at(-1).hash}`)).toBe(true);
    // A value that a spreadsheet would run as a formula is escaped.
    expect(text).toContain(`"'=HYPERLINK(""http://evil.test"")"`);

    const status = async (key: string | null) => {
      const r = await get(key);
      r.resume();
      return r.statusCode;
    };
    expect(await status(t.adminKey)).toBe(200);
    expect(await status(stranger.orgKey)).toBe(404);
    expect(await status(null)).toBe(401);
  });

  it('offers no way to update or delete an audit row: no such mutation, and the table refuses', async () => {
    const { __schema } = await t.gqlOk(`{ __schema { mutationType { fields { name } } } }`);
    const mutations = __schema.mutationType.fields.map((f: { name: string }) => f.name);
    expect(mutations.filter((name: string) => /audit/i.test(name))).toEqual([]);
    const org = await seedOrganization(t, 'append-only');
    const [row] = await chainRows(org.orgId);
    await expect(t.hub.db.sql.query('UPDATE audit_event SET action = $2 WHERE id = $1', [row.id, 'nothing.happened'])).rejects.toThrow(/append-only/);
    await expect(t.hub.db.sql.query('DELETE FROM audit_event WHERE id = $1', [row.id])).rejects.toThrow(/append-only/);
    expect((await t.gqlOk(VERIFY, { o: org.orgId })).verifyAuditChain.ok).toBe(true);
  });
});
