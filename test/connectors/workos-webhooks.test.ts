// WorkOS webhooks over real HTTP: POST /webhooks/:connectionId with bodies signed exactly as WorkOS
// signs them (WorkOS-Signature), verified by @workos-inc/node, applied by the lifecycle engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCommitted, connectionSnapshot, settledSnapshot, createOrganization, createVendorConnection } from '../support/vendors/connections.ts';
import { deliverWorkos, signWorkosDelivery, startWorkosStandIn, workosEvent, workosFixture, workosGroup, workosId, workosUser, type WireEvent } from '../support/vendors/workos.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

const SECRET = 'whsec-workos-test-secret-0123456789';
const API_KEY = 'sk_test_workos_hub';
// The SDK's API calls (the Events API reader a webhook wakes) go to this stand-in, never to WorkOS.
let api: Awaited<ReturnType<typeof startWorkosStandIn>>;
const config = (extra: Record<string, unknown> = {}) => ({ webhookSecret: SECRET, apiKey: API_KEY, apiBaseUrl: api.url, apiMaxRetries: 0, ...extra });

let t: TestHub;
let committed: ReturnType<typeof collectCommitted>;
beforeAll(async () => {
  api = await startWorkosStandIn({ apiKey: API_KEY });
  t = await startTestHub();
  committed = collectCommitted(t);
});
afterAll(async () => {
  committed?.stop();
  await t?.close();
  await api?.close();
});

const userBySource = (connectionId: string, sourceId: string) => t.hub.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId, sourceId } });

/** A fixture event re-dated to now-ish (ids and times of the recorded payload kept otherwise). */
function fixtureEvent(name: string): WireEvent {
  return workosFixture(name);
}

