// The connection lifecycle end to end: a real hub on a port, SCIM clients over HTTP (Okta's recorded
// requests), GraphQL over HTTP, lifecycle events read back from the ordered stream (graphql-ws,
// replayed with `after`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/server.ts';
import { createScimConnection, expectScimError, scimRequest, user, type ScimConnection } from '../scim/support.ts';
import { loadFixtures, replay } from '../scim/fixtures.ts';
import { subscribeWs, wsClient } from '../streams/support.ts';
import { expectNothingChanged } from '../abuse/support.ts';

const K = 3;
let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({
    env: {
      CONNECTION_FAILING_AFTER: String(K),
      CONNECTION_HEALTH_INTERVAL_MS: '100',
      FIRST_SYNC_QUIET_SECONDS: '1',
      SCIM_TOKEN_EXPIRY_WARNING_SECONDS: '3600',
    },
  });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const CONNECTION = `query($c: ID!) { connection(id: $c) { id status
  firstSync { startedAt completedAt users groups memberships }
  counts { users activeUsers groups memberships }
  health { lastSuccessAt lastFailureAt recentFailures lastError statusChangedAt lastRejectedCredentialsAt }
  requestLog(first: 10) { status }
  scimTokens { id name lastFour createdAt lastUsedAt expiresAt revokedAt } } }`;

const connection = async (c: ScimConnection, key?: string) => (await t.gqlOk(CONNECTION, { c: c.connectionId }, key)).connection;

/** The organization's connection.* events as a subscriber resuming from the start receives them. */
async function streamed(organizationId: string, until: (types: string[]) => boolean): Promise<Array<{ type: string; connection: { id: string } | null }>> {
  const client = wsClient(t.url, t.adminKey);
  const events = subscribeWs<{ type: string; connection: { id: string } | null }>(
    client,
    `subscription($o: ID!, $after: ID) { lifecycleEvents(organizationId: $o, after: $after) { id type connection { id } } }`,
    { o: organizationId, after: '0' },
    'lifecycleEvents',
  );
  try {
    await expect.poll(() => until(events.items.filter((e) => e.type.startsWith('connection.')).map((e) => e.type)), { timeout: 10_000, interval: 20 }).toBe(true);
    return events.items.filter((e) => e.type.startsWith('connection.'));
  } finally {
    events.dispose();
    await client.dispose();
  }
}

