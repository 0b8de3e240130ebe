// Structured JSON logs from a real hub, captured from its pino destination while it serves
// GraphQL with a bearer key, SCIM with a connection token and Clerk webhooks with a signing secret:
// one line per request (method, route, status, ms, request id), safe request ids echoed, and not a
// single secret anywhere in the output.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/hub/logger.ts';
import { clerkEvent, clerkUser, sendClerk } from '../clerk/clerk-objects.ts';
import { createScimConnection, user } from '../scim/support.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { randomWebhookSecret } from '../support/svix-signing.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('request logs', () => {
  const output: string[] = [];
  let t: TestHub;
  let closed = false;
  let lines: Array<Record<string, any>>;
  const secrets: string[] = [];

  beforeAll(async () => {
    // Debug level: every line the hub can write is in the capture.
    const logger = createLogger('debug', { write: (chunk: string) => void output.push(chunk) });
    t = await startTestHub({ logger });
  });
  afterAll(async () => {
    if (!closed) await t?.close();
  });

  it('serves requests carrying secrets', async () => {
    const webhookSecret = randomWebhookSecret();
    const clerkSecretKey = `sk_test_${randomUUID().replace(/-/g, '')}`;
    secrets.push(t.adminKey, webhookSecret, webhookSecret.replace(/^whsec_/, ''), clerkSecretKey, t.hub.config.encryptionKey!);

    const graphql = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}`, 'x-request-id': 'ops-trace-42' },
      body: JSON.stringify({ query: 'query Orgs { organizations { id } }' }),
    });
    expect(graphql.status).toBe(200);
    expect(graphql.headers.get('x-request-id')).toBe('ops-trace-42');

    const scim = await createScimConnection(t);
    secrets.push(scim.token);
    expect((await scim.request('POST', '/Users', { body: user(`grace.${randomUUID().slice(0, 6)}@acme.test`), headers: { 'x-request-id': 'scim-req-1' } })).status).toBe(201);
    expect((await scim.request('GET', '/Users', { token: `${scim.token}x` })).status).toBe(401);
    secrets.push(`${scim.token}x`);

    const { createDirectoryConnection } = await t.gqlOk(
      `mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "clerk", name: "Clerk", config: $c }) { connection { id webhookUrl } } }`,
      { o: scim.organizationId, c: { webhookSigningSecret: webhookSecret, secretKey: clerkSecretKey, apiUrl: 'http://127.0.0.1:9' } },
    );
    const webhookUrl = createDirectoryConnection.connection.webhookUrl as string;
    const signed = await sendClerk(webhookUrl, webhookSecret, clerkEvent('user.created', clerkUser({ id: 'user_ops1', email: 'ops1@acme.test' })), { headers: { 'x-request-id': 'clerk-delivery-1' } });
    expect(signed.status).toBe(200);
    const forged = await sendClerk(webhookUrl, randomWebhookSecret(), clerkEvent('user.deleted', { id: 'user_ops1', deleted: true, object: 'user' }));
    expect(forged.status).toBe(401);

    // Unsafe or overlong request ids are replaced, never echoed or logged.
    const unsafe = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'evil id"}{"level":60' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(UUID);
    const long = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'a'.repeat(129) } });
    expect(long.headers.get('x-request-id')).toMatch(UUID);
    const kept = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'a'.repeat(128) } });
    expect(kept.headers.get('x-request-id')).toBe('a'.repeat(128));

    // Secret fields are redacted wherever a log object carries them.
    t.hub.logger.warn({ connection: { config: { webhookSigningSecret: webhookSecret, secretKey: clerkSecretKey } }, headers: { authorization: `Bearer ${t.adminKey}` } }, 'redaction check');

    closed = true;
    await t.close();
    lines = output.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);
  });

  it('writes one JSON line per request with method, route, status, duration and request id', () => {
    const requests = lines.filter((l) => l.msg === 'request');
    const graphql = requests.find((l) => l.requestId === 'ops-trace-42');
    expect(graphql).toMatchObject({ method: 'POST', route: '/graphql', status: 200, service: 'lifecycle-hub' });
    expect(graphql!.ms).toEqual(expect.any(Number));
    expect(requests.find((l) => l.requestId === 'scim-req-1')).toMatchObject({ method: 'POST', route: '/scim/v2/:connectionId/*', status: 201 });
    expect(requests.find((l) => l.requestId === 'clerk-delivery-1')).toMatchObject({ method: 'POST', route: '/webhooks/:connectionId', status: 200 });
    expect(requests.filter((l) => l.route === '/webhooks/:connectionId' && l.status === 401)).toHaveLength(1);
    expect(requests.filter((l) => l.route === '/healthz')).toHaveLength(3);
    // Every request line names its request with a safe id.
    for (const line of requests) expect(line.requestId, JSON.stringify(line)).toMatch(/^[\w\-=]{1,128}$/);
  });

  it('never writes a secret, and never the unsafe request id', () => {
    const all = output.join('');
    expect(all).toContain('redaction check');
    expect(all).toContain('[redacted]');
    for (const secret of secrets) expect(all.includes(secret), `a secret of ${secret.length} characters is in the logs`).toBe(false);
    expect(all).not.toContain('evil id');
  });
});
