// Answers given before the request body has arrived (413 for an oversized body, 401 for a wrong
// token…) say `Connection: close` and close the connection cleanly, so a keep-alive client's next
// request goes out on a new connection and succeeds. Real keep-alive clients over real sockets:
// undici (what fetch runs on) with pipelining 1, node:http with a keep-alive Agent, and a raw socket.
import http from 'node:http';
import net from 'node:net';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_REQUEST_BYTES } from '../../plugins/scim/config.ts';
import { MAX_BODY_BYTES } from '../../src/http/app.ts';
import { createScimConnection, type ScimConnection } from '../scim/support.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { createVendorConnection } from '../support/vendors/connections.ts';

let t: TestHub;
let scim: ScimConnection;
let webhookPath: string;
beforeAll(async () => {
  t = await startTestHub();
  scim = await createScimConnection(t);
  const workos = await createVendorConnection(t, 'workos', { webhookSecret: 'whsec-workos-test-secret-0123456789', apiKey: 'sk_test_workos_hub' });
  webhookPath = new URL(workos.webhookUrl).pathname;
});
afterAll(async () => {
  await t?.close();
});

const scimPath = () => new URL(`${scim.baseUrl}/Users`).pathname;

/** Each route refusing a body over its limit before reading it. */
const oversized = (): Array<{ route: string; path: string; size: number; headers: Record<string, string> }> => [
  { route: 'POST /graphql', path: '/graphql', size: MAX_BODY_BYTES * 2, headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' } },
  { route: 'POST /webhooks/:id', path: webhookPath, size: MAX_BODY_BYTES * 2, headers: { 'content-type': 'application/json' } },
  { route: 'POST /scim/v2/:id/Users', path: scimPath(), size: DEFAULT_MAX_REQUEST_BYTES * 2, headers: { authorization: `Bearer ${scim.token}`, 'content-type': 'application/scim+json' } },
];

describe('an answer given before the body has arrived', () => {
  it('says Connection: close, and an undici keep-alive client\'s next request succeeds', async () => {
    for (const { route, path, size, headers } of oversized()) {
      const client = new Client(t.url, { pipelining: 1 });
      try {
        const refused = await client.request({ method: 'POST', path, headers, body: Buffer.alloc(size, 'x') });
        expect(refused.statusCode, route).toBe(413);
        expect(refused.headers.connection, route).toBe('close');
        await refused.body.text();
        const next = await client.request({ method: 'GET', path: '/healthz' });
        expect(next.statusCode, route).toBe(200);
        expect(await next.body.json(), route).toEqual({ status: 'ok' });
      } finally {
        await client.close();
      }
    }
  });

  it('says Connection: close to a wrong SCIM token sent with a large body, and the next request succeeds', async () => {
    const client = new Client(t.url, { pipelining: 1 });
    try {
      const refused = await client.request({ method: 'POST', path: scimPath(), headers: { authorization: 'Bearer wrong', 'content-type': 'application/scim+json' }, body: Buffer.alloc(DEFAULT_MAX_REQUEST_BYTES, 'x') });
      expect(refused.statusCode).toBe(401);
      expect(refused.headers.connection).toBe('close');
      await refused.body.text();
      expect((await client.request({ method: 'GET', path: '/healthz' })).statusCode).toBe(200);
    } finally {
      await client.close();
    }
  });

  it('makes a node:http keep-alive Agent send its next request on a new connection, which succeeds', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) =>
      new Promise<{ status: number; connection: string | undefined; reusedSocket: boolean; text: string }>((resolve, reject) => {
        const req = http.request(`${t.url}${path}`, { method, agent, headers: body ? { ...headers, 'content-length': String(body.length) } : headers }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, reusedSocket: req.reusedSocket, text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      for (const { route, path, size, headers } of oversized()) {
        const refused = await send('POST', path, headers, Buffer.alloc(size, 'x'));
        expect([refused.status, refused.connection], route).toEqual([413, 'close']);
        const next = await send('GET', '/healthz');
        expect([next.status, next.reusedSocket], route).toEqual([200, false]);
      }
      // An answer to a request whose (small) body had fully arrived keeps the connection.
      const small = await send('POST', '/webhooks/01900000-0000-7000-8000-000000000000', { 'content-type': 'application/json' }, Buffer.from('{}'));
      expect([small.status, small.connection]).toEqual([404, 'keep-alive']);
      const after = await send('GET', '/healthz');
      expect([after.status, after.reusedSocket]).toEqual([200, true]);
    } finally {
      agent.destroy();
    }
  });

  it('is read whole by a client that sends its entire body before reading: the answer, then the end of the connection, not a reset', async () => {
    const total = 8 * 1024 * 1024;
    const socket = net.connect(Number(new URL(t.url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    const outcome = new Promise<string>((resolve) => {
      socket.on('data', (chunk) => (received += chunk));
      socket.on('end', () => resolve('end'));
      socket.on('error', (error) => resolve(`error ${(error as NodeJS.ErrnoException).code}`));
    });
    socket.pause(); // reads nothing until the whole body is written
    socket.write(`POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let sent = 0; sent < total && !socket.destroyed; sent += chunk.length) {
      if (!socket.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            socket.off('drain', done).off('close', done);
            resolve();
          };
          socket.on('drain', done).on('close', done);
        });
      }
    }
    socket.resume();
    expect(await outcome).toBe('end');
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received.toLowerCase()).toContain('\r\nconnection: close\r\n');
    expect(received).toContain('PAYLOAD_TOO_LARGE');
    socket.destroy();
  });
});
