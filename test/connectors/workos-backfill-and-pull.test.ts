// WorkOS backfill (directory listings) and pull (the ordered Events API) through the real
// @workos-inc/node SDK pointed at a stand-in of the WorkOS API on 127.0.0.1; the pages are applied
// through the lifecycle engine and the model is asserted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConnectionView } from '../../src/tenancy/connections.ts';
import { connectorContext } from '../../src/connectors/context.ts';
import type { ConnectorContext } from '../../src/connectors/contract.ts';
import workosConnector from '../../plugins/workos/index.ts';
import type { WorkosConfig } from '../../plugins/workos/config.ts';
import { createVendorConnection } from '../support/vendors/connections.ts';
import { startWorkosStandIn, workosEvent, workosFixture, workosGroup, workosId, workosUser, type WorkosStandIn } from '../support/vendors/workos.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

const API_KEY = 'sk_test_workos_standin';
const DIRECTORY = 'directory_01JNQ7X4Y9Z3A6B0C5D7E1F2G3';
const ORG = 'org_01JNQ7W3X8Y2Z5A9B4C6D0E1F2';

let t: TestHub;
let api: WorkosStandIn;
beforeAll(async () => {
  t = await startTestHub();
  api = await startWorkosStandIn({ apiKey: API_KEY });
});
afterAll(async () => {
  await api?.close();
  await t?.close();
});

function resetApi() {
  api.state.directories = [{ ...workosDirectory(DIRECTORY, ORG) }];
  api.state.users = [];
  api.state.groups = [];
  api.state.memberships = new Map();
  api.state.events = [];
  api.state.groupsDeprecated = false;
  api.requests.length = 0;
}

function workosDirectory(id: string, organizationId: string) {
  return { object: 'directory', id, domain: 'northwind.example', external_key: 'k', name: 'Northwind Okta', organization_id: organizationId, state: 'linked', type: 'okta scim v2.0', created_at: '2026-03-09T14:22:31.155Z', updated_at: '2026-03-09T14:22:31.155Z' };
}

async function connect(extra: Partial<WorkosConfig> = {}) {
  const c = await createVendorConnection(t, 'workos', { webhookSecret: 'unused-here', apiKey: API_KEY, apiBaseUrl: api.url, apiMaxRetries: 0, ...extra });
  const view = await loadConnectionView({ sql: t.hub.db.sql, box: t.hub.box }, c.connectionId);
  const connection = view!;
  const ctx = connectorContext({ sql: t.hub.db.sql, logger: t.hub.logger, outbound: t.hub.outbound.for(workosConnector) }, connection) as ConnectorContext<WorkosConfig>;
  const apply = (commands: Parameters<TestHub['hub']['engine']['execute']>[0]['commands'], deliveryId?: string) =>
    t.hub.engine.execute({ connectionId: c.connectionId, deliveryId, actor: { type: 'connection', connectionId: c.connectionId }, commands });
  return { ...c, ctx, apply };
}

/** A directory of `n` users and a few groups at the stand-in; returns their ids. */
function seedDirectory(n: number) {
  const groups = ['Finance', 'Engineering', 'All Staff'].map((name) => workosGroup({ directoryId: DIRECTORY, organizationId: ORG, name }));
  const users = Array.from({ length: n }, (_, i) =>
    workosUser({ directoryId: DIRECTORY, organizationId: ORG, email: `person${i}@northwind.example`, firstName: `Person${i}`, lastName: 'Example', state: i === 3 ? 'inactive' : 'active' }),
  );
  api.state.groups.push(...groups);
  api.state.users.push(...users);
  api.state.memberships.set(groups[0]!.id, new Set(users.slice(0, 2).map((u) => u.id)));
  api.state.memberships.set(groups[1]!.id, new Set(users.slice(2, 5).map((u) => u.id)));
  api.state.memberships.set(groups[2]!.id, new Set(users.map((u) => u.id)));
  return { groups, users };
}

