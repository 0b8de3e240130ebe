// Server-side request forgery through connector API base URLs (issue 14, item 3), tried the way
// an organization's own API key would: a base URL naming a private, metadata or file: address is
// refused when the connection is created; a connection that already names one (stored before the
// fix) never makes the hub connect there; a name resolving to a loopback address is refused when
// the socket would connect; and what a vendor answers in an error body is never copied into
// sync.error, a revocation error or a log line.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import clerk from '../../plugins/clerk/index.ts';
import { connectorContext } from '../../src/connectors/context.ts';
import { loadConnectionView } from '../../src/tenancy/connections.ts';
import { createLogger } from '../../src/hub/logger.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { createOrganization, createVendorConnection } from '../support/vendors/connections.ts';
import { svixSecret } from '../support/vendors/svix.ts';

const STYTCH_PROJECT = 'project-test-5f1e2d3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
const STYTCH_ORGANIZATION = 'organization-test-0b7a6c5d-1e2f-4a3b-9c8d-7e6f5a4b3c2d';

const configs = {
  clerk: (url?: string) => ({ webhookSigningSecret: svixSecret(), secretKey: 'sk_test_outboundGuard0123', ...(url ? { apiUrl: url } : {}) }),
  workos: (url?: string) => ({ webhookSecret: 'workos-webhook-secret-0123456789', apiKey: 'sk_test_outbound_guard_0123', apiMaxRetries: 0, ...(url ? { apiBaseUrl: url } : {}) }),
  stytch: (url?: string) => ({ webhookSigningSecret: svixSecret(), projectId: STYTCH_PROJECT, secret: 'secret-test-outboundGuard0123456789', stytchOrganizationId: STYTCH_ORGANIZATION, ...(url ? { apiBaseUrl: url } : {}) }),
};
const urlField = { clerk: 'apiUrl', workos: 'apiBaseUrl', stytch: 'apiBaseUrl' } as const;
type Provider = keyof typeof configs;

/** A loopback server that answers every request the same way and records that it was reached. */
interface Recorder {
  url: string;
  port: number;
  hits: string[];
  close(): Promise<void>;
}
async function recorder(status = 200, contentType = 'application/json', body = '{}'): Promise<Recorder> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(status, { 'content-type': contentType }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

const SYNC = `mutation($c: ID!) { syncConnection(input: { connectionId: $c }) { sync { id } } }`;
const STATUS = `query($o: ID!) { organization(id: $o) { connections { id sync { status error } } } }`;

async function syncToEnd(t: TestHub, organizationId: string, connectionId: string): Promise<{ status: string; error: string | null }> {
  await t.gqlOk(SYNC, { c: connectionId });
  return vi.waitFor(
    async () => {
      const data = await t.gqlOk(STATUS, { o: organizationId });
      const sync = data.organization.connections.find((c: { id: string }) => c.id === connectionId).sync;
      if (sync.status === 'RUNNING') throw new Error(`the sync of ${connectionId} is still running`);
      return sync;
    },
    { timeout: 50_000, interval: 50 },
  );
}

describe('an organization key setting an API base URL', () => {
  let t: TestHub;
  let organizationId: string;
  let orgKey: string;
  beforeAll(async () => {
    // The test hub's own allowances (private networks, 127.0.0.1): refused anyway.
    t = await startTestHub();
    organizationId = await createOrganization(t, 'Mallory');
    const { createApiKey } = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "app" }) { secret } }`, { o: organizationId });
    orgKey = createApiKey.secret;
  });
  afterAll(() => t?.close());

  const CREATE = `mutation($o: ID!, $p: String!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: $p, name: "x", config: $c }) { connection { id } } }`;
  const cases: Array<[Provider, string]> = [
    ['clerk', 'http://10.0.0.5'],
    ['clerk', 'https://169.254.169.254'],
    ['clerk', 'http://[::ffff:169.254.169.254]'],
    ['clerk', 'file:///etc/passwd'],
    ['clerk', 'https://metadata.google.internal'],
    ['workos', 'https://169.254.169.254'],
    ['workos', 'https://192.168.0.10'],
    ['stytch', 'https://169.254.169.254'],
    ['stytch', 'https://internal.corp.example'],
  ];
  for (const [provider, url] of cases) {
    it(`is refused for ${provider} ${url}, naming the field, and nothing is stored`, async () => {
      const result = await t.gql(CREATE, { o: organizationId, p: provider, c: configs[provider](url) }, orgKey);
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: `config.${urlField[provider]}` });
      expect(result.errors?.[0]?.message).toMatch(new RegExp(`^config\\.${urlField[provider]}: `));
      const stored = await t.hub.db.sql.query('SELECT id FROM directory_connection WHERE organization_id = $1', [organizationId]);
      expect(stored).toEqual([]);
    });
  }

  it('is accepted on the vendor\'s own host', async () => {
    const result = await t.gql(CREATE, { o: organizationId, p: 'clerk', c: configs.clerk('https://api.clerk.com') }, orgKey);
    expect(result.errors).toBeUndefined();
  });
});

describe('with the default outbound settings', () => {
  let t: TestHub;
  let standIn: Recorder;
  beforeAll(async () => {
    standIn = await recorder();
    t = await startTestHub({ env: { OUTBOUND_ALLOW_PRIVATE_NETWORKS: '', OUTBOUND_ALLOWED_HOSTS: '' } });
  });
  afterAll(async () => {
    await t?.close();
    await standIn?.close();
  });

  for (const provider of ['clerk', 'workos', 'stytch'] as const) {
    it(`a ${provider} sync never connects to a loopback address a connection stored earlier names`, async () => {
      const c = await createVendorConnection(t, provider, configs[provider]());
      // As a connection created before base URLs were checked would hold it.
      await t.hub.db.sql.query(`UPDATE directory_connection SET config = config || jsonb_build_object($2::text, $3::text) WHERE id = $1`, [c.connectionId, urlField[provider], standIn.url]);
      const sync = await syncToEnd(t, c.organizationId, c.connectionId);
      expect(sync.status).toBe('FAILED');
      expect(sync.error).toContain('127.0.0.1 is not one of the hosts it may reach');
      expect(sync.error).toContain('OUTBOUND_ALLOWED_HOSTS');
      expect(standIn.hits).toEqual([]);
    });
  }
});

describe('with OUTBOUND_ALLOW_PRIVATE_NETWORKS unset and localhost allowed as a host', () => {
  let t: TestHub;
  let standIn: Recorder;
  beforeAll(async () => {
    standIn = await recorder();
    t = await startTestHub({ env: { OUTBOUND_ALLOW_PRIVATE_NETWORKS: '', OUTBOUND_ALLOWED_HOSTS: 'localhost' } });
  });
  afterAll(async () => {
    await t?.close();
    await standIn?.close();
  });

  it('refuses the name when it resolves to a loopback address, as the socket would connect', async () => {
    const c = await createVendorConnection(t, 'clerk', configs.clerk(`http://localhost:${standIn.port}`));
    const sync = await syncToEnd(t, c.organizationId, c.connectionId);
    expect(sync.status).toBe('FAILED');
    expect(sync.error).toMatch(/localhost resolved to (127\.0\.0\.1|::1), a loopback address; the hub sends no requests to private networks unless OUTBOUND_ALLOW_PRIVATE_NETWORKS=true/);
    expect(standIn.hits).toEqual([]);
  });
});

