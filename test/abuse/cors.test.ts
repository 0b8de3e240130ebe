// CORS on /graphql: by default no origin but the hub's own gets anything (no CORS headers, never
// credentials); with CORS_ALLOWED_ORIGINS the listed origins, and only they, may call the API from
// a browser: queries and SSE subscriptions, preflight and actual requests. WebSocket upgrades from a
// foreign browser page are refused the same way; GraphiQL (same origin) keeps working.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/hub/config.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { wsUrl } from '../streams/support.ts';

const APP = 'https://app.example.test';
const ADMIN = 'http://admin.example.test:8080';
const EVIL = 'https://evil.example.test';
const CORS_HEADERS = ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-allow-methods', 'access-control-allow-headers', 'access-control-expose-headers'];

let plain: TestHub;
let listing: TestHub;
beforeAll(async () => {
  plain = await startTestHub();
  listing = await startTestHub({ env: { CORS_ALLOWED_ORIGINS: `${APP}, ${ADMIN}` } });
}, 120_000);
afterAll(async () => {
  await plain?.close();
  await listing?.close();
});

const preflight = (t: TestHub, origin: string) =>
  fetch(`${t.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });

const query = (t: TestHub, origin: string, accept = 'application/graphql-response+json') =>
  fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { origin, accept, 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
    body: JSON.stringify({ query: '{ organizations { id } }' }),
  });

const corsHeadersOf = (response: Response) => CORS_HEADERS.filter((h) => response.headers.has(h));

/** Opens a WebSocket with this Origin (or none); resolves with the handshake's outcome. */
function upgrade(t: TestHub, origin?: string): Promise<{ opened: true } | { opened: false; status: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl(t.url), 'graphql-transport-ws', origin ? { origin } : {});
    socket.once('open', () => {
      socket.close();
      resolve({ opened: true });
    });
    socket.once('unexpected-response', (_req, res) => {
      resolve({ opened: false, status: res.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once('error', () => {});
  });
}

describe('without CORS_ALLOWED_ORIGINS (the default: same origin only)', () => {
  it('a preflight from another origin gets no CORS headers', async () => {
    const response = await preflight(plain, EVIL);
    expect(corsHeadersOf(response)).toEqual([]);
  });

  it('a query from another origin gets no CORS headers (the browser keeps the answer from the page), and never credentials', async () => {
    const response = await query(plain, EVIL);
    expect(corsHeadersOf(response)).toEqual([]);
  });

  it('a WebSocket from another origin is refused before the handshake; one without Origin or from the hub itself opens', async () => {
    expect(await upgrade(plain, EVIL)).toEqual({ opened: false, status: 403 });
    expect(await upgrade(plain)).toEqual({ opened: true });
    expect(await upgrade(plain, new URL(plain.url).origin)).toEqual({ opened: true });
  });

  it('GraphiQL is still served at /graphql (same origin: it needs no CORS)', async () => {
    const response = await fetch(`${plain.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/GraphiQL|graphiql/);
  });
});

describe('with CORS_ALLOWED_ORIGINS', () => {
  it.each([APP, ADMIN])('a preflight from %s is allowed: its origin, POST, the Authorization header; no credentials', async (origin) => {
    const response = await preflight(listing, origin);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(origin);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/Origin/i);
  });

  it('a query from a listed origin gets its origin back and the data', async () => {
    const response = await query(listing, APP);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/Origin/i);
    expect(((await response.json()) as { data: unknown }).data).toEqual({ organizations: expect.any(Array) });
  });

  it('an SSE subscription from a listed origin is allowed too', async () => {
    const response = await fetch(`${listing.url}/graphql`, {
      method: 'POST',
      headers: { origin: APP, accept: 'text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${listing.adminKey}` },
      body: JSON.stringify({ query: '{ organizations { id } }' }),
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    await response.body?.cancel();
  });

  it.each([EVIL, 'https://app.example.test.evil.test', 'http://app.example.test', 'null'])('%s, not listed, gets no CORS headers on preflight, query or SSE', async (origin) => {
    expect(corsHeadersOf(await preflight(listing, origin))).toEqual([]);
    const answered = await query(listing, origin);
    expect(corsHeadersOf(answered)).toEqual([]);
    expect(answered.headers.get('vary')).toMatch(/Origin/i);
    const sse = await query(listing, origin, 'text/event-stream');
    expect(corsHeadersOf(sse)).toEqual([]);
    await sse.body?.cancel();
  });

  it('a WebSocket from a listed origin opens; from another one it is refused', async () => {
    expect(await upgrade(listing, APP)).toEqual({ opened: true });
    expect(await upgrade(listing, EVIL)).toEqual({ opened: false, status: 403 });
  });
});

describe('the setting', () => {
  it.each(['*', 'https://app.example.test/', 'https://app.example.test/path', 'https://App.Example.test', 'https://app.example.test:443', 'app.example.test', 'ftp://app.example.test'])('refuses %s with a message saying what it takes', (value) => {
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: value })).toThrow(/CORS_ALLOWED_ORIGINS takes exact origins/);
  });

  it('takes a comma-separated list of exact origins', () => {
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: `${APP},${ADMIN}` }).corsAllowedOrigins).toEqual([APP, ADMIN]);
    expect(loadConfig({}).corsAllowedOrigins).toEqual([]);
  });
});
