// The GraphQL API over real HTTP: every operation the foundation issue fixes, with the admin key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { printedSchema } from '../../src/graphql/schema.ts';
import { testConnector } from '../support/engine-fixture.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ connectors: [testConnector] });
});
afterAll(async () => {
  await t?.close();
});

async function seed(slug: string) {
  const { createOrganization } = await t.gqlOk(`mutation($s: String!) { createOrganization(input: { name: "Org", slug: $s }) { organization { id name slug } } }`, { s: slug });
  const orgId = createOrganization.organization.id as string;
  const { createDirectoryConnection } = await t.gqlOk(
    `mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "test", name: "Okta" }) {
       connection { id provider status testMode scimBaseUrl webhookUrl } secret } }`,
    { o: orgId },
  );
  const connectionId = createDirectoryConnection.connection.id as string;
  await t.hub.engine.execute({
    connectionId,
    actor: { type: 'connection', connectionId },
    commands: [
      { type: 'upsertUser', sourceId: 'u1', profile: { userName: 'ada@example.com', email: 'ada@example.com', displayName: 'Ada Lovelace', externalId: 'ext-ada' } },
      { type: 'upsertUser', sourceId: 'u2', profile: { userName: 'alan@example.com', email: 'alan@example.com', displayName: 'Alan Turing' } },
      { type: 'upsertGroup', sourceId: 'g1', displayName: 'Admins' },
      { type: 'addMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u1' }] },
    ],
  });
  const users = await t.hub.db.prisma.directoryUser.findMany({ where: { connectionId }, orderBy: { sourceId: 'asc' } });
  const group = await t.hub.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId } });
  return { orgId, connectionId, ada: users[0]!, alan: users[1]!, groupId: group.id };
}

