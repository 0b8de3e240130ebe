// Stytch backfill (organizations.members.search, scim.connection.getGroups) and revoke
// (sessions.revoke) through the real `stytch` SDK pointed at a stand-in of the Stytch API on
// 127.0.0.1; pages are applied through the lifecycle engine and the model is asserted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConnectionView } from '../../src/tenancy/connections.ts';
import { connectorContext } from '../../src/connectors/context.ts';
import type { ConnectorContext } from '../../src/connectors/contract.ts';
import stytchConnector from '../../plugins/stytch/index.ts';
import type { StytchConfig } from '../../plugins/stytch/config.ts';
import { createVendorConnection } from '../support/vendors/connections.ts';
import {
  TEST_ORGANIZATION,
  TEST_PROJECT,
  TEST_SCIM_CONNECTION,
  deliverStytch,
  startStytchStandIn,
  stytchFixture,
  stytchMember,
  stytchOrganization,
  svixSecret,
  type StytchStandIn,
} from '../support/vendors/stytch.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

const PROJECT_SECRET = 'secret-test-standin0123456789';
const WEBHOOK_SECRET = svixSecret();

let t: TestHub;
let api: StytchStandIn;
beforeAll(async () => {
  t = await startTestHub();
  api = await startStytchStandIn({ projectId: TEST_PROJECT, secret: PROJECT_SECRET });
});
afterAll(async () => {
  await api?.close();
  await t?.close();
});

function resetApi() {
  api.state.organizations = new Map([[TEST_ORGANIZATION, stytchOrganization()]]);
  api.state.members = [];
  api.state.scimGroups = [];
  api.state.sessions = [];
  api.state.pageSizeCap = 1000;
  api.requests.length = 0;
}

async function connect() {
  const c = await createVendorConnection(t, 'stytch', {
    webhookSigningSecret: WEBHOOK_SECRET,
    projectId: TEST_PROJECT,
    secret: PROJECT_SECRET,
    stytchOrganizationId: TEST_ORGANIZATION,
    apiBaseUrl: api.url,
  });
  const view = await loadConnectionView({ sql: t.hub.db.sql, box: t.hub.box }, c.connectionId);
  const connection = view!;
  const ctx = connectorContext({ sql: t.hub.db.sql, logger: t.hub.logger, outbound: t.hub.outbound.for(stytchConnector) }, connection) as ConnectorContext<StytchConfig>;
  const apply = (commands: Parameters<TestHub['hub']['engine']['execute']>[0]['commands'], deliveryId?: string) =>
    t.hub.engine.execute({ connectionId: c.connectionId, deliveryId, actor: { type: 'connection', connectionId: c.connectionId }, commands });
  const backfill = async () => {
    const pages = [];
    for await (const page of stytchConnector.backfill!(ctx)) {
      pages.push(page);
      await apply(page.commands);
    }
    return pages;
  };
  return { ...c, ctx, apply, backfill };
}

const group = (id: string, name: string) => ({ group_id: id, group_name: name, organization_id: TEST_ORGANIZATION, connection_id: TEST_SCIM_CONNECTION });