describe('WorkOS backfill through directorySync.listGroups / listUsers', () => {
  it('imports every user (paged), deprovisions inactive ones, and imports groups with the members each group lists', async () => {
    resetApi();
    const { groups, users } = seedDirectory(105);
    const c = await connect({ directoryId: DIRECTORY });
    const seen: string[] = [];
    let pages = 0;
    for await (const page of workosConnector.backfill!(c.ctx)) {
      pages++;
      seen.push(...page.seenUserSourceIds);
      await c.apply(page.commands);
    }
    expect(seen.sort()).toEqual(users.map((u) => u.id).sort());
    // 1 page of groups, 2 of users (100 + 5), 1 per group for memberships.
    expect(pages).toBe(6);

    const stored = await t.hub.db.prisma.directoryUser.findMany({ where: { connectionId: c.connectionId } });
    expect(stored).toHaveLength(105);
    const byEmail = new Map(stored.map((u) => [u.email, u]));
    expect(byEmail.get('person3@northwind.example')?.state).toBe('DEPROVISIONED');
    expect(byEmail.get('person0@northwind.example')).toMatchObject({ state: 'ACTIVE', givenName: 'Person0', familyName: 'Example', displayName: 'Person0 Example', externalId: expect.stringMatching(/^idp-/) });

    const storedGroups = await t.hub.db.prisma.directoryGroup.findMany({ where: { connectionId: c.connectionId }, orderBy: { displayName: 'asc' } });
    // person3 is deprovisioned: its memberships are held but suspended, so not counted.
    expect(storedGroups.map((g) => [g.displayName, g.memberCount])).toEqual([['All Staff', 104], ['Engineering', 2], ['Finance', 2]]);

    // What the SDK sent: bearer key, directory listings paged with `after`, then members per group.
    const userListings = api.requestsTo('/directory_users', 'GET');
    expect(userListings.every((r) => r.headers.get('authorization') === `Bearer ${API_KEY}`)).toBe(true);
    expect(userListings.filter((r) => r.query.get('directory') === DIRECTORY).map((r) => r.query.get('after'))).toEqual([null, expect.stringMatching(/^directory_user_/)]);
    expect(new Set(userListings.filter((r) => r.query.get('group')).map((r) => r.query.get('group')))).toEqual(new Set(groups.map((g) => g.id)));
  });

  it('still imports memberships when WorkOS serves users with groups: [] (deprecated for teams created since 2026-05-01)', async () => {
    resetApi();
    seedDirectory(6);
    api.state.groupsDeprecated = true;
    const c = await connect({ directoryId: DIRECTORY });
    for await (const page of workosConnector.backfill!(c.ctx)) await c.apply(page.commands);
    const storedGroups = await t.hub.db.prisma.directoryGroup.findMany({ where: { connectionId: c.connectionId }, orderBy: { displayName: 'asc' } });
    expect(storedGroups.map((g) => [g.displayName, g.memberCount])).toEqual([['All Staff', 5], ['Engineering', 2], ['Finance', 2]]);
  });

  it('without a directoryId, lists the directories the key sees (narrowed by organizationId) and backfills each', async () => {
    resetApi();
    seedDirectory(3);
    const other = 'directory_01OTHER00000000000000000000';
    api.state.directories.push(workosDirectory(other, 'org_01OTHERORG0000000000000000'));
    api.state.users.push(workosUser({ directoryId: other, organizationId: 'org_01OTHERORG0000000000000000', email: 'elsewhere@other.example', firstName: 'Else', lastName: 'Where' }));
    const c = await connect({ organizationId: ORG });
    for await (const page of workosConnector.backfill!(c.ctx)) await c.apply(page.commands);
    const emails = (await t.hub.db.prisma.directoryUser.findMany({ where: { connectionId: c.connectionId } })).map((u) => u.email);
    expect(emails).toHaveLength(3);
    expect(emails).not.toContain('elsewhere@other.example');
    expect(api.requestsTo('/directories')[0]!.query.get('organization_id')).toBe(ORG);
  });

  it('agrees with what the webhooks stored: a backfill after the same state changes nothing', async () => {
    resetApi();
    const c = await connect({ directoryId: DIRECTORY });
    // The fixture user as a webhook would deliver it, then the same user listed by the API.
    const created = workosFixture('dsync.user.created');
    await c.apply((await workosConnector.inbound!(await signedRequest(created), { ...c.ctx, connection: { ...c.ctx.connection, config: { ...c.ctx.connection.config, webhookSecret: 'unused-here' } } }) as unknown as { commands: never[] }).commands);
    const before = await t.hub.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: c.connectionId } });
    api.state.users.push(created.data);
    for await (const page of workosConnector.backfill!(c.ctx)) await c.apply(page.commands);
    const after = await t.hub.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: c.connectionId } });
    expect(after.version).toBe(before.version);
    expect(await t.hub.db.prisma.lifecycleEvent.count({ where: { connectionId: c.connectionId, type: 'user.updated' } })).toBe(0);
  });

  it('surfaces a WorkOS API failure as an error, having applied only the pages before it', async () => {
    resetApi();
    seedDirectory(3);
    const c = await connect({ directoryId: DIRECTORY });
    api.failNext('/directory_users', 503);
    const applied: number[] = [];
    await expect(
      (async () => {
        for await (const page of workosConnector.backfill!(c.ctx)) applied.push((await c.apply(page.commands)).results.length);
      })(),
    ).rejects.toThrow();
    expect(applied).toEqual([3]); // the groups page only
    expect(await t.hub.db.prisma.directoryUser.count({ where: { connectionId: c.connectionId } })).toBe(0);
  });
});

