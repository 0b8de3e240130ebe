// Every failure in the SCIM error form (RFC 7644 §3.12), with the status an IdP acts on
// correctly; back-pressure (429 and 503 with Retry-After); and no input that yields a 500.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/server.ts';
import { seedUser } from './fixtures.ts';
import { createScimConnection, expectScimError, patch, scimRequest, startScimHub, user, type ScimConnection } from './support.ts';

let t: TestHub;
let c: ScimConnection;
beforeAll(async () => {
  t = await startScimHub();
  c = await createScimConnection(t);
});
afterAll(async () => {
  await t?.close();
});

describe('errors', () => {
  it('401 without a token, with a wrong one, or with another scheme; the same answer for an unknown connection', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-token' }, { authorization: `Basic ${Buffer.from(`x:${c.token}`).toString('base64')}` }, { authorization: `Bearer ${c.token}x` }] as Array<Record<string, string>>) {
      const r = await scimRequest(c.baseUrl, 'GET', '/Users', { headers, token: null });
      const body = expectScimError(r, 401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(body.detail).not.toContain(c.token);
    }
    const unknown = c.baseUrl.replace(c.connectionId, '01900000-0000-7000-8000-000000000000');
    const r = await scimRequest(unknown, 'GET', '/Users', { token: c.token });
    expect(expectScimError(r, 401).detail).toBe((await scimRequest(c.baseUrl, 'GET', '/Users', { token: 'wrong' })).body.detail);
    expectScimError(await scimRequest(`${t.url}/scim/v2/not-a-uuid`, 'GET', '/Users', { token: c.token }), 401);
  });

  it('404 for unknown ids (UUID or not) and unknown endpoints; 405 for unsupported methods; 501 for Bulk', async () => {
    for (const path of ['/Users/01900000-0000-7000-8000-000000000000', '/Users/nope', '/Groups/01900000-0000-7000-8000-000000000000', '/Schemas/urn:nope', '/ResourceTypes/Nope', '/Nope', '/Users/a/b']) {
      expectScimError(await c.request('GET', path), 404);
    }
    expectScimError(await c.request('PUT', '/Users/01900000-0000-7000-8000-000000000000', { body: user('x@acme.test') }), 404);
    expectScimError(await c.request('PATCH', '/Groups/01900000-0000-7000-8000-000000000000', { body: patch({ op: 'add', path: 'members', value: [] }) }), 404);
    expectScimError(await c.request('DELETE', '/Groups/nope'), 404);
    const wrongMethod = await c.request('DELETE', '/Users');
    expectScimError(wrongMethod, 405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
    expectScimError(await c.request('PUT', '/Schemas'), 405);
    expectScimError(await c.request('POST', '/Bulk', { body: {} }), 501);
  });

  it('400 invalidSyntax for malformed JSON (without echoing the body), an empty body, or a non-object', async () => {
    const r = await c.request('POST', '/Users', { rawBody: '{"userName": "a", "password": "s3cret-value"', headers: { 'content-type': 'application/scim+json' } });
    expect(expectScimError(r, 400, 'invalidSyntax').detail).not.toContain('s3cret');
    expectScimError(await c.request('POST', '/Users', { rawBody: '' }), 400, 'invalidSyntax');
    expectScimError(await c.request('POST', '/Users', { body: [user('a@acme.test')] }), 400, 'invalidSyntax');
    expectScimError(await c.request('POST', '/Users/.search', { body: 'filter' }), 400, 'invalidSyntax');
  });

  it('400 invalidValue for bad values', async () => {
    const bad: unknown[] = [
      { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] },
      user(''),
      user('a@acme.test', { active: 'maybe' }),
      user('a@acme.test', { emails: [true] }),
      user('a@acme.test', { emails: [{ value: 'x', primary: 'perhaps' }] }),
      user('a@acme.test', { name: 'not an object' }),
      user('a@acme.test', { title: { nested: true } }),
      user('a'.repeat(2000)),
      user('a@acme.test', { externalId: 'e'.repeat(600) }),
    ];
    for (const body of bad) expectScimError(await c.request('POST', '/Users', { body }), 400, 'invalidValue');
    expectScimError(await c.request('POST', '/Groups', { body: { members: [] } }), 400, 'invalidValue');
    expectScimError(await c.request('POST', '/Groups', { body: { displayName: 'G', members: [{ display: 'no value' }] } }), 400, 'invalidValue');
    expectScimError(await c.request('GET', '/Users?count=ten'), 400, 'invalidValue');
    expect((await c.request('GET', '/Users?count=0')).body.totalResults).toBe(0); // nothing was stored
  });

  it('409 uniqueness, 412 for a stale If-Match', async () => {
    const id = await seedUser(c, 'taken@acme.test');
    expectScimError(await c.request('POST', '/Users', { body: user('TAKEN@acme.test') }), 409, 'uniqueness');
    expectScimError(await c.request('PUT', `/Users/${id}`, { body: user('taken@acme.test'), headers: { 'if-match': 'W/"99"' } }), 412);
    expectScimError(await c.request('PUT', `/Users/${id}`, { body: user('taken@acme.test'), headers: { 'if-match': 'garbage' } }), 412);
  });

  it('413 above the documented body limit, before reading it all', async () => {
    const small = await createScimConnection(t, { config: { maxRequestBytes: 16 * 1024 } });
    const big = user('big@acme.test', { title: 'x'.repeat(20 * 1024) });
    const r = await small.request('POST', '/Users', { body: big });
    expect(expectScimError(r, 413).detail).toContain('16384 bytes');
    // Chunked, without Content-Length.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 40; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(1024)));
        controller.close();
      },
    });
    const chunked = await fetch(`${small.baseUrl}/Users`, { method: 'POST', body: stream, duplex: 'half', headers: { authorization: `Bearer ${small.token}`, 'content-type': 'application/scim+json' } } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await small.request('POST', '/Users', { body: user('fits@acme.test') })).status).toBe(201);
  });

  it('never answers 500 to arbitrary input', async () => {
    const id = await seedUser(c, 'fuzz@acme.test');
    const json = fc.jsonValue({ maxDepth: 3 });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST /Users', `PUT /Users/${id}`, `PATCH /Users/${id}`, 'POST /Groups', 'POST /Users/.search'),
        fc.oneof(json, fc.record({ userName: fc.string(), active: json, emails: json, name: json }), fc.record({ Operations: fc.array(fc.record({ op: fc.constantFrom('add', 'Replace', 'remove', 'x'), path: fc.oneof(fc.string(), fc.constantFrom('emails[type eq "work"].value', 'members[value eq "x"]', 'name.givenName', 'urn:x:y')), value: json })) })),
        async (route, body) => {
          const [method, path] = route.split(' ') as [string, string];
          const r = await c.request(method, path, { body });
          expect(r.status).toBeLessThan(500);
          if (r.status >= 400) expectScimError(r, r.status);
        },
      ),
      { numRuns: 60 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), async (filter) => {
        const r = await c.request('GET', `/Users?filter=${encodeURIComponent(filter)}`);
        expect(r.status === 200 || r.status === 400).toBe(true);
        if (r.status === 400) expectScimError(r, 400);
      }),
      { numRuns: 80 },
    );
  });
});