describe('Stytch backfill through organizations.members.search', () => {
  it('imports members page by page (cursor), SCIM groups and the memberships members list; reports the total', async () => {
    resetApi();
    api.state.pageSizeCap = 25;
    const finance = group('scim-group-test-finance', 'Finance');
    const eng = group('scim-group-test-engineering', 'Engineering');
    api.state.scimGroups.push(finance, eng);
    for (let i = 0; i < 60; i++) {
      api.state.members.push(
        stytchMember({
          email: `m${i}@northwind.example`,
          name: `Member ${i}`,
          status: i === 7 ? 'invited' : 'active',
          updatedAt: '2026-03-10T10:00:00Z',
          groups: i < 3 ? [{ id: finance.group_id, name: 'Finance' }] : i < 5 ? [{ id: eng.group_id, name: 'Engineering' }] : [],
          scim: i !== 9,
        }),
      );
    }
    // Another organization's member (a search filtered by organization never returns it; the connector checks anyway).
    api.state.members.push(stytchMember({ organizationId: 'organization-test-99999999-9999-4999-8999-999999999999', email: 'other@else.example', name: 'Else' }));

    const c = await connect();
    const pages = await c.backfill();
    const memberPages = pages.filter((p) => p.seenUserSourceIds.length);
    expect(memberPages).toHaveLength(3);
    expect(memberPages[0]!.total).toBe(60);
    expect(memberPages.flatMap((p) => p.seenUserSourceIds)).toHaveLength(60);

    const users = await t.hub.db.prisma.directoryUser.findMany({ where: { connectionId: c.connectionId } });
    expect(users).toHaveLength(60);
    expect(users.every((u) => u.state === 'ACTIVE')).toBe(true);
    const groups = await t.hub.db.prisma.directoryGroup.findMany({ where: { connectionId: c.connectionId }, orderBy: { displayName: 'asc' } });
    expect(groups.map((g) => [g.displayName, g.memberCount])).toEqual([['Engineering', 2], ['Finance', 3]]);

    // What the SDK sent: Basic auth, the organization, every status, the cursor it was given.
    const searches = api.requestsTo('/v1/b2b/organizations/members/search', 'POST');
    expect(searches).toHaveLength(3);
    expect(searches[0]!.headers.get('authorization')).toBe(`Basic ${Buffer.from(`${TEST_PROJECT}:${PROJECT_SECRET}`).toString('base64')}`);
    const bodies = searches.map((r) => JSON.parse(r.body));
    expect(bodies[0]).toEqual({ organization_ids: [TEST_ORGANIZATION], limit: 500, query: { operator: 'AND', operands: [{ filter_name: 'statuses', filter_value: ['active', 'invited', 'pending', 'deleted'] }] } });
    expect(bodies[1].cursor).toEqual(expect.any(String));
    expect(bodies[2].cursor).not.toBe(bodies[1].cursor);
    expect(api.requestsTo(`/v1/b2b/scim/${TEST_ORGANIZATION}/connection/${TEST_SCIM_CONNECTION}`, 'GET')).toHaveLength(1);
  });

  it('deprovisions members the listing shows deleted, and creates no tombstone for deleted ones it never held', async () => {
    resetApi();
    const stays = stytchMember({ email: 'stays@northwind.example', name: 'Stays Here', updatedAt: '2026-03-10T10:00:00Z' });
    const leaves = stytchMember({ email: 'leaves@northwind.example', name: 'Leaves Soon', updatedAt: '2026-03-10T10:00:00Z' });
    api.state.members.push(stays, leaves);
    const c = await connect();
    await c.backfill();
    const leaver = await t.hub.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: c.connectionId, sourceId: leaves.member_id } });
    const { registerSession } = await t.gqlOk(`mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "s-1" }) { session { id } } }`, { u: leaver.id });

    Object.assign(leaves, { status: 'deleted', updated_at: '2026-03-11T10:00:00Z' });
    const ghost = stytchMember({ email: 'ghost@northwind.example', name: 'Never Seen', status: 'deleted', updatedAt: '2026-03-11T10:00:00Z' });
    api.state.members.push(ghost);
    const pages = await c.backfill();
    expect(pages[0]!.seenUserSourceIds).toEqual([stays.member_id]);

    const after = await t.hub.db.prisma.directoryUser.findFirstOrThrow({ where: { id: leaver.id } });
    expect(after.state).toBe('DEPROVISIONED');
    expect(after.sourceDeletedAt).not.toBeNull();
    expect((await t.hub.db.prisma.session.findUniqueOrThrow({ where: { id: registerSession.session.id } })).revokedAt).not.toBeNull();
    expect(await t.hub.db.prisma.directoryUser.count({ where: { connectionId: c.connectionId, sourceId: ghost.member_id } })).toBe(0);
  });

  it('agrees with what the webhooks stored: a backfill of the same member changes nothing', async () => {
    resetApi();
    const c = await connect();
    const created = stytchFixture('scim.member.create');
    await deliverStytch(`${t.url}/webhooks/${c.connectionId}`, created, WEBHOOK_SECRET);
    const before = await t.hub.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: c.connectionId } });
    api.state.members.push(created.member);
    await c.backfill();
    const after = await t.hub.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: c.connectionId } });
    expect(after.version).toBe(before.version);
    expect(await t.hub.db.prisma.lifecycleEvent.count({ where: { connectionId: c.connectionId, type: 'user.updated' } })).toBe(0);
  });

  it('surfaces a Stytch API failure as a summary of its answer, having applied nothing', async () => {
    resetApi();
    api.state.members.push(stytchMember({ email: 'x@northwind.example', name: 'X Y' }));
    const c = await connect();
    api.failNext('/v1/b2b/organizations/members/search', 500);
    await expect(c.backfill()).rejects.toThrow(/^Stytch answered HTTP 500, internal_server_error \(request id request-id-test-[\w-]+\) while searching members$/);
    expect(await t.hub.db.prisma.directoryUser.count({ where: { connectionId: c.connectionId } })).toBe(0);
  });
});

