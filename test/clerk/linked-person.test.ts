// One person, two sources, over real HTTP: an identity provider (the template connector, standing
// for the customer's IdP) is the organization's authoritative connection; the same person signs in
// through Clerk. Linked by verified email. When the IdP deprovisions them, the Clerk user is
// deprovisioned in the same commit, its sessions are left PENDING for upstream revocation, and
// the Clerk connector revokes them at Clerk (the SDK against the stand-in) given the session the
// engine recorded, as the revocation worker will.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import template from '../../plugins/template/index.ts';
import { LINKED_DEPROVISION_REASON } from '../../src/engine/identity-linking.ts';
import type { LifecycleEventRecord } from '../../src/engine/types.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { randomWebhookSecret, svixHeaders } from '../support/svix-signing.ts';
import { clerkEvent, clerkSession, clerkUser, sendClerk } from './clerk-objects.ts';
import { startClerkStandIn, type ClerkStandIn } from './clerk-stand-in.ts';

const SECRET_KEY = 'sk_test_linked_0123456789';
let t: TestHub;
let api: ClerkStandIn;
const committed: LifecycleEventRecord[] = [];

beforeAll(async () => {
  api = await startClerkStandIn(SECRET_KEY);
  t = await startTestHub({ connectors: [template] });
  t.hub.engine.onCommitted((events) => committed.push(...events));
});
afterAll(async () => {
  await t?.close();
  await api?.close();
});

async function setup(slug: string, linking: 'VERIFIED_EMAIL' | 'EXTERNAL_ID') {
  const org = await t.gqlOk(`mutation($s: String!) { createOrganization(input: { name: "Northwind", slug: $s }) { organization { id } } }`, { s: slug });
  const organizationId = org.createOrganization.organization.id as string;
  const create = async (provider: string, config: Record<string, unknown>) =>
    (await t.gqlOk(`mutation($o: ID!, $p: String!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: $p, name: $p, config: $c }) { connection { id webhookUrl } } }`, { o: organizationId, p: provider, c: config }))
      .createDirectoryConnection.connection as { id: string; webhookUrl: string };
  const idpSecret = randomWebhookSecret();
  const clerkSecret = randomWebhookSecret();
  const idp = await create('template', { signingSecret: idpSecret });
  const clerk = await create('clerk', { webhookSigningSecret: clerkSecret, secretKey: SECRET_KEY, apiUrl: api.url });
  await t.gqlOk(
    `mutation($o: ID!, $l: IdentityLinking, $a: ID) { updateOrganizationSettings(input: { organizationId: $o, identityLinking: $l, authoritativeConnectionId: $a }) { organization { identityLinking authoritativeConnectionId } } }`,
    { o: organizationId, l: linking, a: idp.id },
  );
  let n = 0;
  const fromIdp = async (event: Record<string, unknown>) => {
    const body = JSON.stringify({ timestamp: new Date(Date.now() + n * 1000).toISOString(), ...event });
    const response = await fetch(idp.webhookUrl, { method: 'POST', headers: svixHeaders(idpSecret, `idp_${++n}`, body, { prefix: 'webhook' }), body });
    expect(response.status).toBe(200);
  };
  const fromClerk = async (type: string, data: unknown) => expect((await sendClerk(clerk.webhookUrl, clerkSecret, clerkEvent(type, data))).status).toBe(200);
  return { organizationId, idp, clerk, fromIdp, fromClerk };
}