describe('back-pressure', () => {
  it('answers 429 with an integer Retry-After beyond the rate limit, in SCIM form, and recovers', async () => {
    const limited = await createScimConnection(t, { config: { rateLimit: { requestsPerSecond: 3, burst: 2 } } });
    const replies = [];
    for (let i = 0; i < 8; i++) replies.push(await limited.request('GET', '/Users?count=0'));
    const statuses = replies.map((r) => r.status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]); // 3 per second plus a burst of 2
    const refused = replies.find((r) => r.status === 429)!;
    expectScimError(refused, 429);
    expect(refused.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    // Other connections are not affected.
    expect((await c.request('GET', '/Users?count=0')).status).toBe(200);
    // A fixed sleep on purpose: it proves that waiting exactly what Retry-After said is enough.
    await new Promise((r) => setTimeout(r, Number(refused.headers.get('retry-after')) * 1000 + 50));
    expect((await limited.request('GET', '/Users?count=0')).status).toBe(200);
  });

  it('answers 503 with Retry-After while the connection is paused, and nothing is applied', async () => {
    const paused = await createScimConnection(t);
    const id = await seedUser(paused, 'paused@acme.test');
    await t.gqlOk(`mutation($c: ID!) { pauseConnection(input: { connectionId: $c }) { connection { status } } }`, { c: paused.connectionId });
    for (const [method, path, body] of [['POST', '/Users', user('new@acme.test')], ['PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'active', value: false })], ['GET', '/Users', undefined]] as const) {
      const r = await paused.request(method, path, { body });
      expectScimError(r, 503);
      expect(r.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    }
    await t.gqlOk(`mutation($c: ID!) { resumeConnection(input: { connectionId: $c }) { connection { status } } }`, { c: paused.connectionId });
    const after = await paused.request('GET', `/Users/${id}`);
    expect(after.body.active).toBe(true);
    expect((await paused.request('GET', '/Users?count=0')).body.totalResults).toBe(1);
  });
});