const eventCount = async (connectionId: string, type: string) =>
  (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM lifecycle_event WHERE connection_id = $1 AND type = $2', [connectionId, type]))[0]!.n;
const auditCount = async (connectionId: string, action: string) =>
  (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event WHERE target_id = $1 AND action = $2', [connectionId, action]))[0]!.n;

describe('status', () => {
  it('starts AWAITING_FIRST_REQUEST; concurrent first requests activate it once (connection.activated, audited)', async () => {
    const c = await createScimConnection(t);
    expect(await connection(c)).toMatchObject({ status: 'AWAITING_FIRST_REQUEST', firstSync: null, health: { recentFailures: 0 } });
    const replies = await Promise.all([1, 2, 3, 4].map(() => c.request('GET', '/Users')));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    await expect.poll(async () => (await connection(c)).status).toBe('ACTIVE');
    const types = await streamed(c.organizationId, (ts) => ts.includes('connection.activated'));
    expect(types).toEqual([expect.objectContaining({ type: 'connection.activated', connection: { id: c.connectionId } })]);
    await t.hub.engine.idle();
    expect(await eventCount(c.connectionId, 'connection.activated')).toBe(1);
    expect(await auditCount(c.connectionId, 'connection.activated')).toBe(1);
    expect((await connection(c)).firstSync.startedAt).toEqual(expect.any(String));
  });

  it('two instances on one database racing for the first request: one activation, one event', async () => {
    const other = await startTestHub({ db: t.db });
    try {
      const c = await createScimConnection(t);
      const there = c.baseUrl.replace(t.url, other.url);
      const replies = await Promise.all([
        ...[1, 2, 3].map(() => c.request('GET', '/Users')),
        ...[1, 2, 3].map(() => scimRequest(there, 'GET', '/Users', { token: c.token })),
      ]);
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      await expect.poll(async () => (await connection(c)).status).toBe('ACTIVE');
      await Promise.all([t.hub.engine.idle(), other.hub.engine.idle()]);
      expect(await eventCount(c.connectionId, 'connection.activated')).toBe(1);
      expect(await auditCount(c.connectionId, 'connection.activated')).toBe(1);
    } finally {
      await other.close();
    }
  });

  it(`FAILING after ${K} failed requests in a row, ACTIVE again (connection.recovered) at the next success`, async () => {
    const c = await createScimConnection(t);
    expect((await c.request('GET', '/Users')).status).toBe(200);
    await expect.poll(async () => (await connection(c)).status).toBe('ACTIVE');
    for (let i = 0; i < K - 1; i++) expectScimError(await c.request('POST', '/Users', { rawBody: '{"userName": ' }), 400);
    await expect.poll(async () => (await connection(c)).health.recentFailures).toBe(K - 1);
    expect((await connection(c)).status).toBe('ACTIVE');
    expectScimError(await c.request('POST', '/Users', { rawBody: '{"userName": ' }), 400);
    await expect.poll(async () => (await connection(c)).status).toBe('FAILING');
    const failing = await connection(c);
    expect(failing.health).toMatchObject({ recentFailures: K, lastFailureAt: expect.any(String), lastError: expect.stringMatching(/^400/) });
    // A 404 (an IdP's existence check) is not a failure.
    expectScimError(await c.request('GET', '/Users/00000000-0000-4000-8000-000000000000'), 404);
    expect((await c.request('POST', '/Users', { body: user('back@acme.test') })).status).toBe(201);
    await expect.poll(async () => (await connection(c)).status).toBe('ACTIVE');
    expect((await connection(c)).health.recentFailures).toBe(0);
    const types = (await streamed(c.organizationId, (ts) => ts.includes('connection.recovered'))).map((e) => e.type);
    expect(types).toEqual(['connection.activated', 'connection.failing', 'connection.recovered']);
    expect(await auditCount(c.connectionId, 'connection.failing')).toBe(1);
  });

  it('STALE via the health job after a short configured period; a request recovers it', async () => {
    const s = await startTestHub({ db: t.db, env: { CONNECTION_STALE_AFTER_SECONDS: '0.5', CONNECTION_HEALTH_INTERVAL_MS: '100' } });
    try {
      const c = await createScimConnection(s);
      expect((await c.request('GET', '/Users')).status).toBe(200);
      await expect.poll(async () => (await s.gqlOk(CONNECTION, { c: c.connectionId })).connection.status, { timeout: 10_000 }).toBe('STALE');
      expect((await c.request('GET', '/Users')).status).toBe(200);
      await expect.poll(() => eventCount(c.connectionId, 'connection.recovered'), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      const types = (await streamed(c.organizationId, (ts) => ts.includes('connection.recovered'))).map((e) => e.type);
      expect(types.slice(0, 3)).toEqual(['connection.activated', 'connection.stale', 'connection.recovered']);
    } finally {
      await s.close();
    }
  });
});

describe('wrong tokens', () => {
  it("a request with a wrong token is kept only as health.lastRejectedCredentialsAt: not logged, no failure, no activation, no other connection's", async () => {
    const c = await createScimConnection(t);
    const other = await createScimConnection(t);
    const before = Date.now();
    expectScimError(await scimRequest(c.baseUrl, 'GET', '/Users', { token: `${c.token.slice(0, -4)}XXXX` }), 401);
    // Written off the request path.
    await expect.poll(async () => (await connection(c)).health.lastRejectedCredentialsAt).not.toBeNull();
    const after = await connection(c);
    expect(Date.parse(after.health.lastRejectedCredentialsAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(after).toMatchObject({ status: 'AWAITING_FIRST_REQUEST', requestLog: [], health: { recentFailures: 0, lastFailureAt: null } });
    expect((await connection(other)).health.lastRejectedCredentialsAt).toBeNull();
    // Another connection's token at this connection's URL is a wrong token too.
    expectScimError(await scimRequest(other.baseUrl.replace(other.connectionId, c.connectionId), 'GET', '/Users', { token: other.token }), 401);
    expect((await connection(other)).health.lastRejectedCredentialsAt).toBeNull();
  });
});

describe('firstSync and counts', () => {
  it("counts what a recorded Okta push created; completedAt once it went quiet", async () => {
    const c = await createScimConnection(t);
    const okta = Object.fromEntries(loadFixtures('okta').map((f) => [f.scenario, f]));
    const created = await replay(c, okta['create-user']!);
    expect(created.status).toBe(201);
    const group = await replay(c, okta['create-group']!);
    expect(group.status).toBe(201);
    expect((await replay(c, okta['group-members-add']!, { userId: created.body.id, groupId: group.body.id })).status).toBe(204);
    const live = await connection(c);
    expect(live.counts).toEqual({ users: 1, activeUsers: 1, groups: 1, memberships: 1 });
    expect(live.firstSync).toMatchObject({ users: 1, groups: 1, memberships: 1 });
    await expect.poll(async () => (await connection(c)).firstSync.completedAt, { timeout: 10_000 }).toEqual(expect.any(String));
    // Later changes show in counts, not in the first sync.
    expect((await c.request('POST', '/Users', { body: user('later@acme.test') })).status).toBe(201);
    const after = await connection(c);
    expect(after.counts.users).toBe(2);
    expect(after.firstSync).toMatchObject({ users: 1, groups: 1, memberships: 1 });
  });
});

const CREATE_TOKEN = `mutation($c: ID!, $n: String, $e: DateTime) { createScimToken(input: { connectionId: $c, name: $n, expiresAt: $e }) { token { id name lastFour expiresAt } secret } }`;
const REVOKE_TOKEN = `mutation($id: ID!) { revokeScimToken(input: { tokenId: $id }) { token { id revokedAt } } }`;

describe('SCIM tokens', () => {
  it('rotation with two tokens keeps the client working throughout; a third is refused; revoking stops the old one at once', async () => {
    const c = await createScimConnection(t);
    const old = (await connection(c)).scimTokens;
    expect(old).toEqual([expect.objectContaining({ name: 'Initial token', lastFour: c.token.slice(-4), revokedAt: null })]);
    expect((await c.request('GET', '/Users')).status).toBe(200);
    const { createScimToken } = await t.gqlOk(CREATE_TOKEN, { c: c.connectionId, n: 'Okta 2026' });
    const fresh = createScimToken.secret as string;
    expect(createScimToken.token).toMatchObject({ name: 'Okta 2026', lastFour: fresh.slice(-4), expiresAt: null });
    // Both work: the new one from its creation, the old one until revoked.
    expect((await scimRequest(c.baseUrl, 'GET', '/Users', { token: fresh })).status).toBe(200);
    expect((await c.request('GET', '/Users')).status).toBe(200);
    await expectNothingChanged(t, async () => {
      const third = await t.gql(CREATE_TOKEN, { c: c.connectionId, n: 'one too many' });
      expect(third.errors?.[0]?.extensions?.code).toBe('SCIM_TOKEN_LIMIT');
      expect(third.errors?.[0]?.message).toMatch(/revoke one/);
    });
    const { revokeScimToken } = await t.gqlOk(REVOKE_TOKEN, { id: old[0].id });
    expect(revokeScimToken.token.revokedAt).toEqual(expect.any(String));
    expectScimError(await c.request('GET', '/Users'), 401);
    expect((await scimRequest(c.baseUrl, 'POST', '/Users', { token: fresh, body: user('rotated@acme.test') })).status).toBe(201);
    await expect.poll(async () => (await connection(c)).scimTokens.find((tk: any) => tk.id === createScimToken.token.id).lastUsedAt).toEqual(expect.any(String));
    // With one active again, another may be created.
    expect((await t.gqlOk(CREATE_TOKEN, { c: c.connectionId })).createScimToken.secret).toEqual(expect.any(String));
  });

  it('an expired token is refused; connection.token_expiring is emitted once ahead of expiry', async () => {
    const c = await createScimConnection(t);
    const expiresAt = new Date(Date.now() + 2_000).toISOString();
    const { createScimToken } = await t.gqlOk(CREATE_TOKEN, { c: c.connectionId, n: 'short', e: expiresAt });
    const secret = createScimToken.secret as string;
    expect((await scimRequest(c.baseUrl, 'GET', '/Users', { token: secret })).status).toBe(200);
    await expect.poll(() => eventCount(c.connectionId, 'connection.token_expiring')).toBe(1);
    await t.hub.connectionHealth.runOnce();
    await t.hub.connectionHealth.runOnce();
    expect(await eventCount(c.connectionId, 'connection.token_expiring')).toBe(1);
    await expect.poll(async () => (await scimRequest(c.baseUrl, 'GET', '/Users', { token: secret })).status, { timeout: 10_000, interval: 100 }).toBe(401);
    // The connection's other token still works.
    expect((await c.request('GET', '/Users')).status).toBe(200);
    const types = (await streamed(c.organizationId, (ts) => ts.includes('connection.token_expiring'))).map((e) => e.type);
    expect(types.filter((x) => x === 'connection.token_expiring')).toHaveLength(1);
  });

  it('rotateConnectionSecret is "create + revoke all": one active token afterwards', async () => {
    const c = await createScimConnection(t);
    await t.gqlOk(CREATE_TOKEN, { c: c.connectionId });
    const { rotateConnectionSecret } = await t.gqlOk(`mutation($c: ID!) { rotateConnectionSecret(input: { connectionId: $c }) { secret } }`, { c: c.connectionId });
    const tokens = (await connection(c)).scimTokens;
    expect(tokens.filter((tk: any) => !tk.revokedAt)).toEqual([expect.objectContaining({ lastFour: rotateConnectionSecret.secret.slice(-4) })]);
    expectScimError(await c.request('GET', '/Users'), 401);
  });
});

const DELETE = `mutation($c: ID!, $d: ConnectionDisposition!) { deleteConnection(input: { connectionId: $c, disposition: $d }) { deletedConnectionId } }`;
const USER = `query($u: ID!) { user(id: $u) { id state sessions { revokedAt } } }`;

async function connectionWithUser() {
  const c = await createScimConnection(t);
  const created = await c.request('POST', '/Users', { body: user(`ada-${Math.random().toString(36).slice(2, 8)}@acme.test`) });
  expect(created.status).toBe(201);
  await t.gqlOk(`mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "s1" }) { session { id } } }`, { u: created.body.id });
  // The token check is now cached on this instance: deletion must still stop it within that second.
  expect((await c.request('GET', '/Users')).status).toBe(200);
  return { c, userId: created.body.id as string };
}

describe('deleteConnection', () => {
  it('DEPROVISION_USERS: tokens refused at once, every user deprovisioned with their sessions revoked, audited and streamed', async () => {
    const { c, userId } = await connectionWithUser();
    const { deleteConnection } = await t.gqlOk(DELETE, { c: c.connectionId, d: 'DEPROVISION_USERS' });
    expect(deleteConnection.deletedConnectionId).toBe(c.connectionId);
    expectScimError(await c.request('GET', '/Users'), 401);
    const { user: u } = await t.gqlOk(USER, { u: userId });
    expect(u.state).toBe('DEPROVISIONED');
    expect(u.sessions).toEqual([{ revokedAt: expect.any(String) }]);
    expect((await t.gql(CONNECTION, { c: c.connectionId })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const { organization } = await t.gqlOk(`query($o: ID!) { organization(id: $o) { connections { id } } }`, { o: c.organizationId });
    expect(organization.connections).toEqual([]);
    expect(await auditCount(c.connectionId, 'connection.deleted')).toBe(1);
    const types = (await streamed(c.organizationId, (ts) => ts.includes('connection.deleted'))).map((e) => e.type);
    expect(types).toContain('connection.deleted');
    // Deleting again: gone.
    expect((await t.gql(DELETE, { c: c.connectionId, d: 'KEEP_USERS' })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('KEEP_USERS: tokens refused at once, users kept as they are, detached (audited)', async () => {
    const { c, userId } = await connectionWithUser();
    await t.gqlOk(DELETE, { c: c.connectionId, d: 'KEEP_USERS' });
    expectScimError(await c.request('GET', '/Users'), 401);
    const { user: u } = await t.gqlOk(USER, { u: userId });
    expect(u).toMatchObject({ state: 'ACTIVE', sessions: [{ revokedAt: null }] });
    expect(await auditCount(c.connectionId, 'connection.source_detached')).toBe(1);
    expect(await eventCount(c.connectionId, 'connection.deleted')).toBe(1);
  });
});

describe('bad input and tenant isolation', () => {
  it('each new mutation answers bad input with a coded GraphQL error and changes nothing', async () => {
    const c = await createScimConnection(t);
    await expectNothingChanged(t, async () => {
      const cases: Array<[string, Record<string, unknown>, string]> = [
        [CREATE_TOKEN, { c: c.connectionId, n: '' }, 'BAD_USER_INPUT'],
        [CREATE_TOKEN, { c: c.connectionId, n: 'x'.repeat(101) }, 'BAD_USER_INPUT'],
        [CREATE_TOKEN, { c: c.connectionId, e: new Date(Date.now() - 60_000).toISOString() }, 'BAD_USER_INPUT'],
        [CREATE_TOKEN, { c: 'not-a-uuid' }, 'NOT_FOUND'],
        [REVOKE_TOKEN, { id: '00000000-0000-4000-8000-000000000000' }, 'NOT_FOUND'],
        [REVOKE_TOKEN, { id: 'nope' }, 'NOT_FOUND'],
        [DELETE, { c: '00000000-0000-4000-8000-000000000000', d: 'KEEP_USERS' }, 'NOT_FOUND'],
      ];
      for (const [query, variables, code] of cases) {
        const reply = await t.gql(query, variables);
        expect([variables, reply.errors?.[0]?.extensions?.code]).toEqual([variables, code]);
      }
      const badEnum = await t.gql(DELETE, { c: c.connectionId, d: 'EVERYTHING' });
      expect(badEnum.errors?.[0]?.extensions?.code).toEqual(expect.any(String));
    });
  });

  it("another organization's key gets NOT_FOUND on the connection, its tokens and its deletion", async () => {
    const a = await createScimConnection(t);
    const b = await createScimConnection(t);
    const { createApiKey } = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "b" }) { secret } }`, { o: b.organizationId });
    const keyOfB = createApiKey.secret as string;
    const tokenOfA = (await connection(a)).scimTokens[0].id;
    await expectNothingChanged(t, async () => {
      for (const [query, variables] of [
        [CONNECTION, { c: a.connectionId }],
        [CREATE_TOKEN, { c: a.connectionId }],
        [REVOKE_TOKEN, { id: tokenOfA }],
        [DELETE, { c: a.connectionId, d: 'DEPROVISION_USERS' }],
      ] as Array<[string, Record<string, unknown>]>) {
        const reply = await t.gql(query, variables, keyOfB);
        expect(reply.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
        expect(JSON.stringify(reply.data ?? null)).not.toContain(a.connectionId);
      }
    });
    expect((await a.request('GET', '/Users')).status).toBe(200);
    expect((await connection(b, keyOfB)).id).toBe(b.connectionId);
  });
});