describe('an upstream error body holding a secret', () => {
  const FAKE_SECRET = 'leaked-db-password-7f3a9c2e41';
  const logs: string[] = [];
  let t: TestHub;
  const servers: Recorder[] = [];
  beforeAll(async () => {
    t = await startTestHub({ logger: createLogger('debug', { write: (line: string) => void logs.push(line) }) });
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });
  afterAll(() => t?.close());

  const answers: Array<[Provider, string, string, RegExp]> = [
    ['clerk', 'application/json', JSON.stringify({ errors: [{ code: 'internal', message: `db password ${FAKE_SECRET}`, long_message: `request Authorization: Bearer sk_test_outboundGuard0123 failed: ${FAKE_SECRET}` }] }), /Clerk answered HTTP 500, internal while listing users/],
    ['clerk', 'text/html', `<html><body>${FAKE_SECRET}</body></html>`, /Clerk answered HTTP 500 while listing users/],
    ['workos', 'text/html', `${FAKE_SECRET} <html>proxy error</html>`, /WorkOS answered HTTP 500 with a body that is not JSON while listing directories/],
    ['workos', 'application/json', JSON.stringify({ message: `internal: ${FAKE_SECRET}`, code: 'server_error' }), /WorkOS answered HTTP 500, server_error while listing directories/],
    ['stytch', 'application/json', JSON.stringify({ status_code: 500, error_type: 'internal_server_error', error_message: `boom ${FAKE_SECRET}`, request_id: 'request-id-test-1' }), /Stytch answered HTTP 500, internal_server_error \(request id request-id-test-1\) while searching members/],
    // The SDK reads the body as JSON before it looks at the status: all it can tell is that.
    ['stytch', 'text/html', `${FAKE_SECRET} <html>bad gateway</html>`, /Stytch answered with a body that is not JSON while searching members/],
  ];
  for (const [provider, contentType, body, expected] of answers) {
    it(`is summarized, not copied, in ${provider}'s sync.error (${contentType} answer)`, async () => {
      const upstream = await recorder(500, contentType, body);
      servers.push(upstream);
      const config = configs[provider](upstream.url);
      const c = await createVendorConnection(t, provider, config);
      const sync = await syncToEnd(t, c.organizationId, c.connectionId);
      expect(sync.status).toBe('FAILED');
      expect(upstream.hits.length).toBeGreaterThan(0);
      expect(sync.error).toMatch(expected);
      expect(sync.error).not.toContain(FAKE_SECRET);
      expect(sync.error).not.toContain('<html');
      for (const secret of Object.values(config).filter((v) => typeof v === 'string' && /^(sk_|secret-|whsec_)/.test(v))) expect(sync.error).not.toContain(secret);
      // Nor in any log line written meanwhile.
      expect(logs.join('')).not.toContain(FAKE_SECRET);
    });
  }

  it('is summarized in the error a revocation records', async () => {
    const upstream = await recorder(500, 'application/json', answers[0]![2]);
    servers.push(upstream);
    const c = await createVendorConnection(t, 'clerk', configs.clerk(upstream.url));
    const view = (await loadConnectionView({ sql: t.hub.db.sql, box: t.hub.box }, c.connectionId))!;
    const ctx = connectorContext({ sql: t.hub.db.sql, logger: t.hub.logger, outbound: t.hub.outbound.for(clerk) }, view) as Parameters<NonNullable<typeof clerk.revoke>>[1];
    const error = await clerk.revoke!({ type: 'session', id: 's', externalRef: 'sess_1', user: { id: 'u', sourceId: 'user_1' } }, ctx).then(() => null, (e: Error) => e);
    expect(error?.message).toMatch(/^Clerk answered HTTP 500, internal/);
    expect(error?.message).not.toContain(FAKE_SECRET);
  });
});
