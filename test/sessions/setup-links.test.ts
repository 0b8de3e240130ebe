// Setup links end to end on a real hub: a link opens a setup session (HttpOnly cookie) once; an
// expired or revoked link is refused with its code and the refusal audited; revoking a link ends
// its session at once, open graphql-ws socket included; the session reaches its own connection's
// setup and nothing else; cookies need the CSRF header and the hub's own origin; no secret is stored.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestHub, type TestHub } from '../support/server.ts';
import { auditActions, code, createOrganization, END, newBrowser, once, setupLink, START_SETUP, VIEWER } from './support.ts';

let t: TestHub;
let a: { id: string; apiKey: string; apiKeyId: string };
let b: { id: string; apiKey: string; apiKeyId: string };
beforeAll(async () => {
  t = await startTestHub({ env: { TRUST_PROXY: '1' } });
  a = await createOrganization(t, 'Alpha');
  b = await createOrganization(t, 'Bravo');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

describe('a setup link', () => {
  it('opens a setup session once: cookie attributes, viewer, and a second opening refused with LINK_USED', async () => {
    const link = await setupLink(t, a.id);
    expect(link.url).toMatch(new RegExp(`^${t.hub.publicUrl}/setup#lhsetup_[0-9A-Za-z]{40}$`));
    const browser = newBrowser(t);
    const started = await browser.gql(START_SETUP, { t: link.token });
    expect(code(started)).toBe('ok');
    expect(started.body.data.startSetupSession.viewer).toEqual({ kind: 'SETUP', connectionId: null, expiresAt: link.expiresAt, organization: { id: a.id, name: 'Alpha' } });
    // 127.0.0.1 is a secure origin to browsers: Secure, and None + Partitioned for the iframe.
    const cookie = started.setCookies.find((c) => c.startsWith('lh-setup='))!;
    const attributes = cookie.split('; ').slice(1);
    expect(attributes.filter((a) => !a.startsWith('Max-Age=')).sort()).toEqual(['HttpOnly', 'Partitioned', 'Path=/', 'SameSite=None', 'Secure']);
    expect(attributes).toContainEqual(expect.stringMatching(/^Max-Age=(86399|86400)$/));
    expect(started.setCookies.find((c) => c.startsWith('lh-console='))).toMatch(/Max-Age=0/);

    expect((await browser.gql(VIEWER)).body.data.viewer).toMatchObject({ kind: 'SETUP', organization: { id: a.id } });
    const again = await newBrowser(t).gql(START_SETUP, { t: link.token });
    expect([again.status, code(again)]).toEqual([200, 'LINK_USED']);
    expect(again.setCookies).toEqual([]);
    // The browser that opened it keeps its session.
    expect((await browser.gql(VIEWER)).body.data.viewer.kind).toBe('SETUP');
    const actions = (await auditActions(t, a.id)).filter((e) => e.action.startsWith('setup_link.'));
    expect(actions.map((e) => [e.action, e.actorType, e.data.reason ?? null])).toEqual(expect.arrayContaining([
      ['setup_link.created', 'admin', null], ['setup_link.used', 'setup_session', null], ['setup_link.refused', 'system', 'used'],
    ]));
  });

  it('expired: refused with LINK_EXPIRED, audited with the reason', async () => {
    const link = await setupLink(t, a.id, { expiresInSeconds: 60 });
    await t.db.sql.query("UPDATE setup_link SET expires_at = now() - interval '1 second' WHERE id = $1", [link.id]);
    const answer = await newBrowser(t).gql(START_SETUP, { t: link.token });
    expect(code(answer)).toBe('LINK_EXPIRED');
    expect((await auditActions(t, a.id)).at(-1)).toMatchObject({ action: 'setup_link.refused', data: { reason: 'expired' } });
  });

  it('a made-up token: 401 UNAUTHENTICATED, no cookie', async () => {
    const answer = await newBrowser(t).gql(START_SETUP, { t: 'lhsetup_made_up_0123456789' });
    expect([answer.status, code(answer), answer.setCookies]).toEqual([401, 'UNAUTHENTICATED', []]);
  });

  it.each([0, 59, 604_801, -1])('expiresInSeconds %s: BAD_USER_INPUT, no link made', async (seconds) => {
    const before = await t.db.sql.query('SELECT count(*)::int AS n FROM setup_link');
    const answer = await t.gql('mutation($o: ID!, $e: Int) { createSetupLink(input: { organizationId: $o, expiresInSeconds: $e }) { url } }', { o: a.id, e: seconds });
    expect([answer.errors?.[0]?.extensions?.code, answer.errors?.[0]?.extensions?.field]).toEqual(['BAD_USER_INPUT', 'expiresInSeconds']);
    expect(await t.db.sql.query('SELECT count(*)::int AS n FROM setup_link')).toEqual(before);
  });

  it("an organization key makes links for its organization only; Organization.setupLinks lists them", async () => {
    const own = await t.gql('mutation($o: ID!) { createSetupLink(input: { organizationId: $o }) { setupLink { id } } }', { o: b.id }, b.apiKey);
    expect(own.errors).toBeUndefined();
    const foreign = await t.gql('mutation($o: ID!) { createSetupLink(input: { organizationId: $o }) { setupLink { id } } }', { o: a.id }, b.apiKey);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const { organization } = await t.gqlOk('query($o: ID!) { organization(id: $o) { setupLinks { id usedAt revokedAt } } }', { o: b.id }, b.apiKey);
    expect(organization.setupLinks).toEqual([{ id: own.data.createSetupLink.setupLink.id, usedAt: null, revokedAt: null }]);
  });

  it('stores no secret in clear: the link and the session cookie are kept as SHA-256 digests', async () => {
    const link = await setupLink(t, a.id);
    const browser = newBrowser(t);
    await browser.gql(START_SETUP, { t: link.token });
    const cookieValue = browser.cookies.get('lh-setup')!;
    const [linkRow] = await t.db.sql.query<Record<string, unknown>>('SELECT * FROM setup_link WHERE id = $1', [link.id]);
    const [sessionRow] = await t.db.sql.query<Record<string, unknown>>('SELECT * FROM browser_session WHERE setup_link_id = $1', [link.id]);
    expect(linkRow!.hash).toBe(sha256(link.token));
    expect(sessionRow!.hash).toBe(sha256(cookieValue));
    const everything = JSON.stringify(await t.db.sql.query("SELECT (SELECT json_agg(l) FROM setup_link l) AS l, (SELECT json_agg(s) FROM browser_session s) AS s, (SELECT json_agg(e) FROM audit_event e) AS e"));
    expect(everything).not.toContain(link.token);
    expect(everything).not.toContain(cookieValue);
  });
});

describe('revoking a link', () => {
  it('refuses it with LINK_REVOKED, ends its session at once and closes its open socket (4401 "session ended")', async () => {
    const link = await setupLink(t, a.id);
    const browser = newBrowser(t);
    await browser.gql(START_SETUP, { t: link.token });
    let closed: { code: number; reason: string } | undefined;
    const socket = browser.ws({ onClosed: (event) => (closed = event) });
    try {
      const first = await once(socket, VIEWER);
      expect(first).toMatchObject({ kind: 'next', value: { data: { viewer: { kind: 'SETUP' } } } });
      const revoked = await t.gqlOk('mutation($l: ID!) { revokeSetupLink(input: { setupLinkId: $l }) { setupLink { id revokedAt } } }', { l: link.id });
      expect(revoked.revokeSetupLink.setupLink.revokedAt).not.toBeNull();
      await vi.waitFor(() => expect(closed).toEqual(expect.objectContaining({ code: 4401, reason: 'session ended' })));
    } finally {
      await socket.dispose();
    }
    expect((await browser.gql(VIEWER)).body.data.viewer).toBeNull();
    const unused = await setupLink(t, a.id);
    await t.gqlOk('mutation($l: ID!) { revokeSetupLink(input: { setupLinkId: $l }) { setupLink { id } } }', { l: unused.id });
    expect(code(await newBrowser(t).gql(START_SETUP, { t: unused.token }))).toBe('LINK_REVOKED');
    const actions = (await auditActions(t, a.id)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['setup_link.revoked']));
    expect((await auditActions(t, a.id)).at(-1)).toMatchObject({ action: 'setup_link.refused', data: { reason: 'revoked' } });
  });

  it('revoked where no broadcast reaches this instance (in SQL): the next operation on its socket re-authorizes, is refused, and closes it', async () => {
    const link = await setupLink(t, a.id);
    const browser = newBrowser(t);
    await browser.gql(START_SETUP, { t: link.token });
    let closed: { code: number; reason: string } | undefined;
    const socket = browser.ws({ onClosed: (event) => (closed = event) });
    try {
      expect(await once(socket, VIEWER)).toMatchObject({ kind: 'next', value: { data: { viewer: { kind: 'SETUP' } } } });
      await t.db.sql.query('UPDATE setup_link SET revoked_at = now() WHERE id = $1', [link.id]);
      const refused = await once(socket, VIEWER);
      // Refused: its UNAUTHENTICATED answer, or the socket's close reaching the operation first; never data.
      expect(refused.kind === 'next' ? refused.value.errors?.[0]?.extensions?.code : refused.kind).toMatch(/^(UNAUTHENTICATED|error)$/);
      if (refused.kind === 'next') expect(refused.value.data ?? null).toBeNull();
      await vi.waitFor(() => expect(closed).toEqual(expect.objectContaining({ code: 4401, reason: 'session ended' })));
    } finally {
      await socket.dispose();
    }
  });

  it("by another organization's key: NOT_FOUND, the link still works", async () => {
    const link = await setupLink(t, a.id);
    const answer = await t.gql('mutation($l: ID!) { revokeSetupLink(input: { setupLinkId: $l }) { setupLink { id } } }', { l: link.id }, b.apiKey);
    expect(answer.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(code(await newBrowser(t).gql(START_SETUP, { t: link.token }))).toBe('ok');
  });
});

describe('a setup session', () => {
  it('cannot create API keys, read another organization, or read its own users and audit chain', async () => {
    const browser = newBrowser(t);
    await browser.gql(START_SETUP, { t: (await setupLink(t, a.id)).token });
    const refused = async (query: string, variables: Record<string, unknown> = {}) => code(await browser.gql(query, variables));
    expect(await refused('mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "x" }) { secret } }', { o: a.id })).toBe('FORBIDDEN');
    expect(await refused('query($o: ID!) { organization(id: $o) { id name } }', { o: b.id })).toBe('NOT_FOUND');
    expect(await refused('query($o: ID!) { organization(id: $o) { users { edges { node { id } } } } }', { o: a.id })).toBe('FORBIDDEN');
    expect(await refused('query($o: ID!) { verifyAuditChain(organizationId: $o) { checked } }', { o: a.id })).toBe('FORBIDDEN');
    expect(await refused('query { organizations { id } }')).toBe('FORBIDDEN');
    expect(await refused('query { viewer { organization { setupLinks { id } } } }')).toBe('FORBIDDEN');
    expect(await refused('mutation($o: ID!) { createSetupLink(input: { organizationId: $o }) { url } }', { o: a.id })).toBe('FORBIDDEN');
    // Its own organization's name and roles it may read.
    const own = await browser.gql('query($o: ID!) { organization(id: $o) { id name roleRanking } }', { o: a.id });
    expect(own.body.data.organization).toEqual({ id: a.id, name: 'Alpha', roleRanking: ['viewer', 'member', 'admin'] });
  });

  it('creates its one SCIM connection, maps its groups, sets test mode, pauses and resumes it; not other connections', async () => {
    const { createDirectoryConnection: other } = await t.gqlOk('mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "scim", name: "Other" }) { connection { id } } }', { o: a.id });
    const browser = newBrowser(t);
    await browser.gql(START_SETUP, { t: (await setupLink(t, a.id)).token });
    const create = (provider: string) => browser.gql('mutation($o: ID!, $p: String!) { createDirectoryConnection(input: { organizationId: $o, provider: $p, name: "Okta" }) { connection { id scimBaseUrl } secret } }', { o: a.id, p: provider });
    expect(code(await create('clerk'))).toBe('FORBIDDEN');
    const created = await create('scim');
    expect(code(created)).toBe('ok');
    const { id: connectionId, scimBaseUrl } = created.body.data.createDirectoryConnection.connection;
    expect(code(await create('scim'))).toBe('FORBIDDEN');
    expect((await browser.gql(VIEWER)).body.data.viewer.connectionId).toBe(connectionId);

    const group = await fetch(`${scimBaseUrl}/Groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/scim+json', authorization: `Bearer ${created.body.data.createDirectoryConnection.secret}` },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Engineering' }),
    });
    expect(group.status).toBe(201);
    const groupId = ((await group.json()) as { id: string }).id;
    const mapped = await browser.gql('mutation($g: ID!) { setGroupMapping(input: { groupId: $g, role: "admin" }) { mapping { role group { displayName } } } }', { g: groupId });
    expect(mapped.body).toEqual({ data: { setGroupMapping: { mapping: { role: 'admin', group: { displayName: 'Engineering' } } } } });
    expect(code(await browser.gql('mutation($g: ID!) { removeGroupMapping(input: { groupId: $g }) { mapping { role } } }', { g: groupId }))).toBe('ok');
    for (const mutation of ['setConnectionTestMode(input: { connectionId: $c, testMode: true })', 'pauseConnection(input: { connectionId: $c })', 'resumeConnection(input: { connectionId: $c })']) {
      expect(code(await browser.gql(`mutation($c: ID!) { ${mutation} { connection { id testMode } } }`, { c: connectionId })), mutation).toBe('ok');
      expect(code(await browser.gql(`mutation($c: ID!) { ${mutation} { connection { id } } }`, { c: other.connection.id })), mutation).toBe('FORBIDDEN');
    }
    expect(code(await browser.gql('mutation($c: ID!) { rotateConnectionSecret(input: { connectionId: $c }) { secret } }', { c: connectionId }))).toBe('FORBIDDEN');
    expect(code(await browser.gql('mutation($c: ID!) { syncConnection(input: { connectionId: $c }) { alreadyRunning } }', { c: connectionId }))).toBe('FORBIDDEN');

    const ended = await browser.gql(END);
    expect(ended.body.data.endSession.ended).toBe(true);
    expect(browser.cookies.size).toBe(0);
    expect((await auditActions(t, a.id)).map((e) => e.action)).toEqual(expect.arrayContaining(['connection.created', 'setup_session.ended']));
  });
});

describe('CSRF', () => {
  it('a cookie without the CSRF header, or from another origin, is refused with CSRF_CHECK_FAILED; the hub\'s own origin is served', async () => {
    const browser = newBrowser(t);
    await browser.gql(START_SETUP, { t: (await setupLink(t, a.id)).token });
    const bare = await browser.gql(VIEWER, {}, { csrf: false });
    expect([bare.status, code(bare)]).toEqual([403, 'CSRF_CHECK_FAILED']);
    const crossSite = await browser.gql(VIEWER, {}, { origin: 'https://evil.example' });
    expect([crossSite.status, code(crossSite)]).toEqual([403, 'CSRF_CHECK_FAILED']);
    const sameOrigin = await browser.gql(VIEWER, {}, { origin: new URL(t.url).origin });
    expect(sameOrigin.body.data.viewer.kind).toBe('SETUP');
    // A mutation from another site changes nothing either.
    const ending = await browser.gql(END, {}, { csrf: false });
    expect(code(ending)).toBe('CSRF_CHECK_FAILED');
    expect((await browser.gql(VIEWER)).body.data.viewer.kind).toBe('SETUP');
  });

  it('API clients with a key are unaffected (no CSRF header needed, the cookie ignored)', async () => {
    const browser = newBrowser(t);
    await browser.gql(START_SETUP, { t: (await setupLink(t, a.id)).token });
    const answer = await browser.gql('query { organizations { id } }', {}, { csrf: false, authorization: `Bearer ${a.apiKey}` });
    expect(answer.body).toEqual({ data: { organizations: [{ id: a.id }] } });
  });
});