describe('WorkOS webhook deliveries', () => {
  it('returns the per-connection webhook URL from createDirectoryConnection', async () => {
    const c = await createVendorConnection(t, 'workos', config());
    expect(c.webhookUrl).toBe(`${t.hub.publicUrl}/webhooks/${c.connectionId}`);
    // The API never returns secret fields.
    const { organization } = await t.gqlOk(`query($o: ID!) { organization(id: $o) { connections { id config secretFields webhookUrl } } }`, { o: c.organizationId });
    const connection = organization.connections.find((x: { id: string }) => x.id === c.connectionId);
    expect(connection.config).toEqual({ apiBaseUrl: api.url, apiMaxRetries: 0 }); // only the non-secret fields
    expect(connection.secretFields).toEqual(['webhookSecret', 'apiKey']);
    expect(JSON.stringify(organization)).not.toContain(SECRET);
  });

  it('provisions a user from the recorded dsync.user.created, with the profile WorkOS sent', async () => {
    const c = await createVendorConnection(t, 'workos', config());
    const event = fixtureEvent('dsync.user.created');
    const r = await deliverWorkos(`${t.url}/webhooks/${c.connectionId}`, event, SECRET);
    expect(r).toMatchObject({ status: 200, body: { status: 'applied', deliveryId: event.id } });
    const user = await userBySource(c.connectionId, event.data.id);
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
      customAttributes: { department: 'Finance', employee_number: '004217' },
    });
    expect(user.sourceData).toMatchObject({ directory_id: event.data.directory_id, state: 'active', roles: ['member'] });
    expect(user.sourceUpdatedAt?.toISOString()).toBe(event.data.updated_at);
  });

  it('deprovisions on dsync.user.deleted (secure flow): DEPROVISIONED, sessions revoked, user.deprovisioned committed', async () => {
    const c = await createVendorConnection(t, 'workos', config());
    const url = `${t.url}/webhooks/${c.connectionId}`;
    expect((await deliverWorkos(url, fixtureEvent('dsync.user.created'), SECRET)).status).toBe(200);
    const created = await userBySource(c.connectionId, 'directory_user_01JNQ8A2B5C8D1E4F7G0H3J6K9');
    const { registerSession } = await t.gqlOk(`mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "app-session-1" }) { session { id } } }`, { u: created.id });

    const deleted = fixtureEvent('dsync.user.deleted');
    const r = await deliverWorkos(url, deleted, SECRET);
    expect(r).toMatchObject({ status: 200, body: { status: 'applied', deliveryId: deleted.id } });

    const user = await userBySource(c.connectionId, created.sourceId);
    expect(user.state).toBe('DEPROVISIONED');
    expect(user.sourceDeletedAt).not.toBeNull();
    expect(user.deprovisionReason).toMatch(/dsync\.user\.deleted/);
    const session = await t.hub.db.prisma.session.findUniqueOrThrow({ where: { id: registerSession.session.id } });
    expect(session.revokedAt).not.toBeNull();
    // WorkOS owns no session of a directory user: nothing to revoke upstream.
    expect(session.revocationStatus).toBe('NOT_REQUIRED');

    const rows = await t.hub.db.prisma.lifecycleEvent.findMany({ where: { connectionId: c.connectionId, deliveryId: deleted.id }, orderBy: { id: 'asc' } });
    expect(rows.map((e) => e.type)).toEqual(expect.arrayContaining(['user.deprovisioned', 'session.revoked', 'user.deleted']));
    const published = committed.of(c.connectionId).filter((e) => e.deliveryId === deleted.id).map((e) => e.type);
    expect(published).toEqual(rows.map((e) => e.type));
    const deprovisioned = rows.find((e) => e.type === 'user.deprovisioned')!;
    expect(deprovisioned.userId).toBe(user.id);
    expect(deprovisioned.data).toMatchObject({ revokedSessions: [registerSession.session.id] });
  });

  it('deprovisions on dsync.user.updated with state "inactive" (custom user-state flow), and reactivates when it is "active" again', async () => {
    const c = await createVendorConnection(t, 'workos', config());
    const url = `${t.url}/webhooks/${c.connectionId}`;
    await deliverWorkos(url, fixtureEvent('dsync.user.created'), SECRET);
    const inactive = fixtureEvent('dsync.user.updated');
    expect(inactive.data.state).toBe('inactive');
    expect((await deliverWorkos(url, inactive, SECRET)).body.status).toBe('applied');
    let user = await userBySource(c.connectionId, inactive.data.id);
    expect(user.state).toBe('DEPROVISIONED');
    expect(user.sourceDeletedAt).toBeNull();

    const back = workosEvent('dsync.user.updated', { ...inactive.data, state: 'active', updated_at: '2026-03-12T09:00:00.000Z', raw_attributes: { ...inactive.data.raw_attributes, active: true } });
    expect((await deliverWorkos(url, back, SECRET)).body.status).toBe('applied');
    user = await userBySource(c.connectionId, inactive.data.id);
    expect(user.state).toBe('ACTIVE');
    const types = (await t.hub.db.prisma.lifecycleEvent.findMany({ where: { connectionId: c.connectionId }, orderBy: { id: 'asc' } })).map((e) => e.type);
    expect(types.filter((type) => type.startsWith('user.') && type !== 'user.updated')).toEqual(['user.provisioned', 'user.deprovisioned', 'user.reactivated']);
  });

  it('refuses a wrong signature with 401 and changes nothing', async () => {
    const c = await createVendorConnection(t, 'workos', config());
    const url = `${t.url}/webhooks/${c.connectionId}`;
    await deliverWorkos(url, fixtureEvent('dsync.user.created'), SECRET);
    const before = await settledSnapshot(t, c.connectionId);
    const body = JSON.stringify(fixtureEvent('dsync.user.deleted'));

    const cases: Array<[string, Record<string, string>, string]> = [
      ['signed with another secret', signWorkosDelivery(body, 'not-the-secret'), body],
      ['body altered after signing', signWorkosDelivery(body, SECRET), body.replace('inactive', 'active')],
      ['no signature header', { 'content-type': 'application/json' }, body],
      ['signature without a timestamp', { 'WorkOS-Signature': `v1=${'0'.repeat(64)}` }, body],
      ['garbage signature', { 'WorkOS-Signature': signWorkosDelivery(body, SECRET)['WorkOS-Signature']!.replace(/v1=\w+/, 'v1=deadbeef') }, body],
    ];
    for (const [name, headers, sent] of cases) {
      const response = await fetch(url, { method: 'POST', headers, body: sent });
      expect(response.status, name).toBe(401);
      expect(await response.json(), name).toMatchObject({ error: 'invalid_signature' });
    }
    expect(await connectionSnapshot(t, c.connectionId)).toEqual(before);
    // Only the time is kept, for the admin who pasted the secret wrong.
    const health = async () => (await t.gqlOk(`query($c: ID!) { connection(id: $c) { health { lastRejectedCredentialsAt } } }`, { c: c.connectionId })).connection.health;
    await expect.poll(async () => (await health()).lastRejectedCredentialsAt).not.toBeNull();
  });

  it('refuses a stale or future-dated signature, and a captured delivery replayed later, with 401 and nothing changed', async () => {
    const c = await createVendorConnection(t, 'workos', config());
    const url = `${t.url}/webhooks/${c.connectionId}`;
    const before = await settledSnapshot(t, c.connectionId);
    const event = fixtureEvent('dsync.user.created');
    const body = JSON.stringify(event);

    const stale = await deliverWorkos(url, body, SECRET, { timestamp: Date.now() - 181_000 });
    expect(stale.status).toBe(401);
    expect(stale.body.message).toMatch(/old/);
    const future = await deliverWorkos(url, body, SECRET, { timestamp: Date.now() + 5 * 60_000 });
    expect(future.status).toBe(401);
    expect(future.body.message).toMatch(/future/);

    // The recorded delivery (research/_signed-delivery.example.json) was genuinely signed by the
    // scheme, months ago: replaying those exact bytes and header is refused.
    const recorded = { header: 't=1773152551377, v1=d76589502a36f56e1635b4e65fc336a62db9a61a4e201dfda26828b92e417385', secret: 'fixture-only-workos-webhook-secret' };
    const replayConnection = await createVendorConnection(t, 'workos', config({ webhookSecret: recorded.secret }));
    const rawRecorded = `${JSON.stringify(workosFixture('dsync.user.created'), null, 2)}\n`;
    expect(signWorkosDelivery(rawRecorded, recorded.secret, { timestamp: 1773152551377 })['WorkOS-Signature']).toBe(recorded.header);
    const replay = await fetch(`${t.url}/webhooks/${replayConnection.connectionId}`, { method: 'POST', headers: { 'WorkOS-Signature': recorded.header }, body: rawRecorded });
    expect(replay.status).toBe(401);

    expect(await connectionSnapshot(t, c.connectionId)).toEqual(before);
    expect((await connectionSnapshot(t, replayConnection.connectionId)).users).toEqual([]);
  });

  it('treats a redelivery of the same event id as a no-op, even re-signed', async () => {
    const c = await createVendorConnection(t, 'workos', config());
    const url = `${t.url}/webhooks/${c.connectionId}`;
    const created = fixtureEvent('dsync.user.created');
    await deliverWorkos(url, created, SECRET);
    const deleted = fixtureEvent('dsync.user.deleted');
    expect((await deliverWorkos(url, deleted, SECRET)).body.status).toBe('applied');
    const after = await connectionSnapshot(t, c.connectionId);
    const eventsBefore = committed.of(c.connectionId).length;

    // WorkOS signs each attempt afresh: same body, new timestamp and signature.
    const again = await deliverWorkos(url, deleted, SECRET, { timestamp: Date.now() + 1_000 });
    expect(again).toMatchObject({ status: 200, body: { status: 'duplicate', deliveryId: deleted.id, events: 0 } });
    expect(await connectionSnapshot(t, c.connectionId)).toEqual(after);
    expect(committed.of(c.connectionId).length).toBe(eventsBefore);
  });

  it('ignores (2xx) events of another directory when the connection follows one directory', async () => {
    const c = await createVendorConnection(t, 'workos', config({ directoryId: 'directory_01OTHERDIRECTORY000000000000' }));
    const event = fixtureEvent('dsync.user.created');
    const r = await deliverWorkos(`${t.url}/webhooks/${c.connectionId}`, event, SECRET);
    expect(r).toMatchObject({ status: 200, body: { status: 'ignored', reason: expect.stringMatching(/directory_01JNQ7X4Y9Z3A6B0C5D7E1F2G3/) } });
    expect((await connectionSnapshot(t, c.connectionId)).users).toEqual([]);
  });

  it('acknowledges event types it does not model, and refuses a signed body that is not a WorkOS event with 400', async () => {
    const c = await createVendorConnection(t, 'workos', config());
    const url = `${t.url}/webhooks/${c.connectionId}`;
    const other = await deliverWorkos(url, workosEvent('authentication.sso_succeeded', { type: 'sso' }), SECRET);
    expect(other).toMatchObject({ status: 200, body: { status: 'ignored' } });
    const activated = await deliverWorkos(url, fixtureEvent('dsync.activated'), SECRET);
    expect(activated).toMatchObject({ status: 200, body: { status: 'ignored', reason: expect.stringMatching(/activated/) } });

    const notJson = await deliverWorkos(url, 'not json', SECRET);
    expect(notJson).toMatchObject({ status: 400, body: { error: 'invalid_payload' } });
    const broken = fixtureEvent('dsync.user.created');
    delete broken.data.directory_id;
    const missing = await deliverWorkos(url, broken, SECRET);
    expect(missing).toMatchObject({ status: 400, body: { message: expect.stringMatching(/directory_id/) } });
    expect((await connectionSnapshot(t, c.connectionId)).users).toEqual([]);
  });

  it('applies groups and memberships: created, renamed, user added and removed, deleted', async () => {
    const c = await createVendorConnection(t, 'workos', config());
    const url = `${t.url}/webhooks/${c.connectionId}`;
    for (const name of ['dsync.group.created', 'dsync.user.created', 'dsync.group.user_added']) {
      expect((await deliverWorkos(url, fixtureEvent(name), SECRET)).body.status, name).toMatch(/applied|noop/);
    }
    const group = await t.hub.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.connectionId, sourceId: 'directory_group_01JNQ8C4D7E0F3G6H9J2K5M8N1' } });
    expect(group).toMatchObject({ displayName: 'Finance', externalId: '00g8k2m9p4QrStUv1697', memberCount: 1 });

    await deliverWorkos(url, fixtureEvent('dsync.group.updated'), SECRET);
    expect((await t.hub.db.prisma.directoryGroup.findUniqueOrThrow({ where: { id: group.id } })).displayName).toBe('Finance & Treasury');

    await deliverWorkos(url, fixtureEvent('dsync.group.user_removed'), SECRET);
    const removed = await t.hub.db.prisma.groupMembership.findFirstOrThrow({ where: { groupId: group.id } });
    expect(removed.removedAt).not.toBeNull();

    await deliverWorkos(url, fixtureEvent('dsync.group.deleted'), SECRET);
    expect((await t.hub.db.prisma.directoryGroup.findUniqueOrThrow({ where: { id: group.id } })).deletedAt).not.toBeNull();
  });

  it('on dsync.deleted deletes the directory users and groups held here (and only those); "ignore" only acknowledges it', async () => {
    const organizationId = await createOrganization(t);
    const c = await createVendorConnection(t, 'workos', config(), { organizationId });
    const url = `${t.url}/webhooks/${c.connectionId}`;
    const directoryId = 'directory_01JNQ7X4Y9Z3A6B0C5D7E1F2G3';
    const kept = workosUser({ directoryId: 'directory_01KEEPKEEPKEEPKEEPKEEPKEEP00', email: 'kept@northwind.example', firstName: 'Kept', lastName: 'User' });
    for (const event of [
      fixtureEvent('dsync.user.created'),
      workosEvent('dsync.user.created', workosUser({ directoryId, email: 'second@northwind.example', firstName: 'Second', lastName: 'User' })),
      workosEvent('dsync.user.created', kept),
      fixtureEvent('dsync.group.created'),
    ]) expect((await deliverWorkos(url, event, SECRET)).status).toBe(200);

    const dsyncDeleted = workosEvent('dsync.deleted', fixtureEvent('dsync.deleted').data);
    const r = await deliverWorkos(url, dsyncDeleted, SECRET);
    expect(r.body.status).toBe('applied');
    const users = await t.hub.db.prisma.directoryUser.findMany({ where: { connectionId: c.connectionId }, orderBy: { email: 'asc' } });
    expect(users.map((u) => [u.email, u.state, u.sourceDeletedAt !== null])).toEqual([
      ['kept@northwind.example', 'ACTIVE', false],
      ['priya.raman@northwind.example', 'DEPROVISIONED', true],
      ['second@northwind.example', 'DEPROVISIONED', true],
    ]);
    expect((await t.hub.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.connectionId } })).deletedAt).not.toBeNull();

    const ignoring = await createVendorConnection(t, 'workos', config({ onDirectoryDeleted: 'ignore' }), { organizationId });
    const iurl = `${t.url}/webhooks/${ignoring.connectionId}`;
    await deliverWorkos(iurl, fixtureEvent('dsync.user.created'), SECRET);
    expect((await deliverWorkos(iurl, workosEvent('dsync.deleted', fixtureEvent('dsync.deleted').data), SECRET)).body.status).toBe('ignored');
    expect((await t.hub.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: ignoring.connectionId } })).state).toBe('ACTIVE');
  });

  it('with useEventsApi, a verified webhook only wakes the Events API reader and applies nothing itself', async () => {
    const c = await createVendorConnection(t, 'workos', config({ useEventsApi: true }));
    const url = `${t.url}/webhooks/${c.connectionId}`;
    const r = await deliverWorkos(url, fixtureEvent('dsync.user.created'), SECRET);
    expect(r).toMatchObject({ status: 200, body: { status: 'ignored', wake: true } });
    expect((await connectionSnapshot(t, c.connectionId)).users).toEqual([]);
    // Still verified first.
    const forged = await deliverWorkos(url, fixtureEvent('dsync.user.created'), 'wrong-secret');
    expect(forged.status).toBe(401);
  });

  it('refuses an invalid config with a GraphQL error naming the field', async () => {
    const organizationId = await createOrganization(t);
    const attempt = (cfg: unknown) =>
      t.gql(`mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "workos", name: "w", config: $c }) { connection { id } } }`, { o: organizationId, c: cfg });
    const cases: Array<[unknown, string, RegExp]> = [
      [{ apiKey: 'sk_test_1' }, 'config.webhookSecret', /signing secret/],
      [{ webhookSecret: 's', apiKey: 'pk_live_1' }, 'config.apiKey', /starts with "sk_"/],
      [{ webhookSecret: 's', apiKey: 'sk_1', apiBaseUrl: 'http://api.workos.com' }, 'config.apiBaseUrl', /https/],
      [{ webhookSecret: 's', apiKey: 'sk_1', apiBaseUrl: 'https://api.workos.com/v1' }, 'config.apiBaseUrl', /without a path/],
      [{ webhookSecret: 's', apiKey: 'sk_1', directoryId: 'dir_1' }, 'config.directoryId', /directory_/],
      [{ webhookSecret: 's', apiKey: 'sk_1', useEventsApi: 'yes' }, 'config.useEventsApi', /true or false/],
    ];
    for (const [cfg, field, message] of cases) {
      const r = await attempt(cfg);
      expect(r.errors?.[0]?.extensions, JSON.stringify(cfg)).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(r.errors?.[0]?.message).toMatch(message);
    }
  });
});

// Ids of generated payloads sort in creation order, like WorkOS's.
it('generates WorkOS-like ids in creation order', () => {
  const a = workosId('event');
  const b = workosId('event');
  expect(a < b).toBe(true);
  expect(workosGroup({ directoryId: 'directory_1', name: 'x' }).object).toBe('directory_group');
});
