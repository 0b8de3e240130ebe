// Headers an attacker controls: X-Request-Id with CRLF or junk, absurdly long headers, Host and
// X-Forwarded-* tricks aimed at the absolute URLs the hub hands out (SCIM meta.location,
// scimBaseUrl, webhookUrl), and Accept / Content-Type tricks. Raw sockets and node:http are used
// where fetch would refuse to send what an attacker can.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_SCHEMA } from '../scim/support.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { createTenant, expectNothingChanged, type Tenant } from './support.ts';

let t: TestHub;
let a: Tenant;
let port: number;
beforeAll(async () => {
  t = await startTestHub();
  a = await createTenant(t, 'Alpha');
  port = t.server.port;
}, 120_000);
afterAll(async () => {
  await t?.close();
});

/** Sends bytes as they are and returns the raw response head and body. */
function raw(requestText: string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    // Written, not ended: Connection: close makes the server close once it has answered.
    const socket = connect(port, '127.0.0.1', () => socket.write(requestText));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => (data += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: rest.join('\r\n\r\n') });
    });
  });
}

/** node:http lets a test set Host and other headers fetch forbids. */
function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('X-Request-Id', () => {
  it('CRLF smuggled into X-Request-Id never splits the response: no injected header comes back', async () => {
    const path = `/scim/v2/${a.scim.connectionId}/Users`;
    for (const injected of ['abc\r\nSet-Cookie: pwned=1', 'abc\nSet-Cookie: pwned=1', 'abc%0d%0aSet-Cookie:%20pwned=1']) {
      const reply = await raw(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${a.scim.token}\r\nX-Request-Id: ${injected}\r\nConnection: close\r\n\r\n`);
      expect(reply.head.toLowerCase()).not.toContain('set-cookie');
      expect(reply.head).not.toContain('pwned');
      expect([200, 400]).toContain(reply.status);
    }
  });

  it.each([
    ['quotes and angle brackets', '"><script>alert(1)</script>'],
    ['spaces', 'a b c'],
    ['non-ASCII', 'ünïcødé'],
    ['2,000 characters', 'r'.repeat(2000)],
  ])('a request id with %s is replaced by a generated one, not echoed', async (_name, value) => {
    for (const path of ['/healthz', `/scim/v2/${a.scim.connectionId}/Users`, '/graphql']) {
      const reply = await send('GET', path, { host: '127.0.0.1', 'x-request-id': Buffer.from(value, 'utf8').toString('latin1'), authorization: `Bearer ${a.scim.token}` });
      // (yoga's own responses on /graphql carry no X-Request-Id; the others carry a safe one.)
      const echoed = reply.headers['x-request-id'];
      if (echoed === undefined) continue;
      expect(echoed, path).not.toBe(value);
      expect(String(echoed), path).toMatch(/^[\w=-]{1,255}$/);
    }
  });

  it('a well-formed request id from a proxy is kept (so logs line up across hops)', async () => {
    const reply = await send('GET', '/healthz', { host: '127.0.0.1', 'x-request-id': 'edge-7f3a9c' });
    expect(reply.headers['x-request-id']).toBe('edge-7f3a9c');
  });
});

describe('absurdly long headers', () => {
  it('a 64 kB header is refused (431) by the HTTP server, and the server keeps serving', async () => {
    const reply = await raw(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Junk: ${'j'.repeat(64 * 1024)}\r\nConnection: close\r\n\r\n`);
    expect(reply.status).toBe(431);
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('10,000 headers are refused, and the server keeps serving', async () => {
    const headers = Array.from({ length: 10_000 }, (_, i) => `X-H${i}: v`).join('\r\n');
    const reply = await raw(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\nConnection: close\r\n\r\n`);
    expect([400, 431]).toContain(reply.status);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it('a 4 kB Authorization header on every API: refused as a bad credential, nothing changed', async () => {
    const authorization = `Bearer ${'A'.repeat(4096)}`;
    await expectNothingChanged(t, async () => {
      expect((await send('GET', `/scim/v2/${a.scim.connectionId}/Users`, { host: '127.0.0.1', authorization })).status).toBe(401);
      expect((await send('POST', '/graphql', { host: '127.0.0.1', authorization, 'content-type': 'application/json' }, '{"query":"{ organizations { id } }"}')).status).toBe(401);
    });
  });
});

describe('Host and X-Forwarded-* tricks', () => {
  const evil = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', forwarded: 'host=evil.example;proto=https' };

  it("SCIM meta.location and Location use the hub's configured URL, never the request's Host", async () => {
    const body = JSON.stringify({ schemas: [USER_SCHEMA], userName: 'host-trick@alpha.test', active: true });
    const created = await send('POST', `/scim/v2/${a.scim.connectionId}/Users`, { ...evil, authorization: `Bearer ${a.scim.token}`, 'content-type': 'application/scim+json' }, body);
    expect(created.status).toBe(201);
    const resource = JSON.parse(created.body) as { meta: { location: string } };
    expect(resource.meta.location.startsWith(`${t.url}/scim/v2/${a.scim.connectionId}/Users/`)).toBe(true);
    expect(created.body).not.toContain('evil.example');
    expect(String(created.headers.location ?? t.url)).not.toContain('evil.example');

    const listed = await send('GET', `/scim/v2/${a.scim.connectionId}/Users`, { ...evil, authorization: `Bearer ${a.scim.token}` });
    expect(listed.body).not.toContain('evil.example');
    const discovery = await send('GET', `/scim/v2/${a.scim.connectionId}/ResourceTypes`, { ...evil, authorization: `Bearer ${a.scim.token}` });
    expect(discovery.status).toBe(200);
    expect(discovery.body).not.toContain('evil.example');
  });

  it('scimBaseUrl and webhookUrl from GraphQL ignore the Host header too', async () => {
    const reply = await send(
      'POST',
      '/graphql',
      { ...evil, authorization: `Bearer ${a.apiKey}`, 'content-type': 'application/json' },
      JSON.stringify({ query: 'query($o: ID!) { organization(id: $o) { connections { scimBaseUrl webhookUrl } } }', variables: { o: a.organizationId } }),
    );
    expect(reply.status).toBe(200);
    expect(reply.body).toContain(t.url);
    expect(reply.body).not.toContain('evil.example');
  });
});

describe('Accept and Content-Type tricks', () => {
  it('SCIM answers are always JSON, whatever Accept asks for (no HTML to reflect into)', async () => {
    for (const accept of ['text/html', 'text/html, */*;q=0.1', 'application/xml', 'image/svg+xml']) {
      const reply = await send('GET', `/scim/v2/${a.scim.connectionId}/Users?filter=${encodeURIComponent('userName eq "<script>"')}`, { host: '127.0.0.1', accept, authorization: `Bearer ${a.scim.token}` });
      expect(String(reply.headers['content-type']), accept).toMatch(/^application\/(scim\+)?json/);
    }
  });

  it('errors on every surface are JSON even when Accept asks for HTML (404, 405, webhook, GraphQL)', async () => {
    const cases: Array<[string, string, Record<string, string>, string?]> = [
      ['GET', '/no/such/route', {}],
      ['PUT', `/webhooks/${a.clerk.connectionId}`, {}],
      ['POST', `/webhooks/${a.clerk.connectionId}`, { 'content-type': 'text/html' }, '<html></html>'],
      // (GET /graphql with Accept: text/html is GraphiQL, on purpose.)
      ['POST', '/graphql', { 'content-type': 'application/json' }, '{"query": "{ organizations { id } }"}'],
    ];
    for (const [method, path, headers, body] of cases) {
      const reply = await send(method, path, { host: '127.0.0.1', accept: 'text/html', ...headers }, body);
      expect(String(reply.headers['content-type']), `${method} ${path}`).toMatch(/^application\/(graphql-response\+)?json/);
    }
  });

  it('a SCIM write declared as another media type or charset is read as the UTF-8 JSON SCIM requires', async () => {
    await expectNothingChanged(t, async () => {
      const reply = await send('POST', `/scim/v2/${a.scim.connectionId}/Users`, { host: '127.0.0.1', authorization: `Bearer ${a.scim.token}`, 'content-type': 'application/scim+json; charset=utf-16' }, '{"schemas": [');
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.body).scimType).toBe('invalidSyntax');
    });
  });
});
