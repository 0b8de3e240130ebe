// Tokens per connection: issued once by createDirectoryConnection, stored as SHA-256 only, rotated
// by rotateConnectionSecret (the old one stops at once), and never reaching another connection,
// in another organization or in the same one. Plus what an admin sees: the request log and
// lastSyncedAt, which never hold a token or a body.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/server.ts';
import { seedGroup, seedUser } from './fixtures.ts';
import { createScimConnection, expectScimError, patch, scimRequest, startScimHub, user } from './support.ts';

let t: TestHub;

/** The request log is written shortly after each response: wait until it holds `count` entries. */
async function waitForLog(connectionId: string, count: number) {
  await expect
    .poll(() => t.db.prisma.connectionRequestLog.count({ where: { connectionId } }), { timeout: 2_000, interval: 20, message: `the request log of ${connectionId}` })
    .toBeGreaterThanOrEqual(count);
}

beforeAll(async () => {
  t = await startScimHub();
});
afterAll(async () => {
  await t?.close();
});

describe('tokens', () => {
  it('createDirectoryConnection returns an absolute base URL per connection and the token once, stored hashed', async () => {
    const a = await createScimConnection(t);
    const b = await createScimConnection(t);
    expect(a.baseUrl).toBe(`${t.url}/scim/v2/${a.connectionId}`);
    expect(b.baseUrl).not.toBe(a.baseUrl);
    expect(a.token).toMatch(/^lhscim_/);
    const row = await t.db.prisma.directoryConnection.findUniqueOrThrow({ where: { id: a.connectionId }, include: { scimTokens: true } });
    expect(row.scimTokens.map((token) => token.hash)).toEqual([createHash('sha256').update(a.token).digest('hex')]);
    expect(JSON.stringify(row)).not.toContain(a.token);
    // Shown once: reading the connection again never returns it.
    const again = await t.gqlOk(`query($o: ID!) { organization(id: $o) { connections { id scimBaseUrl } } }`, { o: a.organizationId });
    expect(JSON.stringify(again)).not.toContain(a.token);
    expect(again.organization.connections[0].scimBaseUrl).toBe(a.baseUrl);
  });

  it("never lets one connection's token reach another's, across organizations or within one", async () => {
    const a = await createScimConnection(t);
    const other = await createScimConnection(t);
    const sibling = await createScimConnection(t, { organizationId: a.organizationId });
    const aUser = await seedUser(a, 'a@acme.test');
    const aGroup = await seedGroup(a, 'A group', [aUser]);
    for (const target of [other, sibling]) {
      // Another connection's token on this URL: refused.
      expectScimError(await scimRequest(target.baseUrl, 'GET', '/Users', { token: a.token }), 401);
      expectScimError(await scimRequest(target.baseUrl, 'POST', '/Users', { token: a.token, body: user('intruder@acme.test') }), 401);
      // The right token, somebody else's ids: not there.
      expectScimError(await target.request('GET', `/Users/${aUser}`), 404);
      expectScimError(await target.request('PATCH', `/Users/${aUser}`, { body: patch({ op: 'replace', path: 'active', value: false }) }), 404);
      expectScimError(await target.request('PUT', `/Users/${aUser}`, { body: user('a@acme.test') }), 404);
      expectScimError(await target.request('DELETE', `/Users/${aUser}`), 404);
      expectScimError(await target.request('GET', `/Groups/${aGroup}`), 404);
      expectScimError(await target.request('DELETE', `/Groups/${aGroup}`), 404);
      expect((await target.request('GET', `/Users?filter=${encodeURIComponent(`id eq "${aUser}" or userName eq "a@acme.test"`)}`)).body.totalResults).toBe(0);
      expect((await target.request('GET', `/Groups?filter=${encodeURIComponent(`members eq "${aUser}"`)}`)).body.totalResults).toBe(0);
      // Its own users with the same userName are its own business.
      expect((await target.request('POST', '/Users', { body: user('a@acme.test') })).status).toBe(201);
    }
    expect((await a.request('GET', `/Users/${aUser}`)).body.active).toBe(true);
    expect((await a.request('GET', `/Groups/${aGroup}`)).body.members).toHaveLength(1);
  });

  it('rotateConnectionSecret issues a new token; the old one stops working at once', async () => {
    const a = await createScimConnection(t);
    const { rotateConnectionSecret } = await t.gqlOk(`mutation($c: ID!) { rotateConnectionSecret(input: { connectionId: $c }) { secret connection { id } } }`, { c: a.connectionId });
    const fresh = rotateConnectionSecret.secret as string;
    expect(fresh).not.toBe(a.token);
    expectScimError(await a.request('GET', '/Users'), 401);
    expect((await scimRequest(a.baseUrl, 'GET', '/Users', { token: fresh })).status).toBe(200);
  });

  it('a token rotated by another instance works at once here, and the old one stops within a second', async () => {
    const a = await createScimConnection(t);
    expect((await a.request('GET', '/Users')).status).toBe(200); // the connection is now checked and remembered
    const rotated = 'lhscim_rotated-elsewhere-0123456789abcdef';
    await t.db.sql.query('UPDATE scim_token SET hash = $2 WHERE connection_id = $1', [a.connectionId, createHash('sha256').update(rotated).digest('hex')]);
    expect((await scimRequest(a.baseUrl, 'GET', '/Users', { token: rotated })).status).toBe(200);
    await expect.poll(async () => (await a.request('GET', '/Users')).status, { timeout: 1_100, interval: 50 }).toBe(401);
    expectScimError(await a.request('GET', '/Users'), 401);
  });

  it("an organization's key cannot rotate another organization's token", async () => {
    const a = await createScimConnection(t);
    const b = await createScimConnection(t);
    const { createApiKey } = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "ops" }) { secret } }`, { o: b.organizationId });
    const r = await t.gql(`mutation($c: ID!) { rotateConnectionSecret(input: { connectionId: $c }) { secret } }`, { c: a.connectionId }, createApiKey.secret);
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await a.request('GET', '/Users')).status).toBe(200);
  });
});

describe('what an admin sees', () => {
  it('records every authenticated request (method, path, status, duration, IdP) in connection.requestLog, never a refused one, the token or a body', async () => {
    const a = await createScimConnection(t);
    const id = await seedUser(a, 'logged@acme.test', { password: 'P4ssw0rd!' });
    await a.request('GET', `/Users?filter=${encodeURIComponent('userName eq "logged@acme.test" and title eq "Secret Project"')}&startIndex=1&count=100`, { headers: { 'user-agent': 'Okta SCIM Client 1.0.0' } });
    await a.request('PATCH', `/Users/${id}`, { body: patch({ op: 'replace', path: 'active', value: 'maybe' }), headers: { 'user-agent': 'Microsoft Azure AD SCIM provisioning 1.0' } });
    // A refused token is anyone's: counted in metrics, never in the customer's log.
    await scimRequest(a.baseUrl, 'GET', `/Users/${id}`, { token: 'an-old-token' });
    await waitForLog(a.connectionId, 3);
    const data = await t.gqlOk(
      `query($o: ID!) { organization(id: $o) { connections { lastSyncedAt requestLog(first: 10) { id at requestId method path status durationMs client error } } } }`,
      { o: a.organizationId },
    );
    const { lastSyncedAt, requestLog } = data.organization.connections[0];
    expect(lastSyncedAt).toBeTruthy();
    expect(requestLog.map((e: any) => [e.method, e.status, e.client])).toEqual([
      ['PATCH', 400, 'entra'],
      ['GET', 200, 'okta'],
      ['POST', 201, 'node'],
    ]);
    const [failed, lookup, created] = requestLog;
    expect(lookup.path).toBe('/Users?filter=userName eq "logged@acme.test" and title eq "…"&startIndex=1&count=100');
    expect(failed).toMatchObject({ path: `/Users/${id}`, error: expect.stringContaining('must be a boolean') });
    expect(created.durationMs).toBeGreaterThanOrEqual(0);
    const everything = JSON.stringify(await t.db.prisma.connectionRequestLog.findMany({ where: { connectionId: a.connectionId } }), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    for (const secret of [a.token, 'an-old-token', 'P4ssw0rd!', 'Secret Project']) expect(everything).not.toContain(secret);
    expect((await t.gqlOk(`query($o: ID!) { organization(id: $o) { connections { requestLog(first: 1) { method } } } }`, { o: a.organizationId })).organization.connections[0].requestLog).toHaveLength(1);
  });

  it('echoes the request id the log records', async () => {
    const a = await createScimConnection(t);
    const r = await a.request('GET', '/ServiceProviderConfig');
    const requestId = r.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    await waitForLog(a.connectionId, 1);
    const logged = await t.db.prisma.connectionRequestLog.findFirstOrThrow({ where: { connectionId: a.connectionId } });
    expect(logged.requestId).toBe(requestId);
  });
});
