// Clerk backfill through the real @clerk/backend SDK pointed at a Backend API stand-in on
// 127.0.0.1: syncConnection imports users, organizations (groups) and memberships (role groups),
// with progress visible in GraphQL; drift is confirmed with Clerk before it is reported.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestHub, type TestHub } from '../support/server.ts';
import { randomWebhookSecret } from '../support/svix-signing.ts';
import { clerkEvent, clerkMembership, clerkOrganization, clerkUser, sendClerk } from './clerk-objects.ts';
import { startClerkStandIn, type ClerkStandIn } from './clerk-stand-in.ts';

const SECRET_KEY = 'sk_test_backfill_0123456789';
let t: TestHub;
let api: ClerkStandIn;
let organizationId: string;

beforeAll(async () => {
  api = await startClerkStandIn(SECRET_KEY);
  for (let i = 0; i < 230; i++) {
    api.users.push(clerkUser({ id: `user_${String(i).padStart(4, '0')}`, email: `person${i}@northwind.example`, firstName: 'Person', lastName: String(i), banned: i === 7, createdAt: 1770000000000 + i * 1000 }));
  }
  const northwind = clerkOrganization({ id: 'org_northwind', name: 'Northwind', slug: 'northwind' });
  const contoso = clerkOrganization({ id: 'org_contoso', name: 'Contoso', slug: null });
  api.organizations.push(northwind, contoso);
  for (let i = 0; i < 120; i++) api.memberships.push(clerkMembership(northwind, api.users[i], i < 3 ? 'org:admin' : i === 3 ? 'org:billing' : 'org:member'));
  api.memberships.push(clerkMembership(contoso, api.users[200], 'org:admin'));

  t = await startTestHub({ sync: { progressEveryMs: 0 } });
  const org = await t.gqlOk(`mutation { createOrganization(input: { name: "Northwind", slug: "northwind-backfill" }) { organization { id } } }`);
  organizationId = org.createOrganization.organization.id;
});
afterAll(async () => {
  await t?.close();
  await api?.close();
});

const SYNC = `mutation($c: ID!) { syncConnection(input: { connectionId: $c }) { sync { id status } } }`;
const STATUS = `query($o: ID!) { organization(id: $o) { connections { id lastError sync { status processed total drifted error finishedAt } } } }`;

async function connection(secretKey = SECRET_KEY) {
  const secret = randomWebhookSecret();
  const data = await t.gqlOk(
    `mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "clerk", name: "Clerk", config: $c }) { connection { id webhookUrl } } }`,
    { o: organizationId, c: { webhookSigningSecret: secret, secretKey, apiUrl: api.url } },
  );
  return { ...data.createDirectoryConnection.connection, secret } as { id: string; webhookUrl: string; secret: string };
}

/** Polls connection.sync until the run ends; returns every `processed` value seen on the way. */
async function follow(connectionId: string) {
  const seen: number[] = [];
  const read = async () => (await t.gqlOk(STATUS, { o: organizationId })).organization.connections.find((x: { id: string }) => x.id === connectionId);
  await vi.waitFor(
    async () => {
      const c = await read();
      if (c.sync) seen.push(c.sync.processed);
      if (!c.sync || c.sync.status === 'RUNNING') throw new Error(`the sync of ${connectionId} is still running`);
    },
    { timeout: 50_000, interval: 25 },
  );
  // Read once more after the run ended: the connection and its run are read one after the other.
  return { connection: await read(), seen };
}

