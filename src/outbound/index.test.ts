// The outbound guard against real sockets on 127.0.0.1: address classes, the connect-time DNS
// check, redirects, size and time bounds, and run() for SDKs on the global fetch (and its signal).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowList, createOutbound, nonPublicAddress, OutboundRefusedError, urlRefusal, type OutboundPolicy } from './index.ts';

interface Target {
  url: string;
  hits: string[];
  server: Server;
}

async function target(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Target> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

const policy = (overrides: Partial<OutboundPolicy> = {}): OutboundPolicy => ({ name: 'the test', allowedHosts: null, allowPrivateNetworks: false, ...overrides });

async function refusal(promise: Promise<unknown>): Promise<OutboundRefusedError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(OutboundRefusedError);
  return error as OutboundRefusedError;
}

describe('address classes', () => {
  it.each([
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['[::ffff:10.0.0.1]', 'private'],
    ['64:ff9b::7f00:1', 'special-purpose'],
    ['2002:7f00:1::1', 'special-purpose'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.10', 'reserved'],
  ])('%s is refused as %s', (ip, kind) => {
    expect(nonPublicAddress(ip)).toContain(kind);
  });

  it.each(['1.1.1.1', '8.8.8.8', '100.63.255.255', '172.32.0.1', '2606:4700::1111', '2a00:1450:4001::200e'])('%s is public', (ip) => {
    expect(nonPublicAddress(ip)).toBeNull();
  });
});

describe('URLs refused before any connection', () => {
  const allowed = policy({ allowedHosts: allowList(['api.clerk.com'], ['127.0.0.1']) });
  it.each([
    ['file:///etc/passwd', 'scheme'],
    ['ftp://api.clerk.com/', 'scheme'],
    ['https://169.254.169.254/latest/meta-data/', 'host'],
    ['https://evil.example/', 'host'],
  ])('%s (%s)', (url, reason) => {
    expect(urlRefusal(new URL(url), allowed)?.reason).toBe(reason);
  });

  it('an allowed host passes; a private IP literal is refused even when it is allowed', () => {
    expect(urlRefusal(new URL('https://api.clerk.com/v1/users'), allowed)).toBeNull();
    expect(urlRefusal(new URL('http://127.0.0.1:9/'), allowed)?.reason).toBe('private_address');
    expect(urlRefusal(new URL('http://127.0.0.1:9/'), { ...allowed, allowPrivateNetworks: true })).toBeNull();
    // The URL parser's other spellings of 127.0.0.1 are the same host.
    expect(urlRefusal(new URL('http://2130706433/'), policy())?.reason).toBe('private_address');
    expect(urlRefusal(new URL('http://[::ffff:127.0.0.1]/'), policy())?.reason).toBe('private_address');
  });
});

describe('the guard on real connections', () => {
  let ok: Target;
  let redirect: Target;
  let big: Target;
  let silent: Target;

  beforeAll(async () => {
    ok = await target((_req, res) => res.end('hello'));
    redirect = await target((_req, res) => res.writeHead(302, { location: `${ok.url}/landed` }).end());
    big = await target((req, res) => {
      if (req.url === '/declared') return res.writeHead(200, { 'content-length': String(5000) }).end('x'.repeat(5000));
      res.writeHead(200);
      for (let i = 0; i < 10; i++) res.write('y'.repeat(1000));
      res.end();
    });
    silent = await target(() => {});
  });
  afterAll(async () => {
    for (const t of [ok, redirect, big, silent]) {
      t.server.closeAllConnections();
      await new Promise((r) => t.server.close(r));
    }
  });

  it('never connects to a loopback IP literal without OUTBOUND_ALLOW_PRIVATE_NETWORKS', async () => {
    const before = ok.hits.length;
    const error = await refusal(createOutbound(policy()).fetch(`${ok.url}/secret`));
    expect(error.reason).toBe('private_address');
    expect(error.message).toContain('127.0.0.1 is a loopback address');
    expect(ok.hits.length).toBe(before);
  });

  it('refuses a hostname that resolves to a private address, at connect time', async () => {
    const port = new URL(ok.url).port;
    const before = ok.hits.length;
    const error = await refusal(createOutbound(policy()).fetch(`http://localhost:${port}/`));
    expect(error.message).toMatch(/localhost resolved to (127\.0\.0\.1|::1), a loopback address/);
    expect(ok.hits.length).toBe(before);
  });

  it('checks the answer of the very lookup the connect uses (no second resolution to rebind)', async () => {
    const port = new URL(ok.url).port;
    const asked: string[] = [];
    const lookup = ((hostname: string, _options: unknown, callback: (e: null, a: Array<{ address: string; family: number }>) => void) => {
      asked.push(hostname);
      callback(null, [{ address: '127.0.0.1', family: 4 }]);
    }) as unknown as OutboundPolicy['lookup'];
    const error = await refusal(createOutbound(policy({ lookup })).fetch(`http://localhost:${port}/`));
    expect(error.reason).toBe('private_address');
    expect(asked).toEqual(['localhost']);
  });

  it('reaches a loopback stand-in when private networks are allowed', async () => {
    const response = await createOutbound(policy({ allowPrivateNetworks: true })).fetch(`${ok.url}/hi`);
    expect(await response.text()).toBe('hello');
  });

  it('refuses a host outside the allow-list without connecting', async () => {
    const before = ok.hits.length;
    const error = await refusal(createOutbound(policy({ allowPrivateNetworks: true, allowedHosts: allowList(['api.clerk.com']) })).fetch(`${ok.url}/`));
    expect(error.reason).toBe('host');
    expect(error.message).toContain('OUTBOUND_ALLOWED_HOSTS');
    expect(ok.hits.length).toBe(before);
  });

  it('does not follow a redirect', async () => {
    const error = await refusal(createOutbound(policy({ allowPrivateNetworks: true })).fetch(`${redirect.url}/start`));
    expect(error.reason).toBe('redirect');
    expect(ok.hits).not.toContain('/landed');
  });

  it('refuses an answer over the size limit, declared or streamed', async () => {
    const outbound = createOutbound(policy({ allowPrivateNetworks: true, limits: { maxResponseBytes: 4096 } }));
    expect((await refusal(outbound.fetch(`${big.url}/declared`))).reason).toBe('too_large');
    const error = await outbound.fetch(`${big.url}/streamed`).then((r) => r.text()).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).cause ?? error)).toContain('larger than 4096 bytes');
  });

  it('gives up on a server that never answers', async () => {
    const outbound = createOutbound(policy({ allowPrivateNetworks: true, limits: { responseTimeoutMs: 300 } }));
    const error = await outbound.fetch(`${silent.url}/`).then(() => null, (e: unknown) => e);
    expect(String((error as Error).cause)).toMatch(/Headers Timeout/i);
  });

  it('run(): global fetch inside goes through the guard, outside it does not', async () => {
    const outbound = createOutbound(policy());
    const error = await refusal(outbound.run(() => fetch(`${ok.url}/inside`)));
    expect(error.reason).toBe('private_address');
    expect(ok.hits).not.toContain('/inside');
    expect(await (await fetch(`${ok.url}/outside`)).text()).toBe('hello');
  });

  it('run(): the refusal is the error even when the caller wraps fetch failures', async () => {
    const outbound = createOutbound(policy());
    const wrapped = outbound.run(async () => {
      try {
        return await fetch(`${ok.url}/`);
      } catch {
        throw new Error('unexpected_error: fetch failed');
      }
    });
    expect((await refusal(wrapped)).reason).toBe('private_address');
  });

  it('run() with a signal: requests inside it (global fetch, or the dispatcher) are aborted, their sockets closed', async () => {
    const closed: string[] = [];
    const hanging = await target((req) => req.socket.once('close', () => closed.push(req.url ?? '')));
    try {
      // The guard's own timeout is far off: only the signal can end these requests in time.
      const outbound = createOutbound(policy({ allowPrivateNetworks: true, limits: { responseTimeoutMs: 120_000 } }));
      const controller = new AbortController();
      const viaGlobal = outbound.run(() => fetch(`${hanging.url}/global`), { signal: controller.signal }).then(() => null, (e: unknown) => e);
      const viaDispatcher = outbound.run(() => fetch(`${hanging.url}/dispatcher`, { dispatcher: outbound.dispatcher } as RequestInit), { signal: controller.signal }).then(() => null, (e: unknown) => e);
      await expect.poll(() => hanging.hits.length).toBe(2);
      expect(closed).toEqual([]);
      controller.abort(new Error('out of time'));
      await expect.poll(() => closed.sort(), { timeout: 5_000 }).toEqual(['/dispatcher', '/global']);
      expect(await viaGlobal).toBeInstanceOf(Error);
      expect(await viaDispatcher).toBeInstanceOf(Error);
      // Already aborted: nothing is sent.
      await expect(outbound.run(() => fetch(`${hanging.url}/late`), { signal: controller.signal })).rejects.toThrow('out of time');
      expect(hanging.hits).not.toContain('/late');
    } finally {
      hanging.server.closeAllConnections();
      await new Promise((r) => hanging.server.close(r));
    }
  });
});
