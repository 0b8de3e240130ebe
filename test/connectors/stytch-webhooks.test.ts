// Stytch B2B webhooks over real HTTP: POST /webhooks/:connectionId with bodies signed exactly as Svix
// signs Stytch's webhooks, verified with the svix library, applied by the lifecycle engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCommitted, connectionSnapshot, settledSnapshot, createOrganization, createVendorConnection } from '../support/vendors/connections.ts';
import {
  TEST_ORGANIZATION,
  TEST_PROJECT,
  deliverStytch,
  idpGroup,
  signStytchDelivery,
  stytchEvent,
  stytchFixture,
  stytchMember,
  svixSecret,
  type StytchEventWire,
} from '../support/vendors/stytch.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

const SECRET = svixSecret();
const config = (extra: Record<string, unknown> = {}) => ({
  webhookSigningSecret: SECRET,
  projectId: TEST_PROJECT,
  secret: 'secret-test-hub0123456789abcdef',
  stytchOrganizationId: TEST_ORGANIZATION,
  ...extra,
});
const MEMBER = 'member-test-3c9d8e7f-6a5b-4c4d-8e3f-2a1b0c9d8e7f';

let t: TestHub;
let committed: ReturnType<typeof collectCommitted>;
beforeAll(async () => {
  t = await startTestHub();
  committed = collectCommitted(t);
});
afterAll(async () => {
  committed?.stop();
  await t?.close();
});

const urlOf = (connectionId: string) => `${t.url}/webhooks/${connectionId}`;
const userBySource = (connectionId: string, sourceId: string) => t.hub.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId, sourceId } });

