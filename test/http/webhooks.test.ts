// POST /webhooks/:connectionId over real HTTP: each answer's status says whether the sender should
// retry, the message says what to do, and every answer to a known connection is in its request log.
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import template from '../../plugins/template/index.ts';
import { defineConnector } from '../../src/connectors/contract.ts';
import { testConnector } from '../support/engine-fixture.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { randomWebhookSecret, svixHeaders } from '../support/svix-signing.ts';

/** Verifies nothing and returns a command the engine refuses: stands for a buggy partner connector. */
const buggy = defineConnector({
  id: 'buggy',
  displayName: 'Buggy',
  configSchema: z.object({}),
  inbound: async () => ({ deliveryId: 'b1', commands: [{ type: 'upsertUser', sourceId: '', profile: {} }] }),
});

/** Verifies nothing and applies the commands in the body as they are: a connector that sets no ifUserAbsent. */
const passthrough = defineConnector({
  id: 'passthrough',
  displayName: 'Passthrough',
  configSchema: z.object({}),
  inbound: async (request) => {
    const { id, commands } = JSON.parse(request.rawBody) as { id: string; commands: never[] };
    return { deliveryId: id, commands };
  },
});

let t: TestHub;
let organizationId: string;
beforeAll(async () => {
  t = await startTestHub({ connectors: [template, testConnector, buggy, passthrough] });
  const org = await t.gqlOk(`mutation { createOrganization(input: { name: "Hooks", slug: "hooks" }) { organization { id } } }`);
  organizationId = org.createOrganization.organization.id;
});
afterAll(async () => {
  await t?.close();
});

async function connection(provider: string, config: Record<string, unknown> = {}, testMode = false) {
  const data = await t.gqlOk(
    `mutation($o: ID!, $p: String!, $c: JSON, $t: Boolean) { createDirectoryConnection(input: { organizationId: $o, provider: $p, name: "src", config: $c, testMode: $t }) { connection { id webhookUrl } } }`,
    { o: organizationId, p: provider, c: config, t: testMode },
  );
  return data.createDirectoryConnection.connection as { id: string; webhookUrl: string | null };
}

async function templateConnection(testMode = false) {
  const secret = randomWebhookSecret();
  const c = await connection('template', { signingSecret: secret }, testMode);
  let n = 0;
  const send = async (event: Record<string, unknown>, options: { id?: string; raw?: string } = {}) => {
    const body = options.raw ?? JSON.stringify({ timestamp: new Date().toISOString(), ...event });
    const id = options.id ?? `msg_${++n}_${Date.now()}`;
    const response = await fetch(c.webhookUrl!, { method: 'POST', headers: svixHeaders(secret, id, body, { prefix: 'webhook' }), body });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, unknown> };
  };
  return { ...c, secret, send };
}

/** The request log is written shortly after each answer: its rows once there are `count` of them. */
const logOf = (connectionId: string, count: number) =>
  vi.waitFor(
    async () => {
      const rows = await t.db.prisma.connectionRequestLog.findMany({ where: { connectionId }, orderBy: { id: 'asc' } });
      expect(rows.length, 'request log rows').toBeGreaterThanOrEqual(count);
      return rows;
    },
    { timeout: 2_000, interval: 20 },
  );