describe('WorkOS pull through events.listEvents (useEventsApi)', () => {
  it('reads the feed in order from its cursor, pages with `after`, and converges to the directory state', async () => {
    resetApi();
    const c = await connect({ directoryId: DIRECTORY, useEventsApi: true });
    const group = workosGroup({ directoryId: DIRECTORY, organizationId: ORG, name: 'Finance', updatedAt: '2026-03-10T10:00:00.000Z' });
    const ada = workosUser({ directoryId: DIRECTORY, organizationId: ORG, email: 'ada@northwind.example', firstName: 'Ada', lastName: 'Lovelace', updatedAt: '2026-03-10T10:00:01.000Z' });
    const alan = workosUser({ directoryId: DIRECTORY, organizationId: ORG, email: 'alan@northwind.example', firstName: 'Alan', lastName: 'Turing', updatedAt: '2026-03-10T10:00:02.000Z' });
    const at = (s: number) => new Date(Date.parse('2026-03-10T10:00:00.000Z') + s * 1000).toISOString();
    api.state.events.push(
      workosEvent('dsync.group.created', group, { createdAt: at(0) }),
      workosEvent('dsync.user.created', ada, { createdAt: at(1) }),
      workosEvent('dsync.user.created', alan, { createdAt: at(2) }),
      workosEvent('dsync.group.user_added', { directory_id: DIRECTORY, user: ada, group }, { createdAt: at(3) }),
      workosEvent('dsync.group.user_added', { directory_id: DIRECTORY, user: alan, group }, { createdAt: at(4) }),
      // Another directory in the same environment: not this connection's.
      workosEvent('dsync.user.created', workosUser({ directoryId: 'directory_01ELSEWHERE000000000000000', email: 'x@else.example', firstName: 'X', lastName: 'Y' }), { createdAt: at(5) }),
      // Ada leaves (secure flow).
      workosEvent('dsync.user.deleted', { ...ada, state: 'inactive', updated_at: at(6) }, { createdAt: at(6) }),
      ...Array.from({ length: 110 }, (_, i) => workosEvent('dsync.user.updated', { ...alan, updated_at: at(10 + i), custom_attributes: { department: `D${i}` } }, { createdAt: at(10 + i) })),
    );

    let cursor: string | null = null;
    const pages: Array<{ deliveryId?: string; cursor: string | null; hasMore: boolean }> = [];
    for (;;) {
      const page = await workosConnector.pull!(cursor, c.ctx);
      pages.push(page);
      await c.apply(page.commands, page.deliveryId);
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    expect(pages).toHaveLength(2);
    expect(cursor).toBe(api.state.events.at(-1)!.id);

    const users = await t.hub.db.prisma.directoryUser.findMany({ where: { connectionId: c.connectionId }, orderBy: { email: 'asc' } });
    expect(users.map((u) => [u.email, u.state])).toEqual([
      ['ada@northwind.example', 'DEPROVISIONED'],
      ['alan@northwind.example', 'ACTIVE'],
    ]);
    expect(users[1]!.customAttributes).toEqual({ department: 'D109' });
    const g = await t.hub.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.connectionId } });
    expect(g.memberCount).toBe(1);

    const listings = api.requestsTo('/events');
    expect(listings.map((r) => r.query.get('after'))).toEqual([null, pages[0]!.cursor]);
    expect(listings[0]!.query.get('events')).toBe('dsync.activated,dsync.deleted,dsync.user.created,dsync.user.updated,dsync.user.deleted,dsync.group.created,dsync.group.updated,dsync.group.deleted,dsync.group.user_added,dsync.group.user_removed');
    expect(listings[0]!.query.get('limit')).toBe('100');

    // Nothing newer: an empty page keeps the cursor.
    const idle = await workosConnector.pull!(cursor, c.ctx);
    expect(idle).toMatchObject({ commands: [], cursor, hasMore: false });
    // A page read again (crash before the cursor was saved) is a duplicate delivery.
    const again = await workosConnector.pull!(null, c.ctx);
    expect(again.deliveryId).toBe(pages[0]!.deliveryId);
    expect((await c.apply(again.commands, again.deliveryId)).status).toBe('duplicate');

    // New events after the cursor are read from there.
    api.state.events.push(workosEvent('dsync.user.updated', { ...alan, state: 'inactive', updated_at: at(500) }, { createdAt: at(500) }));
    const next = await workosConnector.pull!(cursor, c.ctx);
    expect(next.commands).toHaveLength(1);
    await c.apply(next.commands, next.deliveryId);
    expect((await t.hub.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: c.connectionId, email: 'alan@northwind.example' } })).state).toBe('DEPROVISIONED');
  });

  it('applies dsync.deleted from the feed to the users and groups held and to those created earlier in the same page', async () => {
    resetApi();
    const c = await connect({ directoryId: DIRECTORY, useEventsApi: true });
    const held = workosUser({ directoryId: DIRECTORY, organizationId: ORG, email: 'held@northwind.example', firstName: 'Held', lastName: 'Before', updatedAt: '2026-03-10T09:00:00.000Z' });
    api.state.events.push(workosEvent('dsync.user.created', held, { createdAt: '2026-03-10T09:00:00.000Z' }));
    const first = await workosConnector.pull!(null, c.ctx);
    await c.apply(first.commands, first.deliveryId);

    const fresh = workosUser({ directoryId: DIRECTORY, organizationId: ORG, email: 'fresh@northwind.example', firstName: 'Fresh', lastName: 'Join', updatedAt: '2026-03-10T10:00:00.000Z' });
    const team = workosGroup({ directoryId: DIRECTORY, organizationId: ORG, name: 'Team', updatedAt: '2026-03-10T10:00:00.000Z' });
    api.state.events.push(
      workosEvent('dsync.user.created', fresh, { createdAt: '2026-03-10T10:00:00.000Z' }),
      workosEvent('dsync.group.created', team, { createdAt: '2026-03-10T10:00:01.000Z' }),
      workosEvent('dsync.deleted', { ...workosFixture('dsync.deleted').data, id: DIRECTORY }, { createdAt: '2026-03-10T11:00:00.000Z' }),
    );
    const page = await workosConnector.pull!(first.cursor, c.ctx);
    await c.apply(page.commands, page.deliveryId);
    const users = await t.hub.db.prisma.directoryUser.findMany({ where: { connectionId: c.connectionId }, orderBy: { email: 'asc' } });
    expect(users.map((u) => [u.email, u.state, u.sourceDeletedAt !== null])).toEqual([
      ['fresh@northwind.example', 'DEPROVISIONED', true],
      ['held@northwind.example', 'DEPROVISIONED', true],
    ]);
    expect((await t.hub.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.connectionId } })).deletedAt).not.toBeNull();
  });

  it('applies a group deleted in the feed before the removals of its members without stalling the feed', async () => {
    resetApi();
    const c = await connect({ directoryId: DIRECTORY, useEventsApi: true });
    const group = workosGroup({ directoryId: DIRECTORY, organizationId: ORG, name: 'Temp', updatedAt: '2026-03-10T10:00:00.000Z' });
    const user = workosUser({ directoryId: DIRECTORY, organizationId: ORG, email: 'temp@northwind.example', firstName: 'Temp', lastName: 'Member', updatedAt: '2026-03-10T10:00:00.000Z' });
    api.state.events.push(
      workosEvent('dsync.group.user_added', { directory_id: DIRECTORY, user, group }, { createdAt: '2026-03-10T10:00:01.000Z' }),
      workosEvent('dsync.group.deleted', { ...group, updated_at: '2026-03-10T10:00:02.000Z' }, { createdAt: '2026-03-10T10:00:02.000Z' }),
      workosEvent('dsync.group.user_removed', { directory_id: DIRECTORY, user, group }, { createdAt: '2026-03-10T10:00:03.000Z' }),
    );
    const page = await workosConnector.pull!(null, c.ctx);
    expect((await c.apply(page.commands, page.deliveryId)).status).toBe('applied');
    const g = await t.hub.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.connectionId } });
    expect(g.deletedAt).not.toBeNull();
  });
});

// A webhook request as WorkOS sends it (for the backfill-after-webhook comparison).
async function signedRequest(event: unknown) {
  const { signWorkosDelivery } = await import('../support/vendors/workos.ts');
  const body = JSON.stringify(event);
  return { method: 'POST', url: 'http://hub/webhooks/x', headers: new Headers(signWorkosDelivery(body, 'unused-here')), rawBody: body };
}

it('uses ids that sort like WorkOS ULIDs in the stand-in', () => {
  expect(workosId('directory_user') < workosId('directory_user')).toBe(true);
});