describe('Stytch revoke through sessions.revoke', () => {
  it('revokes one session by member_session_id, every session of a member by member_id, and takes "already gone" (404) as done', async () => {
    resetApi();
    const member = stytchMember({ email: 'r@northwind.example', name: 'Re Voke' });
    api.state.members.push(member);
    api.state.sessions.push(
      { member_session_id: 'member-session-test-1', member_id: member.member_id, organization_id: TEST_ORGANIZATION },
      { member_session_id: 'member-session-test-2', member_id: member.member_id, organization_id: TEST_ORGANIZATION },
      { member_session_id: 'member-session-test-3', member_id: member.member_id, organization_id: TEST_ORGANIZATION },
    );
    const c = await connect();
    const user = { id: '00000000-0000-7000-8000-000000000001', sourceId: member.member_id };

    await stytchConnector.revoke!({ type: 'session', id: 'x', externalRef: 'member-session-test-1', user }, c.ctx);
    expect(api.state.sessions.map((s) => s.member_session_id)).toEqual(['member-session-test-2', 'member-session-test-3']);
    await stytchConnector.revoke!({ type: 'user', user }, c.ctx);
    expect(api.state.sessions).toEqual([]);
    expect(api.requestsTo('/v1/b2b/sessions/revoke', 'POST').map((r) => JSON.parse(r.body))).toEqual([{ member_session_id: 'member-session-test-1' }, { member_id: member.member_id }]);

    // Revoking what is already gone succeeds (the retry of a revocation that did go through).
    await expect(stytchConnector.revoke!({ type: 'session', id: 'x', externalRef: 'member-session-test-1', user }, c.ctx)).resolves.toBeUndefined();
    // A failure to retry is thrown.
    api.failNext('/v1/b2b/sessions/revoke', 503);
    await expect(stytchConnector.revoke!({ type: 'user', user }, c.ctx)).rejects.toThrow(/^Stytch answered HTTP 503/);
    await expect(stytchConnector.revoke!({ type: 'credential', id: 'c', kind: 'api_key', externalRef: 'k', user }, c.ctx)).rejects.toThrow(/no api_key credentials/);
  });

  it('revokes upstream a Stytch-owned session the hub marked PENDING when a webhook deprovisioned its member', async () => {
    resetApi();
    const c = await connect();
    const created = stytchFixture('scim.member.create');
    api.state.members.push(created.member);
    api.state.sessions.push({ member_session_id: 'member-session-test-live', member_id: created.member.member_id, organization_id: TEST_ORGANIZATION });
    await deliverStytch(`${t.url}/webhooks/${c.connectionId}`, created, WEBHOOK_SECRET);
    // A session the Stytch connection owns (as a connector that reports sessions would register it).
    await c.apply([{ type: 'registerSession', user: { sourceId: created.member.member_id }, externalRef: 'member-session-test-live' }]);
    await deliverStytch(`${t.url}/webhooks/${c.connectionId}`, stytchFixture('scim.member.delete'), WEBHOOK_SECRET);

    const session = await t.hub.db.prisma.session.findFirstOrThrow({ where: { externalRef: 'member-session-test-live' }, include: { user: true } });
    expect(session.revokedAt).not.toBeNull();
    expect(session.revocationStatus).toBe('PENDING');
    // What a revocation worker does with it:
    await stytchConnector.revoke!({ type: 'session', id: session.id, externalRef: session.externalRef, user: { id: session.userId, sourceId: session.user.sourceId } }, c.ctx);
    expect(api.state.sessions).toEqual([]);
  });
});