describe('answers', () => {
  it('200 with the outcome; 200 "duplicate" for a redelivery', async () => {
    const c = await templateConnection();
    const first = await c.send({ type: 'user.upserted', data: { id: 'u1', email: 'u1@hooks.test' } }, { id: 'same' });
    expect(first).toMatchObject({ status: 200, body: { status: 'applied', deliveryId: 'same', events: 1 } });
    const again = await c.send({ type: 'user.upserted', data: { id: 'u1', email: 'u1@hooks.test' } }, { id: 'same' });
    expect(again).toMatchObject({ status: 200, body: { status: 'duplicate' } });
    const ignored = await c.send({ type: 'invoice.paid', data: {} });
    expect(ignored).toMatchObject({ status: 200, body: { status: 'ignored', reason: expect.stringContaining('invoice.paid') } });
  });

  it('200 "dry_run" in test mode, with nothing applied', async () => {
    const c = await templateConnection(true);
    const r = await c.send({ type: 'user.upserted', data: { id: 'u1', email: 'u1@hooks.test' } });
    expect(r).toMatchObject({ status: 200, body: { status: 'dry_run' } });
    expect(await t.db.prisma.directoryUser.count({ where: { connectionId: c.id } })).toBe(0);
  });

  it('400 for a payload the connector does not understand, naming the field', async () => {
    const c = await templateConnection();
    expect(await c.send({}, { raw: 'not json' })).toMatchObject({ status: 400, body: { error: 'invalid_payload', message: 'the body is not JSON' } });
    expect(await c.send({ type: 'user.upserted', data: { email: 'x' } })).toMatchObject({ status: 400, body: { message: expect.stringContaining('data.id') } });
  });

  it('401 for a bad signature, saying which secret to check', async () => {
    const c = await templateConnection();
    const body = JSON.stringify({ type: 'user.upserted', timestamp: new Date().toISOString(), data: { id: 'u1' } });
    const response = await fetch(c.webhookUrl!, { method: 'POST', headers: svixHeaders(randomWebhookSecret(), 'm1', body, { prefix: 'webhook' }), body });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_signature', message: expect.stringContaining("this connection's signingSecret") });
  });

  it('404 for an unknown URL and for a connection that receives no webhooks; 405 for other methods', async () => {
    const unknown = await fetch(`${t.url}/webhooks/00000000-0000-4000-8000-000000000000`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ message: expect.stringContaining('webhookUrl') });
    const push = await connection('test');
    expect(push.webhookUrl).toBeNull();
    const none = await fetch(`${t.url}/webhooks/${push.id}`, { method: 'POST', body: '{}' });
    expect(none.status).toBe(404);
    const get = await fetch(`${t.url}/webhooks/${push.id}`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('409 for a change naming something not here yet, applied when the sender retries after it arrives', async () => {
    const c = await templateConnection();
    const early = await c.send({ type: 'group.member_added', data: { group_id: 'g1', user_id: 'u1' } }, { id: 'member' });
    expect(early).toMatchObject({ status: 409, body: { error: 'not_found', message: expect.stringContaining('when the sender retries') } });
    await c.send({ type: 'user.upserted', data: { id: 'u1', email: 'u1@hooks.test' } });
    await c.send({ type: 'group.upserted', data: { id: 'g1', name: 'G1' } });
    expect(await c.send({ type: 'group.member_added', data: { group_id: 'g1', user_id: 'u1' } }, { id: 'member' })).toMatchObject({ status: 200, body: { status: 'applied' } });
  });

  it('409 for a removal naming a user not here yet, even from a connector that did not ask for it (webhooks are unordered)', async () => {
    const c = await connection('passthrough');
    const send = async (id: string, commands: unknown[]) => {
      const response = await fetch(c.webhookUrl!, { method: 'POST', body: JSON.stringify({ id, commands }) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
    expect(await send('group', [{ type: 'upsertGroup', sourceId: 'g1', displayName: 'G1', occurredAt: at(0) }])).toMatchObject({ status: 200 });
    // Removed at minute 3, delivered before the user (created at 1) and the addition (at 2).
    const removal = { type: 'removeMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u1' }], occurredAt: at(3) };
    expect(await send('removal', [removal])).toMatchObject({ status: 409, body: { error: 'not_found' } });
    await send('user', [{ type: 'upsertUser', sourceId: 'u1', profile: { email: 'u1@hooks.test' }, occurredAt: at(1) }]);
    await send('added', [{ type: 'addMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u1' }], occurredAt: at(2) }]);
    expect((await t.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.id, sourceId: 'g1' } })).memberCount).toBe(1);
    // The sender retries the removal: it applies, and the user ends outside the group, as at the source.
    expect(await send('removal', [removal])).toMatchObject({ status: 200, body: { status: 'applied' } });
    expect((await t.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.id, sourceId: 'g1' } })).memberCount).toBe(0);
  });

  it('422 when a connector produces a change the engine refuses (a connector bug), nothing applied', async () => {
    const c = await connection('buggy');
    const response = await fetch(c.webhookUrl!, { method: 'POST', body: '{}' });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ error: 'invalid_command', message: expect.stringContaining('connector bug') });
  });

  it('503 with Retry-After while the connection is paused, and when its connector is not loaded', async () => {
    const c = await templateConnection();
    await t.gqlOk(`mutation($c: ID!) { pauseConnection(input: { connectionId: $c }) { connection { status } } }`, { c: c.id });
    const paused = await c.send({ type: 'user.upserted', data: { id: 'u1' } });
    expect(paused).toMatchObject({ status: 503, retryAfter: '60', body: { error: 'connection_paused' } });

    await t.db.sql.query(`UPDATE directory_connection SET provider = 'uninstalled' WHERE id = $1`, [c.id]);
    const unloaded = await fetch(c.webhookUrl!, { method: 'POST', body: '{}' });
    expect(unloaded.status).toBe(503);
    expect(unloaded.headers.get('retry-after')).toBe('300');
    expect(await unloaded.json()).toMatchObject({ error: 'connector_not_loaded', message: expect.stringContaining('LIFECYCLE_PLUGINS') });
  });
});

describe('request log', () => {
  it('records every answer to a known connection but a refused signature, with the error text and never the body or signature', async () => {
    const c = await templateConnection();
    // A delivery whose signature does not verify is anyone's: not in the customer's log.
    const body = '{"type":"user.upserted"}';
    await fetch(c.webhookUrl!, { method: 'POST', headers: svixHeaders(randomWebhookSecret(), 'bad', body, { prefix: 'webhook' }), body });
    await c.send({ type: 'user.upserted', data: { id: 'u1', email: 'u1@hooks.test' } });
    await c.send({}, { raw: 'not json' });
    const rows = (await logOf(c.id, 2)).sort((a, b) => a.status - b.status);
    expect(rows.map((r) => [r.method, r.path, r.status, r.client])).toEqual([
      ['POST', `/webhooks/${c.id}`, 200, 'template'],
      ['POST', `/webhooks/${c.id}`, 400, 'template'],
    ]);
    expect(rows[0]!.error).toBeNull();
    expect(rows[1]!.error).toBe('the body is not JSON');
    expect(rows.every((r) => r.requestId.length > 0 && r.durationMs >= 0)).toBe(true);
    expect(JSON.stringify(rows.map(({ id: _id, ...r }) => r))).not.toContain(c.secret.slice(6));
  });
});