describe('authentication', () => {
  it('refuses a request without a key with UNAUTHENTICATED and HTTP 401', async () => {
    const r = await t.gql('{ organizations { id } }', undefined, null);
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a wrong key the same way', async () => {
    const r = await t.gql('{ organizations { id } }', undefined, 'lhk_not-a-real-key');
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('does not let an organization key create organizations', async () => {
    const { orgId } = await seed('auth-forbidden');
    const { createApiKey } = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "ci" }) { apiKey { id } secret } }`, { o: orgId });
    const r = await t.gql(`mutation { createOrganization(input: { name: "X", slug: "x-by-org" }) { organization { id } } }`, undefined, createApiKey.secret);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('operations', () => {
  it('serves the organization query with users, groups and roles as Relay connections', async () => {
    const { orgId, connectionId, groupId } = await seed('ops-query');
    await t.gqlOk(`mutation($g: ID!) { setGroupMapping(input: { groupId: $g, role: "admin" }) { mapping { id role workspace } } }`, { g: groupId });
    const data = await t.gqlOk(
      `query($id: ID!) { organization(id: $id) {
        id name slug
        connections { id provider status lastSyncedAt }
        users(first: 1) { totalCount pageInfo { hasNextPage endCursor }
          edges { cursor node { id externalId userName email displayName state deprovisionedAt roles groups { id displayName } } } }
        groups(first: 10) { totalCount edges { node { id displayName memberCount } } } } }`,
      { id: orgId },
    );
    const org = data.organization;
    // Its commands went to the engine directly: the hub never heard from the source itself.
    expect(org.connections).toEqual([expect.objectContaining({ id: connectionId, provider: 'test', status: 'AWAITING_FIRST_REQUEST' })]);
    expect(org.users.totalCount).toBe(2);
    expect(org.users.pageInfo.hasNextPage).toBe(true);
    expect(org.users.edges[0].node).toMatchObject({ userName: 'ada@example.com', state: 'ACTIVE', roles: ['admin'], groups: [{ id: groupId, displayName: 'Admins' }] });
    const next = await t.gqlOk(`query($id: ID!, $after: String) { organization(id: $id) { users(first: 5, after: $after) { edges { node { userName roles } } } } }`, { id: orgId, after: org.users.pageInfo.endCursor });
    expect(next.organization.users.edges.map((e: any) => e.node)).toEqual([{ userName: 'alan@example.com', roles: ['member'] }]);
    expect(org.groups).toEqual({ totalCount: 1, edges: [{ node: { id: groupId, displayName: 'Admins', memberCount: 1 } }] });
  });

  it('searches users and filters by state', async () => {
    const { orgId } = await seed('ops-search');
    const data = await t.gqlOk(`query($id: ID!) { organization(id: $id) { users(search: "TURING") { totalCount edges { node { displayName } } } } }`, { id: orgId });
    expect(data.organization.users).toEqual({ totalCount: 1, edges: [{ node: { displayName: 'Alan Turing' } }] });
    const none = await t.gqlOk(`query($id: ID!) { organization(id: $id) { users(state: DEPROVISIONED) { totalCount } } }`, { id: orgId });
    expect(none.organization.users.totalCount).toBe(0);
  });

  it('pauses, resumes and switches a connection to test mode', async () => {
    const { connectionId } = await seed('ops-pause');
    const paused = await t.gqlOk(`mutation($c: ID!) { pauseConnection(input: { connectionId: $c }) { connection { id status } } }`, { c: connectionId });
    expect(paused.pauseConnection.connection.status).toBe('PAUSED');
    await expect(t.hub.engine.execute({ connectionId, actor: { type: 'connection', connectionId }, commands: [{ type: 'upsertUser', sourceId: 'x', profile: {} }] })).rejects.toMatchObject({ code: 'CONNECTION_PAUSED' });
    const resumed = await t.gqlOk(`mutation($c: ID!) { resumeConnection(input: { connectionId: $c }) { connection { status } } }`, { c: connectionId });
    // Resumed to where it was: never heard from (its source never sent a request), so awaiting the first.
    expect(resumed.resumeConnection.connection.status).toBe('AWAITING_FIRST_REQUEST');
    const test = await t.gqlOk(`mutation($c: ID!) { setConnectionTestMode(input: { connectionId: $c, testMode: true }) { connection { testMode } } }`, { c: connectionId });
    expect(test.setConnectionTestMode.connection.testMode).toBe(true);
  });

  it('deprovisions by hand with the key as the audited actor, then reactivates', async () => {
    const { ada } = await seed('ops-deprovision');
    const { registerSession } = await t.gqlOk(`mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "web-1" }) { session { id } } }`, { u: ada.id });
    const { registerCredential } = await t.gqlOk(`mutation($u: ID!) { registerCredential(input: { userId: $u, kind: personal_access_token, externalRef: "pat-9" }) { credential { id } } }`, { u: ada.id });
    const sessionId = registerSession.session.id;
    expect((await t.gqlOk(`query($s: ID!) { accessCheck(sessionId: $s) { allowed reason } }`, { s: sessionId })).accessCheck.allowed).toBe(true);

    const { deprovisionUser } = await t.gqlOk(`mutation($u: ID!) { deprovisionUser(input: { userId: $u, reason: "security incident" }) { user { id state } warnings } }`, { u: ada.id });
    expect(deprovisionUser.user.state).toBe('DEPROVISIONED');

    const check = await t.gqlOk(`query($s: ID!, $u: ID!) { bySession: accessCheck(sessionId: $s) { allowed reason } byUser: accessCheck(userId: $u) { allowed } }`, { s: sessionId, u: ada.id });
    expect(check.bySession.allowed).toBe(false);
    expect(check.byUser.allowed).toBe(false);

    const { user } = await t.gqlOk(`query($u: ID!) { user(id: $u) { id state sessions { id revokedAt } credentials { id kind revokedAt } auditTrail { id action at hash actorType } } }`, { u: ada.id });
    expect(user.sessions).toEqual([{ id: sessionId, revokedAt: expect.any(String) }]);
    expect(user.credentials).toEqual([{ id: registerCredential.credential.id, kind: 'personal_access_token', revokedAt: expect.any(String) }]);
    const deprovisionRow = user.auditTrail.find((a: any) => a.action === 'user.deprovisioned');
    expect(deprovisionRow).toMatchObject({ actorType: 'admin', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const { reactivateUser } = await t.gqlOk(`mutation($u: ID!) { reactivateUser(input: { userId: $u }) { user { id state } } }`, { u: ada.id });
    expect(reactivateUser.user.state).toBe('ACTIVE');
  });

  it('reports engine refusals as GraphQL errors with codes', async () => {
    const { groupId } = await seed('ops-errors');
    const r = await t.gql(`mutation($g: ID!) { setGroupMapping(input: { groupId: $g, role: "owner" }) { mapping { id } } }`, { g: groupId });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'role' });
    const dup = await t.gql(`mutation { createOrganization(input: { name: "Org", slug: "ops-errors" }) { organization { id } } }`);
    expect(dup.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'slug' });
    const badProvider = await t.gql(`mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "nope", name: "x" }) { connection { id } } }`, { o: (await seed('ops-errors-2')).orgId });
    expect(badProvider.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'provider' });
  });
});

describe('tenant isolation', () => {
  it('an organization key sees nothing of another organization, by id or by list', async () => {
    const a = await seed('iso-a');
    const b = await seed('iso-b');
    const { createApiKey } = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "a" }) { apiKey { id } secret } }`, { o: a.orgId });
    const keyA = createApiKey.secret as string;

    const own = await t.gqlOk(`query($id: ID!) { organization(id: $id) { id users { totalCount } } }`, { id: a.orgId }, keyA);
    expect(own.organization.users.totalCount).toBe(2);
    const list = await t.gqlOk('{ organizations { id } }', undefined, keyA);
    expect(list.organizations).toEqual([{ id: a.orgId }]);

    const reads: Array<[string, Record<string, unknown>]> = [
      ['query($id: ID!) { organization(id: $id) { id } }', { id: b.orgId }],
      ['query($id: ID!) { user(id: $id) { id } }', { id: b.ada.id }],
      ['query($id: ID!) { group(id: $id) { id } }', { id: b.groupId }],
      ['query($id: ID!) { accessCheck(userId: $id) { allowed } }', { id: b.ada.id }],
    ];
    for (const [query, variables] of reads) {
      const r = await t.gql(query, variables, keyA);
      expect(r.errors?.[0]?.extensions?.code, query).toBe('NOT_FOUND');
    }
    const writes: Array<[string, Record<string, unknown>]> = [
      ['mutation($id: ID!) { deprovisionUser(input: { userId: $id }) { user { id } } }', { id: b.ada.id }],
      ['mutation($id: ID!) { registerSession(input: { userId: $id, externalRef: "s" }) { session { id } } }', { id: b.ada.id }],
      ['mutation($id: ID!) { setGroupMapping(input: { groupId: $id, role: "admin" }) { mapping { id } } }', { id: b.groupId }],
      ['mutation($id: ID!) { pauseConnection(input: { connectionId: $id }) { connection { id } } }', { id: b.connectionId }],
      ['mutation($id: ID!) { createDirectoryConnection(input: { organizationId: $id, provider: "test", name: "x" }) { connection { id } } }', { id: b.orgId }],
      ['mutation($id: ID!) { createApiKey(input: { organizationId: $id, name: "x" }) { secret } }', { id: b.orgId }],
    ];
    for (const [query, variables] of writes) {
      const r = await t.gql(query, variables, keyA);
      expect(r.errors?.[0]?.extensions?.code, query).toBe('NOT_FOUND');
    }
    const bAfter = await t.hub.db.prisma.directoryUser.findUniqueOrThrow({ where: { id: b.ada.id }, include: { sessions: true } });
    expect(bAfter.state).toBe('ACTIVE');
    expect(bAfter.sessions).toHaveLength(0);
    expect((await t.hub.db.prisma.directoryConnection.findUniqueOrThrow({ where: { id: b.connectionId } })).status).toBe('AWAITING_FIRST_REQUEST');
  });
});

describe('schema.graphql', () => {
  it('matches the schema printed from the code (run `npm run schema:print`)', () => {
    expect(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8')).toBe(printedSchema());
  });
});