describe('syncConnection for Clerk', () => {
  it('imports users and organizations through the SDK, paged, with progress visible in GraphQL', async () => {
    const c = await connection();
    const before = api.requests.length;
    api.listingDelayMs = 150; // slow pages: progress shows between them
    await t.gqlOk(SYNC, { c: c.id });
    const { connection: done, seen } = await follow(c.id).finally(() => (api.listingDelayMs = 0));
    expect(done.sync).toMatchObject({ status: 'SUCCEEDED', processed: 230, total: 230, drifted: 0, error: null });
    expect(done.lastError).toBeNull();
    expect(seen.some((processed) => processed > 0 && processed < 230)).toBe(true);

    const users = await t.db.prisma.directoryUser.findMany({ where: { connectionId: c.id } });
    expect(users).toHaveLength(230);
    expect(users.filter((u) => u.state === 'DEPROVISIONED').map((u) => u.sourceId)).toEqual(['user_0007']);
    // Member counts are of active memberships: the banned user_0007's is suspended.
    const groups = await t.db.prisma.directoryGroup.findMany({ where: { connectionId: c.id }, orderBy: { displayName: 'asc' } });
    expect(groups.map((g) => [g.displayName, g.memberCount])).toEqual([
      ['Contoso (org_contoso)', 1],
      ['Contoso (org_contoso) · Admin', 1],
      ['Contoso (org_contoso) · Member', 0],
      ['Northwind (northwind)', 119],
      ['Northwind (northwind) · Admin', 3],
      ['Northwind (northwind) · Billing', 1],
      ['Northwind (northwind) · Member', 115],
    ]);

    // The SDK's own requests: users paged by offset (0 is not sent), with the count alongside.
    const calls = api.calls().slice(before).map((r) => `${r.method} ${r.path}?${r.query}`);
    expect(calls.filter((x) => x.startsWith('GET /v1/users?'))).toEqual([
      'GET /v1/users?limit=100&order_by=%2Bcreated_at',
      'GET /v1/users?limit=100&offset=100&order_by=%2Bcreated_at',
      'GET /v1/users?limit=100&offset=200&order_by=%2Bcreated_at',
    ]);
    expect(calls.filter((x) => x.startsWith('GET /v1/users/count'))).toHaveLength(3);
    expect(calls).toContain('GET /v1/organizations/org_northwind/memberships?limit=100&offset=100');
    const headers = api.requests.at(-1)!.headers;
    expect(headers['clerk-api-version']).toBeTruthy();
    expect(headers['user-agent']).toMatch(/^@clerk\/backend@/);

    const events = await t.db.prisma.lifecycleEvent.findMany({ where: { organizationId, connectionId: c.id, type: { startsWith: 'sync.' } }, orderBy: { id: 'asc' } });
    expect(events[0]!.type).toBe('sync.started');
    expect(events.filter((e) => e.type === 'sync.progress').map((e) => (e.data as { processed: number }).processed).slice(0, 3)).toEqual([100, 200, 230]);
    expect(events.at(-1)).toMatchObject({ type: 'sync.completed', data: expect.objectContaining({ processed: 230, total: 230 }) });

    // A second sync changes nothing.
    const changes = await t.db.prisma.lifecycleEvent.count({ where: { organizationId, connectionId: c.id, type: { not: { startsWith: 'sync.' } } } });
    await t.gqlOk(SYNC, { c: c.id });
    expect((await follow(c.id)).connection.sync.status).toBe('SUCCEEDED');
    expect(await t.db.prisma.lifecycleEvent.count({ where: { organizationId, connectionId: c.id, type: { not: { startsWith: 'sync.' } } } })).toBe(changes);
  });

  it('reports a user gone at Clerk as drift, but not one the listing merely missed (confirmed by id)', async () => {
    const c = await connection();
    await t.db.sql.query('UPDATE directory_connection SET deprovision_on_drift = true WHERE id = $1', [c.id]);
    // Known here from webhooks: one deleted at Clerk since (no webhook came), one Clerk still has.
    const gone = clerkUser({ id: 'user_gone', email: 'gone@northwind.example' });
    await sendClerk(c.webhookUrl, c.secret, clerkEvent('user.created', gone));
    await sendClerk(c.webhookUrl, c.secret, clerkEvent('user.created', api.users[42]));
    api.hiddenFromListing.add('user_0042');
    try {
      await t.gqlOk(SYNC, { c: c.id });
      const { connection: done } = await follow(c.id);
      expect(done.sync).toMatchObject({ status: 'SUCCEEDED', processed: 229, drifted: 1 });
    } finally {
      api.hiddenFromListing.clear();
    }
    expect((await t.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: c.id, sourceId: 'user_gone' } })).state).toBe('DEPROVISIONED');
    expect((await t.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: c.id, sourceId: 'user_0042' } })).state).toBe('ACTIVE');
    // Both candidates were looked up by id before anything was reported.
    const lookup = api.calls().find((r) => r.path === '/v1/users' && r.query.includes('user_id='))!;
    expect(new URLSearchParams(lookup.query).getAll('user_id').sort()).toEqual(['user_0042', 'user_gone']);
    const drift = await t.db.prisma.lifecycleEvent.findFirstOrThrow({ where: { connectionId: c.id, type: 'sync.drift_detected' } });
    expect(drift.data).toMatchObject({ drifted: 1, deprovisioned: true, driftedUsers: [expect.objectContaining({ sourceId: 'user_gone' })] });
  });

  it('fails with what to do when Clerk refuses the secret key', async () => {
    const c = await connection('sk_test_wrong_key');
    await t.gqlOk(SYNC, { c: c.id });
    const { connection: done } = await follow(c.id);
    expect(done.sync.status).toBe('FAILED');
    expect(done.sync.error).toMatch(/Clerk refused the secretKey while listing users \(HTTP 401, authentication_invalid: Invalid authentication; Clerk trace id trace_authentication_invalid\)\. Update the connection's secretKey/);
    expect(done.lastError).toBe(done.sync.error);
  });
});
