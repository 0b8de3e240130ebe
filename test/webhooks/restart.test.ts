// kill -9 of a hub process with webhook deliveries queued (some attempted and failed, some not yet
// attempted), then a restart on the same data: every committed event reaches the receiver, each
// webhook-id once after dedupe, signed with the endpoint's secret. On the embedded database (DATA_DIR
// on disk) as `npm start` runs it.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { spawnHubProcess, type HubProcess } from '../support/hub-process.ts';
import { USER_SCHEMA } from '../scim/support.ts';
import { deduped, startReceiver, verifyBoth, type Receiver } from './receiver.ts';

const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

async function gql(hub: HubProcess, key: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${hub.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

it('delivers every queued event after a kill -9 and a restart, each webhook-id once', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lh-webhooks-restart-'));
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const receiver: Receiver = await startReceiver();
  cleanup.push(() => receiver.close());
  receiver.answer = () => ({ status: 503, body: 'maintenance' });
  const env = {
    DATA_DIR: dataDir,
    ADMIN_API_KEY: `restart-admin-${randomBytes(12).toString('hex')}`,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
    // Enough retries that none runs out before the kill (the schedule's length is not what this tests).
    WEBHOOK_RETRY_SCHEDULE_SECONDS: Array(50).fill('0.5').join(','),
    LOG_LEVEL: 'error',
  };
  let hub = await spawnHubProcess(env, { seed: { organizations: [{ slug: 'restart', users: 0, source: 'scim' }] } });
  cleanup.push(() => hub.kill());
  const org = hub.organizations[0]!;
  const { createWebhookEndpoint } = await gql(hub, org.key, `mutation($o: ID!, $u: String!) { createWebhookEndpoint(input: { organizationId: $o, url: $u }) { secret endpoint { id } } }`, { o: org.id, u: receiver.url });

  for (let i = 0; i < 12; i++) {
    const response = await fetch(`${org.scim!.baseUrl}/Users`, {
      method: 'POST',
      headers: { 'content-type': 'application/scim+json', authorization: `Bearer ${org.scim!.token}` },
      body: JSON.stringify({ schemas: [USER_SCHEMA], userName: `u${i}@restart.test`, active: true }),
    });
    expect(response.status).toBe(201);
  }
  // Some attempts have been made (and refused with 503); then the process dies without warning.
  await expect.poll(() => receiver.received.length, { timeout: 20_000 }).toBeGreaterThan(0);
  await hub.kill();
  const beforeRestart = receiver.received.length;

  receiver.answer = () => ({ status: 200 });
  hub = await spawnHubProcess(env);
  const { events } = await gql(hub, org.key, `query($o: ID!) { events(organizationId: $o, first: 500) { edges { cursor } } }`, { o: org.id });
  const eventIds: string[] = events.edges.map((e: { cursor: string }) => e.cursor);
  expect(eventIds.length).toBeGreaterThanOrEqual(12);

  const delivered = () => deduped(receiver.received.slice(beforeRestart)).map((r) => verifyBoth(r, createWebhookEndpoint.secret).data.id as string);
  await expect.poll(() => delivered().length, { timeout: 30_000 }).toBe(eventIds.length);
  expect(delivered().sort()).toEqual([...eventIds].sort());
  // Each event has exactly one webhook-id across every attempt, before and after the kill.
  const idsPerEvent = new Map<string, Set<string>>();
  for (const r of receiver.received) {
    const id = verifyBoth(r, createWebhookEndpoint.secret).data.id as string;
    idsPerEvent.set(id, (idsPerEvent.get(id) ?? new Set()).add(String(r.headers['webhook-id'])));
  }
  expect([...idsPerEvent.values()].every((ids) => ids.size === 1)).toBe(true);
  await hub.stop();
}, 180_000);