describe('Stytch webhook deliveries', () => {
  it('returns the per-connection webhook URL and never the secret fields', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    expect(c.webhookUrl).toBe(`${t.hub.publicUrl}/webhooks/${c.connectionId}`);
    const { organization } = await t.gqlOk(`query($o: ID!) { organization(id: $o) { connections { id config secretFields } } }`, { o: c.organizationId });
    expect(organization.connections[0]).toMatchObject({ config: { projectId: TEST_PROJECT, stytchOrganizationId: TEST_ORGANIZATION }, secretFields: ['webhookSigningSecret', 'secret'] });
    expect(JSON.stringify(organization)).not.toContain(SECRET);
    expect(JSON.stringify(organization)).not.toContain('secret-test-hub');
  });

  it('provisions a member from the recorded scim.member.create, with its SCIM attributes', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    const event = stytchFixture('scim.member.create');
    const r = await deliverStytch(urlOf(c.connectionId), event, SECRET);
    expect(r).toMatchObject({ status: 200, body: { status: 'applied', deliveryId: event.event_id } });
    const user = await userBySource(c.connectionId, MEMBER);
    expect(user).toMatchObject({
      state: 'ACTIVE',
      email: 'priya.raman@northwind.example',
      userName: 'priya.raman@northwind.example',
      externalId: '00u8k2j4m1NwXyZ5d697',
      givenName: 'Priya',
      familyName: 'Raman',
      displayName: 'Priya Raman',
      title: 'Financial Analyst',
      department: 'Finance',
      employeeNumber: '004217',
      manager: { value: '00u8k2j4m1NwXyZ5d111', displayName: 'Dana Whitfield' },
    });
    expect(user.emails).toEqual([{ value: 'priya.raman@northwind.example', type: null, primary: true, verified: true }]);
    expect(user.sourceData).toMatchObject({ organization_id: TEST_ORGANIZATION, status: 'active', roles: ['stytch_member'] });
  });

  it('deprovisions on scim.member.delete: DEPROVISIONED, sessions revoked, user.deprovisioned committed', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    await deliverStytch(urlOf(c.connectionId), stytchFixture('scim.member.create'), SECRET);
    const created = await userBySource(c.connectionId, MEMBER);
    const { registerSession } = await t.gqlOk(`mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "app-session-7" }) { session { id } } }`, { u: created.id });

    const deleted = stytchFixture('scim.member.delete');
    const r = await deliverStytch(urlOf(c.connectionId), deleted, SECRET);
    expect(r).toMatchObject({ status: 200, body: { status: 'applied', deliveryId: deleted.event_id } });

    const user = await userBySource(c.connectionId, MEMBER);
    expect(user.state).toBe('DEPROVISIONED');
    expect(user.deprovisionReason).toMatch(/scim\.member\.delete/);
    const session = await t.hub.db.prisma.session.findUniqueOrThrow({ where: { id: registerSession.session.id } });
    expect(session.revokedAt).not.toBeNull();

    const rows = await t.hub.db.prisma.lifecycleEvent.findMany({ where: { connectionId: c.connectionId, deliveryId: deleted.event_id }, orderBy: { id: 'asc' } });
    expect(rows.map((e) => e.type)).toEqual(expect.arrayContaining(['user.deprovisioned', 'session.revoked']));
    expect(committed.of(c.connectionId).filter((e) => e.deliveryId === deleted.event_id).map((e) => e.type)).toEqual(rows.map((e) => e.type));
    expect(rows.find((e) => e.type === 'user.deprovisioned')!.data).toMatchObject({ revokedSessions: [registerSession.session.id] });

    // SCIM reactivation arrives as scim.member.update with status "active" (newer updated_at).
    expect((await deliverStytch(urlOf(c.connectionId), stytchFixture('scim.member.update.reactivated'), SECRET)).body.status).toBe('applied');
    expect((await userBySource(c.connectionId, MEMBER)).state).toBe('ACTIVE');
  });

  it('deprovisions a member whose status is "deactivated" (Stytch SCIM page) or "deleted" (API), whatever the source', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    const url = urlOf(c.connectionId);
    for (const [source, status, deletedAtSource] of [['SCIM', 'deactivated', false], ['DIRECT', 'deleted', true], ['DASHBOARD', 'deactivated', false]] as const) {
      const member = stytchMember({ email: `${status}-${source}@northwind.example`, name: 'Pat Example', updatedAt: '2026-03-10T10:00:00Z' });
      await deliverStytch(url, stytchEvent({ source, objectType: 'member', action: 'CREATE', id: member.member_id, entity: member }), SECRET);
      const r = await deliverStytch(url, stytchEvent({ source, objectType: 'member', action: 'UPDATE', id: member.member_id, entity: { ...member, status, updated_at: '2026-03-10T11:00:00Z' } }), SECRET);
      expect(r.body.status, `${source} ${status}`).toBe('applied');
      const user = await userBySource(c.connectionId, member.member_id);
      expect(user.state, `${source} ${status}`).toBe('DEPROVISIONED');
      expect(user.sourceDeletedAt !== null, `${source} ${status}`).toBe(deletedAtSource);
    }
  });

  it('handles direct.member.* like scim.member.* (API-made changes)', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    const url = urlOf(c.connectionId);
    for (const name of ['direct.member.create', 'direct.member.update', 'direct.member.delete']) {
      expect((await deliverStytch(url, stytchFixture(name), SECRET)).body.status, name).toBe('applied');
    }
    const user = await userBySource(c.connectionId, 'member-test-8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d');
    expect(user).toMatchObject({ state: 'DEPROVISIONED', externalId: 'emp-003318', customAttributes: { cost_center: 'FIN-200' } });
  });

  it('refuses a wrong signature with 401 and changes nothing', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    const url = urlOf(c.connectionId);
    await deliverStytch(url, stytchFixture('scim.member.create'), SECRET);
    const before = await settledSnapshot(t, c.connectionId);
    const body = JSON.stringify(stytchFixture('scim.member.delete'));
    const good = signStytchDelivery(body, SECRET);
    const cases: Array<[string, Record<string, string>, string]> = [
      ['signed with another secret', signStytchDelivery(body, svixSecret()), body],
      ['body altered after signing', good, body.replace('DELETE', 'UPDATE')],
      ['svix-id altered after signing', { ...good, 'svix-id': 'msg_other' }, body],
      ['no signature headers', { 'content-type': 'application/json' }, body],
      ['signature of another scheme', { ...good, 'svix-signature': good['svix-signature']!.replace('v1,', 'v2,') }, body],
      ['headers under unknown names', Object.fromEntries(Object.entries(good).map(([k, v]) => [k.replace('svix-', 'x-svix-'), v])), body],
    ];
    for (const [name, headers, sent] of cases) {
      const response = await fetch(url, { method: 'POST', headers, body: sent });
      expect(response.status, name).toBe(401);
      expect(await response.json(), name).toMatchObject({ error: 'invalid_signature' });
    }
    expect(await connectionSnapshot(t, c.connectionId)).toEqual(before);
  });

  it('refuses stale and future timestamps (±5 minutes) and a captured delivery replayed later, with nothing changed', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    const url = urlOf(c.connectionId);
    const body = JSON.stringify(stytchFixture('scim.member.create'));
    // 10 s outside the window, each taken just before its delivery: one second past it was a race
    // with the floor of `now` and a slow CI machine (the future one arrived 300 s ahead, accepted).
    for (const [name, offset] of [['stale', -310], ['future', 310]] as const) {
      const timestamp = Math.floor(Date.now() / 1000) + offset;
      const r = await deliverStytch(url, body, SECRET, { timestamp });
      expect(r.status, name).toBe(401);
      expect(r.body.message, name).toMatch(/timestamp/i);
    }
    // A genuinely signed Stytch delivery recorded months ago (research/_signed-delivery.example.json).
    const recorded = { secret: 'whsec_Zml4dHVyZS1vbmx5LXN0eXRjaC1zaWduaW5nLWtleS0x', id: 'msg_2tQyP4qRs7TuV0wXyZ1aBcD2eF3', timestamp: 1773152551 };
    const raw = `${JSON.stringify(stytchFixture('scim.member.create'), null, 2)}\n`;
    const headers = signStytchDelivery(raw, recorded.secret, { msgId: recorded.id, timestamp: recorded.timestamp, otherSignatures: [] });
    expect(headers['svix-signature']).toBe('v1,jYCOp0vn7Ee/mWtcdaaGgPi6aEz+LQaMCqOUfoI2MUY=');
    const replayConnection = await createVendorConnection(t, 'stytch', config({ webhookSigningSecret: recorded.secret }));
    const replay = await fetch(urlOf(replayConnection.connectionId), { method: 'POST', headers, body: raw });
    expect(replay.status).toBe(401);
    expect((await connectionSnapshot(t, c.connectionId)).users).toEqual([]);
    expect((await connectionSnapshot(t, replayConnection.connectionId)).users).toEqual([]);
  });

  it('accepts the Standard Webhooks header names (webhook-*) and a signature list during key rotation', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    const url = urlOf(c.connectionId);
    const r1 = await deliverStytch(url, stytchFixture('scim.member.create'), SECRET, { headerNames: 'webhook' });
    expect(r1).toMatchObject({ status: 200, body: { status: 'applied' } });
    const r2 = await deliverStytch(url, stytchFixture('scim.member.update'), SECRET, { otherSignatures: ['v1,BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc='] });
    expect(r2).toMatchObject({ status: 200, body: { status: 'applied' } });
    expect((await userBySource(c.connectionId, MEMBER)).displayName).toBe('Priya Raman-Iyer');
  });

  it('treats a redelivery (same event, re-signed by a Svix retry) as a no-op', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    const url = urlOf(c.connectionId);
    await deliverStytch(url, stytchFixture('scim.member.create'), SECRET);
    const deleted = stytchFixture('scim.member.delete');
    expect((await deliverStytch(url, deleted, SECRET, { msgId: 'msg_retry_me' })).body.status).toBe('applied');
    const after = await connectionSnapshot(t, c.connectionId);
    const published = committed.of(c.connectionId).length;
    const again = await deliverStytch(url, deleted, SECRET, { msgId: 'msg_retry_me', timestamp: Math.floor(Date.now() / 1000) + 5 });
    expect(again).toMatchObject({ status: 200, body: { status: 'duplicate', deliveryId: deleted.event_id } });
    expect(await connectionSnapshot(t, c.connectionId)).toEqual(after);
    expect(committed.of(c.connectionId).length).toBe(published);
  });

  it("acknowledges (2xx) and ignores other organizations' and projects' events, and object types it does not model", async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    const url = urlOf(c.connectionId);
    const other = 'organization-test-99999999-9999-4999-8999-999999999999';
    const member = stytchMember({ organizationId: other, email: 'x@other.example', name: 'Other Person' });
    const r = await deliverStytch(url, stytchEvent({ objectType: 'member', action: 'CREATE', id: member.member_id, entity: member }), SECRET);
    expect(r).toMatchObject({ status: 200, body: { status: 'ignored', reason: expect.stringContaining(other) } });
    const g = await deliverStytch(url, stytchEvent({ objectType: 'idp_group', action: 'CREATE', id: 'scim-group-x', entity: idpGroup('scim-group-x', 'X', other) }), SECRET);
    expect(g.body.status).toBe('ignored');
    const project = await deliverStytch(url, Object.assign(stytchFixture<StytchEventWire>('scim.member.create'), { project_id: 'project-test-00000000-0000-4000-8000-000000000000' }), SECRET);
    expect(project.body.status).toBe('ignored');
    const org = await deliverStytch(url, stytchEvent({ source: 'DIRECT', objectType: 'organization', action: 'UPDATE', id: TEST_ORGANIZATION, entity: { organization_id: TEST_ORGANIZATION } }), SECRET);
    expect(org.body.status).toBe('ignored');
    expect((await connectionSnapshot(t, c.connectionId)).users).toEqual([]);
  });

  it('refuses a signed body that is not a Stytch event with 400', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    const url = urlOf(c.connectionId);
    expect(await deliverStytch(url, '[]', SECRET)).toMatchObject({ status: 400, body: { error: 'invalid_payload' } });
    const noMember = { ...stytchFixture('scim.member.create') };
    delete noMember.member;
    expect(await deliverStytch(url, noMember, SECRET)).toMatchObject({ status: 400, body: { message: expect.stringMatching(/carries no member/) } });
    const badMember = stytchFixture('scim.member.create');
    delete badMember.member.member_id;
    expect(await deliverStytch(url, badMember, SECRET)).toMatchObject({ status: 400, body: { message: expect.stringMatching(/member_id/) } });
  });

  it('applies SCIM groups: create, rename, member add and remove, delete', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    const url = urlOf(c.connectionId);
    for (const name of ['scim.member.create', 'scim.idp_group.create', 'scim.idp_group.member_add', 'scim.idp_group.update']) {
      expect((await deliverStytch(url, stytchFixture(name), SECRET)).body.status, name).toMatch(/applied|noop/);
    }
    const group = await t.hub.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.connectionId } });
    expect(group).toMatchObject({ sourceId: 'scim-group-test-4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8', displayName: 'Finance & Treasury', memberCount: 1 });
    await deliverStytch(url, stytchFixture('scim.idp_group.member_delete'), SECRET);
    expect((await t.hub.db.prisma.directoryGroup.findUniqueOrThrow({ where: { id: group.id } })).memberCount).toBe(0);
    await deliverStytch(url, stytchFixture('scim.idp_group.delete'), SECRET);
    expect((await t.hub.db.prisma.directoryGroup.findUniqueOrThrow({ where: { id: group.id } })).deletedAt).not.toBeNull();
  });

  it('refuses (409) a group membership naming a member not seen yet, and applies it when Svix retries after the member arrives', async () => {
    const c = await createVendorConnection(t, 'stytch', config());
    const url = urlOf(c.connectionId);
    const add = stytchFixture('scim.idp_group.member_add');
    const early = await deliverStytch(url, add, SECRET);
    expect(early).toMatchObject({ status: 409, body: { error: 'not_found' } });
    await deliverStytch(url, stytchFixture('scim.member.create'), SECRET);
    expect((await deliverStytch(url, add, SECRET)).body.status).toBe('applied');
    expect((await t.hub.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.connectionId } })).memberCount).toBe(1);
  });

  it('refuses an invalid config with a GraphQL error naming the field', async () => {
    const organizationId = await createOrganization(t);
    const attempt = (cfg: unknown) =>
      t.gql(`mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "stytch", name: "s", config: $c }) { connection { id } } }`, { o: organizationId, c: cfg });
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ webhookSigningSecret: undefined }, 'config.webhookSigningSecret', /whsec_/],
      [{ webhookSigningSecret: 'secret' }, 'config.webhookSigningSecret', /whsec_/],
      [{ projectId: 'proj-1' }, 'config.projectId', /project-test-/],
      [{ secret: 'sk_live_1' }, 'config.secret', /secret-test-/],
      [{ secret: 'secret-live-abc' }, 'config.secret', /same project/],
      [{ stytchOrganizationId: 'org_1' }, 'config.stytchOrganizationId', /organization-test-/],
      [{ apiBaseUrl: 'http://stytch.example' }, 'config.apiBaseUrl', /https/],
      [{ extra: true }, 'config.extra', /extra/],
    ];
    for (const [change, field, message] of cases) {
      const r = await attempt({ ...config(), ...change });
      expect(r.errors?.[0]?.extensions, JSON.stringify(change)).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(r.errors?.[0]?.message, JSON.stringify(change)).toMatch(message);
    }
  });
});