describe('one person in an identity provider and in Clerk', () => {
  it('the IdP deprovisions the person: the linked Clerk user is deprovisioned, and its Clerk sessions are revoked at Clerk', async () => {
    const s = await setup('linked-email', 'VERIFIED_EMAIL');
    await s.fromIdp({ type: 'user.upserted', data: { id: '00u_ada', email: 'Ada@Northwind.example', given_name: 'Ada', family_name: 'Lovelace' } });
    api.users.push(clerkUser({ id: 'user_ada', email: 'ada@northwind.example' }));
    api.sessions.push(clerkSession('sess_ada_web', 'user_ada'), clerkSession('sess_ada_mobile', 'user_ada', 'active', 1773154352000));
    await s.fromClerk('user.created', api.users.at(-1));
    await s.fromClerk('session.created', api.sessions.at(-2));
    await s.fromClerk('session.created', api.sessions.at(-1));

    const idpUser = await t.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: s.idp.id, sourceId: '00u_ada' } });
    const linked = await t.gqlOk(`query($id: ID!) { user(id: $id) { personKey: id linkedUsers { id sourceId state } } }`, { id: idpUser.id });
    expect(linked.user.linkedUsers).toEqual([expect.objectContaining({ sourceId: 'user_ada', state: 'ACTIVE' })]);

    const seen = committed.length;
    await s.fromIdp({ type: 'user.upserted', data: { id: '00u_ada', email: 'Ada@Northwind.example', given_name: 'Ada', family_name: 'Lovelace', active: false } });

    const clerkUserRow = await t.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: s.clerk.id, sourceId: 'user_ada' } });
    expect(clerkUserRow).toMatchObject({ state: 'DEPROVISIONED', deprovisionReason: LINKED_DEPROVISION_REASON });
    const sessions = await t.db.prisma.session.findMany({ where: { userId: clerkUserRow.id }, orderBy: { externalRef: 'asc' } });
    expect(sessions.map((x) => x.externalRef)).toEqual(['sess_ada_mobile', 'sess_ada_web']);
    expect(sessions.every((x) => x.revokedAt !== null && ['PENDING', 'CONFIRMED'].includes(x.revocationStatus!))).toBe(true);

    const events = committed.slice(seen);
    const deprovisions = events.filter((e) => e.type === 'user.deprovisioned');
    expect(deprovisions.map((e) => e.userId).sort()).toEqual([idpUser.id, clerkUserRow.id].sort());
    expect(deprovisions.find((e) => e.userId === clerkUserRow.id)).toMatchObject({ connectionId: s.idp.id, data: expect.objectContaining({ linkedFrom: expect.objectContaining({ userId: idpUser.id }) }) });
    expect(new Set(deprovisions.map((e) => e.deliveryId)).size).toBe(1); // one delivery, one commit

    // The hub's revocation worker then revokes each at Clerk through the connector's revoke().
    await expect
      .poll(async () => (await t.db.prisma.session.findMany({ where: { userId: clerkUserRow.id } })).map((x) => x.revocationStatus), { timeout: 10_000 })
      .toEqual(['CONFIRMED', 'CONFIRMED']);
    expect(api.sessions.filter((x) => x.user_id === 'user_ada').map((x) => x.status)).toEqual(['revoked', 'revoked']);
    expect(api.calls().filter((c) => c.method === 'POST').map((c) => c.path).sort()).toEqual(['/v1/sessions/sess_ada_mobile/revoke', '/v1/sessions/sess_ada_web/revoke']);
  });

  it('linked by externalId (in that mode a shared email alone does not link); the IdP reactivating the person restores the Clerk user', async () => {
    const s = await setup('linked-external-id', 'EXTERNAL_ID');
    await s.fromIdp({ type: 'user.upserted', data: { id: '00u_bob', email: 'bob@northwind.example', external_id: 'emp-7' } });
    await s.fromClerk('user.created', clerkUser({ id: 'user_bob', email: 'robert@elsewhere.example', externalId: 'emp-7' }));
    await s.fromClerk('user.created', clerkUser({ id: 'user_eve', email: 'bob@northwind.example', verified: false }));
    await s.fromIdp({ type: 'user.upserted', data: { id: '00u_bob', email: 'bob@northwind.example', external_id: 'emp-7', active: false } });
    const state = async (sourceId: string) => (await t.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: s.clerk.id, sourceId } })).state;
    expect(await state('user_bob')).toBe('DEPROVISIONED');
    expect(await state('user_eve')).toBe('ACTIVE');

    // Back at the IdP: the user it deprovisioned comes back.
    await s.fromIdp({ type: 'user.upserted', data: { id: '00u_bob', email: 'bob@northwind.example', external_id: 'emp-7', active: true } });
    expect(await state('user_bob')).toBe('ACTIVE');
  });
});
