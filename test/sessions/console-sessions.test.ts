// Console sign-in on a real hub: an admin or organization API key is exchanged for an HttpOnly,
// SameSite=Strict cookie acting with that key; a wrong key is refused and counted by the
// per-address auth-failure throttle; revoking the key ends its console sessions, open socket
// included; signing out ends the session.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/hub/config.ts';
import { BrowserSessionResolver } from '../../src/tenancy/browser-sessions.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { auditActions, code, createOrganization, END, newBrowser, once, START_CONSOLE, VIEWER } from './support.ts';

const FAILURES_ALLOWED = 3;
const LISTED_ORIGIN = 'https://app.example.com';
let t: TestHub;
let a: { id: string; apiKey: string; apiKeyId: string };
let b: { id: string; apiKey: string; apiKeyId: string };
beforeAll(async () => {
  // Each browser has an address of its own (X-Forwarded-For behind one trusted proxy).
  t = await startTestHub({ env: { TRUST_PROXY: '1', AUTH_FAILURES_PER_ADDRESS: String(FAILURES_ALLOWED), CORS_ALLOWED_ORIGINS: LISTED_ORIGIN } });
  a = await createOrganization(t, 'Alpha');
  b = await createOrganization(t, 'Bravo');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('console sign-in', () => {
  it('with the admin key: an ADMIN session cookie (HttpOnly, Secure, SameSite=Strict, 12 h) that sees every organization', async () => {
    const browser = newBrowser(t);
    const signedIn = await browser.gql(START_CONSOLE, { k: t.adminKey });
    expect(code(signedIn)).toBe('ok');
    expect(signedIn.body.data.startConsoleSession.viewer).toMatchObject({ kind: 'ADMIN', organization: null });
    const cookie = signedIn.setCookies.find((c) => c.startsWith('lh-console='))!;
    const attributes = cookie.split('; ').slice(1);
    expect(attributes.filter((x) => !x.startsWith('Max-Age=')).sort()).toEqual(['HttpOnly', 'Path=/', 'SameSite=Strict', 'Secure']);
    expect(attributes).toContainEqual(expect.stringMatching(/^Max-Age=(43199|43200)$/));
    // The key is not in the cookie, and only the cookie's digest is stored.
    const value = browser.cookies.get('lh-console')!;
    expect(value).not.toContain(t.adminKey);
    const [row] = await t.db.sql.query<{ hash: string; admin: boolean }>("SELECT hash, admin FROM browser_session WHERE kind = 'console' AND hash = $1", [createHash('sha256').update(value).digest('hex')]);
    expect(row).toEqual({ hash: expect.any(String), admin: true });
    const { body } = await browser.gql('query { organizations { id } }');
    expect(body.data.organizations.map((o: { id: string }) => o.id)).toEqual(expect.arrayContaining([a.id, b.id]));
  });

  it("with an organization key: an ORGANIZATION session limited to it, audited on its chain", async () => {
    const browser = newBrowser(t);
    const signedIn = await browser.gql(START_CONSOLE, { k: a.apiKey });
    expect(signedIn.body.data.startConsoleSession.viewer).toMatchObject({ kind: 'ORGANIZATION', organization: { id: a.id } });
    expect((await browser.gql('query { organizations { id } }')).body.data.organizations).toEqual([{ id: a.id }]);
    expect(code(await browser.gql('query($o: ID!) { organization(id: $o) { id } }', { o: b.id }))).toBe('NOT_FOUND');
    const ended = await browser.gql(END);
    expect(ended.body.data.endSession.ended).toBe(true);
    expect((await browser.gql(VIEWER)).body.data.viewer).toBeNull();
    expect((await auditActions(t, a.id)).map((e) => e.action)).toEqual(expect.arrayContaining(['console_session.started', 'console_session.ended']));
  });

  it('a wrong key: 401 UNAUTHENTICATED, no cookie; past AUTH_FAILURES_PER_ADDRESS the address gets 429 even with a right key', async () => {
    const browser = newBrowser(t);
    // Signed in from the same address before the failures: its session keeps being served.
    const signedIn = newBrowser(t, { address: browser.address });
    expect(code(await signedIn.gql(START_CONSOLE, { k: a.apiKey }))).toBe('ok');
    expect((await signedIn.gql(VIEWER)).status).toBe(200);
    for (let i = 0; i < FAILURES_ALLOWED; i++) {
      const refused = await browser.gql(START_CONSOLE, { k: `lhk_wrong_${i}_0123456789abcdef` });
      expect([refused.status, code(refused), refused.setCookies]).toEqual([401, 'UNAUTHENTICATED', []]);
    }
    const throttled = await browser.gql(START_CONSOLE, { k: a.apiKey });
    expect([throttled.status, code(throttled), throttled.setCookies]).toEqual([429, 'RATE_LIMITED', []]);
    // Another address is not affected, nor the session already signed in from this one.
    expect(code(await newBrowser(t).gql(START_CONSOLE, { k: a.apiKey }))).toBe('ok');
    expect((await signedIn.gql(VIEWER)).body.data.viewer.kind).toBe('ORGANIZATION');
  });

  it('is for browsers: with an Authorization header it is FORBIDDEN and sets no cookie', async () => {
    const answer = await t.gql('mutation($k: String!) { startConsoleSession(input: { apiKey: $k }) { viewer { kind } } }', { k: a.apiKey }, b.apiKey);
    expect(answer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('not signed in, a browser may only sign in: other fields are UNAUTHENTICATED', async () => {
    const browser = newBrowser(t);
    expect((await browser.gql(VIEWER)).body).toEqual({ data: { viewer: null } });
    const refused = await browser.gql('query { organizations { id } }');
    expect([refused.status, code(refused)]).toEqual([401, 'UNAUTHENTICATED']);
  });
});

describe('revoking the API key', () => {
  it('ends its console sessions: the open socket is closed with 4401, the cookie no longer signs in', async () => {
    const { createApiKey } = await t.gqlOk('mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "console" }) { secret apiKey { id } } }', { o: a.id });
    const browser = newBrowser(t);
    await browser.gql(START_CONSOLE, { k: createApiKey.secret });
    let closed: { code: number; reason: string } | undefined;
    const socket = browser.ws({ onClosed: (event) => (closed = event) });
    try {
      expect(await once(socket, VIEWER)).toMatchObject({ kind: 'next', value: { data: { viewer: { kind: 'ORGANIZATION' } } } });
      await t.gqlOk('mutation($k: ID!) { revokeApiKey(input: { apiKeyId: $k }) { apiKey { id } } }', { k: createApiKey.apiKey.id });
      await vi.waitFor(() => expect(closed).toEqual(expect.objectContaining({ code: 4401, reason: 'API key revoked' })));
    } finally {
      await socket.dispose();
    }
    expect((await browser.gql(VIEWER)).body.data.viewer).toBeNull();
  });

  it('an admin key of the database, revoked, ends its console session too', async () => {
    const { createApiKey } = await t.gqlOk('mutation { createApiKey(input: { name: "second admin" }) { secret apiKey { id } } }');
    const browser = newBrowser(t);
    expect((await browser.gql(START_CONSOLE, { k: createApiKey.secret })).body.data.startConsoleSession.viewer.kind).toBe('ADMIN');
    await t.gqlOk('mutation($k: ID!) { revokeApiKey(input: { apiKeyId: $k }) { apiKey { id } } }', { k: createApiKey.apiKey.id });
    expect((await browser.gql(VIEWER)).body.data.viewer).toBeNull();
  });

  it("the environment's ADMIN_API_KEY changed: its console sessions no longer resolve", async () => {
    const browser = newBrowser(t);
    await browser.gql(START_CONSOLE, { k: t.adminKey });
    const cookie = browser.cookies.get('lh-console')!;
    expect(await new BrowserSessionResolver(t.db.sql, { adminApiKey: t.adminKey }).resolve(cookie)).toMatchObject({ kind: 'admin' });
    expect(await new BrowserSessionResolver(t.db.sql, { adminApiKey: 'another-admin-key-0123456789' }).resolve(cookie)).toBeNull();
    expect(await new BrowserSessionResolver(t.db.sql, {}).resolve(cookie)).toBeNull();
  });

  it('a session cookie does not authenticate a socket opened from a CORS-listed origin (4403); from the hub\'s own it does', async () => {
    const browser = newBrowser(t);
    await browser.gql(START_CONSOLE, { k: a.apiKey });
    let closed: { code: number; reason: string } | undefined;
    const listed = browser.ws({ origin: LISTED_ORIGIN, onClosed: (event) => (closed = event) });
    try {
      expect((await once(listed, VIEWER)).kind).toBe('error');
      expect(closed?.code).toBe(4403);
    } finally {
      await listed.dispose();
    }
    const own = browser.ws();
    try {
      expect(await once(own, VIEWER)).toMatchObject({ kind: 'next', value: { data: { viewer: { kind: 'ORGANIZATION' } } } });
    } finally {
      await own.dispose();
    }
  });

  it('signing out closes the session\'s open socket too (4401 "session ended")', async () => {
    const browser = newBrowser(t);
    await browser.gql(START_CONSOLE, { k: a.apiKey });
    let closed: { code: number; reason: string } | undefined;
    const socket = browser.ws({ onClosed: (event) => (closed = event) });
    try {
      expect(await once(socket, VIEWER)).toMatchObject({ kind: 'next' });
      await browser.gql(END);
      await vi.waitFor(() => expect(closed).toEqual(expect.objectContaining({ code: 4401, reason: 'session ended' })));
    } finally {
      await socket.dispose();
    }
  });
});

describe('SETUP_FRAME_ANCESTORS', () => {
  const base = { ADMIN_API_KEY: 'x'.repeat(16) };
  it("defaults to 'self' and takes a list of sources", () => {
    expect(loadConfig(base).setupFrameAncestors).toBe("'self'");
    expect(loadConfig({ ...base, SETUP_FRAME_ANCESTORS: " 'self'   https://app.example.com https://*.example.org:8443 " }).setupFrameAncestors).toBe("'self' https://app.example.com https://*.example.org:8443");
  });
  it.each(["https://app.example.com; script-src *", "'none' https://a.example", 'https://a.example/path', "'unsafe-inline'", 'https://a.example\r\nSet-Cookie: x=1'])('refuses %j', (value) => {
    expect(() => loadConfig({ ...base, SETUP_FRAME_ANCESTORS: value })).toThrow(/SETUP_FRAME_ANCESTORS/);
  });
});
