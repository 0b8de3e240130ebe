// Clerk webhooks over real HTTP: the recorded fixtures signed exactly as Svix signs them, verified
// by @clerk/backend, translated and applied. Includes the acceptance scenario: a Clerk-driven
// deprovision leaves the user DEPROVISIONED, sessions revoked and a deprovision event committed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEventRecord } from '../../src/engine/types.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { randomWebhookSecret, svixHeaders, svixSignature } from '../support/svix-signing.ts';
import { clerkEvent, clerkSession, clerkUser, fixture, rawFixture, sendClerk } from './clerk-objects.ts';
import { startClerkStandIn, type ClerkStandIn } from './clerk-stand-in.ts';

// Deprovisions revoke sessions at Clerk (the revocation worker runs in the hub); every connection
// here points the SDK at this stand-in, so nothing leaves 127.0.0.1.
const SECRET_KEY = 'sk_test_webhooks';
let api: ClerkStandIn;
let t: TestHub;
let organizationId: string;
const committed: LifecycleEventRecord[] = [];

beforeAll(async () => {
  api = await startClerkStandIn(SECRET_KEY);
  t = await startTestHub();
  t.hub.engine.onCommitted((events) => committed.push(...events));
  const org = await t.gqlOk(`mutation { createOrganization(input: { name: "Northwind", slug: "northwind" }) { organization { id } } }`);
  organizationId = org.createOrganization.organization.id;
});
afterAll(async () => {
  await t?.close();
  await api?.close();
});

async function clerkConnection(config: Record<string, unknown> = {}, deprovisionPolicy = 'SOFT') {
  const secret = randomWebhookSecret();
  const data = await t.gqlOk(
    `mutation($o: ID!, $c: JSON, $p: DeprovisionPolicy) { createDirectoryConnection(input: { organizationId: $o, provider: "clerk", name: "Clerk", config: $c, deprovisionPolicy: $p }) {
       connection { id webhookUrl config secretFields } } }`,
    { o: organizationId, c: { webhookSigningSecret: secret, secretKey: SECRET_KEY, apiUrl: api.url, ...config }, p: deprovisionPolicy },
  );
  const connection = data.createDirectoryConnection.connection;
  const send = (file: string, options: { id?: string; signedAt?: Date } = {}) => sendClerk(connection.webhookUrl, secret, freshFixture(file), options);
  const sendEvent = (type: string, payload: unknown, options: { id?: string; timestamp?: number } = {}) => sendClerk(connection.webhookUrl, secret, clerkEvent(type, payload, options.timestamp), options);
  const user = (sourceId = PRIYA) => t.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: connection.id, sourceId } });
  return { ...connection, secret, send, sendEvent, user, id: connection.id as string, webhookUrl: connection.webhookUrl as string };
}

/** A fixture's exact bytes (the webhook body as Clerk sent it). */
const freshFixture = (file: string) => rawFixture(file);
const PRIYA = 'user_2tQxA9kLm3NpQ7rS1uVwXyZ4bC6';
const ORG = 'org_2tQw7ZaBc3DeF6gH9iJkLmN1oP4';

const counts = async (connectionId: string) => {
  const [row] = await t.db.sql.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM directory_user WHERE connection_id = $1) AS users, (SELECT count(*)::int FROM inbound_delivery WHERE connection_id = $1) AS deliveries,
            (SELECT count(*)::int FROM audit_event WHERE organization_id = $2) AS audit, (SELECT count(*)::int FROM lifecycle_event WHERE organization_id = $2) AS events`,
    [connectionId, organizationId],
  );
  return row!;
};

describe('signature', () => {
  it('signs as Svix does: the recorded delivery\'s signature is reproduced', () => {
    const example = fixture('_signed-delivery.json');
    const expected = example.headers['svix-signature'].split(' ')[0];
    expect(svixSignature(example.secret, example.headers['svix-id'], Number(example.headers['svix-timestamp']), example.raw_body)).toBe(expected);
  });

  it('accepts a delivery carrying several signatures when one matches (secret rotation)', async () => {
    const c = await clerkConnection();
    const body = freshFixture('user.created.json');
    const headers = svixHeaders(c.secret, 'msg_rotation', body);
    headers['svix-signature'] = `v1,${Buffer.alloc(32, 7).toString('base64')} ${headers['svix-signature']}`;
    const response = await fetch(c.webhookUrl, { method: 'POST', headers, body });
    expect(response.status).toBe(200);
  });

  it('refuses with 401, changing nothing: a wrong secret, a stale or future timestamp, webhook-* header names, no headers', async () => {
    const c = await clerkConnection();
    const body = freshFixture('user.created.json');
    const before = await counts(c.id);
    const attempts: Array<Record<string, string>> = [
      svixHeaders(randomWebhookSecret(), 'msg_1', body),
      svixHeaders(c.secret, 'msg_2', body, { signedAt: new Date(Date.now() - 6 * 60_000) }),
      svixHeaders(c.secret, 'msg_3', body, { signedAt: new Date(Date.now() + 6 * 60_000) }),
      svixHeaders(c.secret, 'msg_4', body, { prefix: 'webhook' }),
      { 'content-type': 'application/json' },
    ];
    for (const headers of attempts) {
      const response = await fetch(c.webhookUrl, { method: 'POST', headers, body });
      expect(response.status).toBe(401);
      expect((await response.json()).message).toMatch(/webhookSigningSecret.*svix-id, svix-timestamp and svix-signature/);
    }
    const tampered = await fetch(c.webhookUrl, { method: 'POST', headers: svixHeaders(c.secret, 'msg_5', body), body: body.replace('Priya', 'Mallory') });
    expect(tampered.status).toBe(401);
    expect(await counts(c.id)).toEqual(before);
  });

  it('is deduplicated on svix-id: a retried delivery (new timestamp and signature) changes nothing', async () => {
    const c = await clerkConnection();
    expect((await c.send('user.created.json', { id: 'msg_retried' })).body).toMatchObject({ status: 'applied', deliveryId: 'msg_retried' });
    const after = await counts(c.id);
    const retry = await c.send('user.created.json', { id: 'msg_retried' });
    expect(retry).toMatchObject({ status: 200, body: { status: 'duplicate' } });
    expect(await counts(c.id)).toEqual(after);
  });
});

describe('users', () => {
  it('user.created: primary email by primary_email_address_id, external_id, public_metadata as custom attributes, verified addresses', async () => {
    const c = await clerkConnection();
    await c.send('user.created.json');
    expect(await c.user()).toMatchObject({
      state: 'ACTIVE', email: 'priya.raman@northwind.example', userName: 'priya.raman@northwind.example', externalId: 'emp-004217',
      givenName: 'Priya', familyName: 'Raman', displayName: 'Priya Raman', customAttributes: { department: 'Finance', employee_type: 'full_time' },
      emails: [{ value: 'priya.raman@northwind.example', primary: true, verified: true }],
    });
    expect((await c.user()).sourceData).not.toHaveProperty('private_metadata');
  });

  it('user.updated: the new primary address; an older update arriving late changes nothing (ordered by data.updated_at)', async () => {
    const c = await clerkConnection();
    await c.send('user.updated.json');
    await c.send('user.created.json');
    expect(await c.user()).toMatchObject({ email: 'p.raman-iyer@northwind.example', familyName: 'Raman-Iyer', customAttributes: { department: 'Treasury' } });
  });

  it('banned, locked and deprovisioned (Directory Sync) deprovision with the reason; back to false reactivates', async () => {
    for (const [file, reason] of [['user.updated.banned.json', 'banned at Clerk'], ['user.updated.locked.json', 'locked at Clerk'], ['user.updated.deprovisioned.json', 'Directory Sync']] as const) {
      const c = await clerkConnection();
      await c.send('user.created.json');
      await c.send(file);
      const user = await c.user();
      expect(user.state, file).toBe('DEPROVISIONED');
      expect(user.deprovisionReason, file).toContain(reason);
      const cleared = clerkUser({ id: PRIYA, email: 'priya.raman@northwind.example', updatedAt: 1773300000000 });
      await c.sendEvent('user.updated', cleared);
      expect((await c.user()).state, file).toBe('ACTIVE');
    }
  });

  it('a locked user stays active when the connection says lockedIsInactive: false', async () => {
    const c = await clerkConnection({ lockedIsInactive: false });
    await c.send('user.created.json');
    await c.send('user.updated.locked.json');
    expect((await c.user()).state).toBe('ACTIVE');
  });

  it('user.deleted deprovisions and keeps the record (SOFT), or erases personal data (HARD_DELETE); a late update cannot revive it', async () => {
    const soft = await clerkConnection();
    await soft.send('user.created.json');
    await soft.send('user.deleted.json');
    // Sent before the deletion, delivered after it: the kept record takes its profile (that is what
    // the user looked like when deleted) but stays deprovisioned and deleted at the source.
    await soft.send('user.updated.json');
    const kept = await soft.user();
    expect(kept).toMatchObject({ state: 'DEPROVISIONED', deprovisionReason: 'deleted at Clerk', email: 'p.raman-iyer@northwind.example' });
    expect(kept.sourceDeletedAt).not.toBeNull();

    const hard = await clerkConnection({}, 'HARD_DELETE');
    await hard.send('user.created.json');
    await hard.send('user.deleted.json');
    await hard.send('user.updated.json');
    // Erased stays erased: a late update writes no personal data back.
    expect(await hard.user()).toMatchObject({ state: 'DELETED', email: null, givenName: null });
  });
});

describe('organization memberships', () => {
  it('a Clerk organization is a group and each role a group an administrator maps to hub roles', async () => {
    const c = await clerkConnection();
    await c.send('user.created.json');
    await c.send('organizationMembership.created.json');
    const groups = await t.db.prisma.directoryGroup.findMany({ where: { connectionId: c.id, deletedAt: null }, orderBy: { sourceId: 'asc' } });
    expect(groups.map((g) => [g.sourceId, g.displayName, g.memberCount])).toEqual([
      [ORG, 'Northwind Traders (northwind-traders)', 1],
      [`${ORG}#org:admin`, 'Northwind Traders (northwind-traders) · Admin', 0],
      [`${ORG}#org:member`, 'Northwind Traders (northwind-traders) · Member', 1],
    ]);
    // Clerk admins are hub admins; members get the default role.
    await t.gqlOk(`mutation($g: ID!) { setGroupMapping(input: { groupId: $g, role: "admin" }) { mapping { id } } }`, { g: groups[1]!.id });
    expect((await c.user()).roles).toEqual({ '': 'member' });

    await c.send('organizationMembership.updated.json');
    expect((await c.user()).roles).toEqual({ '': 'admin' });
    const member = await t.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.id, sourceId: `${ORG}#org:member` } });
    expect(member.memberCount).toBe(0);

    await c.send('organizationMembership.deleted.json');
    expect((await c.user()).roles).toEqual({ '': 'member' });
    const all = await t.db.prisma.directoryGroup.findMany({ where: { connectionId: c.id } });
    expect(all.every((g) => g.memberCount === 0)).toBe(true);
  });

  it('a membership event before its user is refused 409 (Svix retries it) and applies once the user exists', async () => {
    const c = await clerkConnection();
    const early = await c.send('organizationMembership.created.json', { id: 'msg_early' });
    expect(early.status).toBe(409);
    await c.send('user.created.json');
    expect((await c.send('organizationMembership.created.json', { id: 'msg_early' })).status).toBe(200);
  });

  it('a deletion that overtakes the membership\'s creation wins', async () => {
    const c = await clerkConnection();
    await c.send('user.created.json');
    await c.send('organizationMembership.deleted.json');
    await c.send('organizationMembership.created.json');
    await c.send('organizationMembership.updated.json');
    const org = await t.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.id, sourceId: ORG } });
    expect(org.memberCount).toBe(0);
  });

  it('organization.created / updated / deleted keep the groups in step', async () => {
    const c = await clerkConnection();
    await c.send('organization.created.json');
    expect((await t.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.id, sourceId: ORG } })).displayName).toBe('Northwind (northwind-traders)');
    await c.send('organization.updated.json');
    expect((await t.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: c.id, sourceId: ORG } })).displayName).toBe('Northwind Traders (northwind-traders)');
    await c.send('organization.deleted.json');
    const left = await t.db.prisma.directoryGroup.findMany({ where: { connectionId: c.id, deletedAt: null } });
    expect(left).toEqual([]);
    // A membership event that was still in flight changes nothing.
    await c.send('user.created.json');
    expect((await c.send('organizationMembership.deleted.json')).status).toBe(200);
  });
});

describe('sessions', () => {
  it('session.created registers the session; session.ended / removed / revoked end it', async () => {
    for (const ending of ['session.ended.json', 'session.removed.json', 'session.revoked.json']) {
      const c = await clerkConnection();
      await c.send('user.created.json');
      await c.send('session.created.json');
      const user = await c.user();
      const [live] = await t.db.prisma.session.findMany({ where: { userId: user.id } });
      expect(live).toMatchObject({ externalRef: 'sess_2tQxD3eFg6HiJ9kL2mNoPqR0sT4', revokedAt: null, connectionId: c.id });
      await c.send(ending);
      const [ended] = await t.db.prisma.session.findMany({ where: { userId: user.id } });
      expect(ended, ending).toMatchObject({ revocationStatus: 'CONFIRMED', revokedReason: `session ${ending.split('.')[1]} at Clerk` });
    }
  });

  it('acknowledges events it does not model (200, ignored)', async () => {
    const c = await clerkConnection();
    const r = await c.sendEvent('email.created', { object: 'email', id: 'ema_1' });
    expect(r).toMatchObject({ status: 200, body: { status: 'ignored' } });
    expect((await c.sendEvent('session.pending', clerkSession('sess_p', PRIYA, 'pending'))).body.status).toBe('ignored');
  });

  it('answers 400, naming the field, for a verified event whose data is not what Clerk documents', async () => {
    const c = await clerkConnection();
    const r = await c.sendEvent('user.updated', { id: PRIYA, object: 'user' });
    expect(r.status).toBe(400);
    expect(r.body.message).toBe('user.updated: data.updated_at: Invalid input: expected number, received undefined');
  });
});

describe('acceptance: a Clerk-driven deprovision over real HTTP', () => {
  it('leaves the user DEPROVISIONED with every session revoked and a user.deprovisioned event committed', async () => {
    const c = await clerkConnection();
    await c.send('user.created.json');
    await c.send('organizationMembership.created.json');
    api.sessions.push(clerkSession('sess_laptop', PRIYA, 'active', 1773154351000), clerkSession('sess_phone', PRIYA, 'active', 1773154352000));
    await c.sendEvent('session.created', api.sessions.at(-2));
    await c.sendEvent('session.created', api.sessions.at(-1));
    const seen = committed.length;

    const banned = await c.send('user.updated.banned.json', { id: 'msg_ban' });
    expect(banned).toMatchObject({ status: 200, body: { status: 'applied' } });

    const user = await c.user();
    expect(user).toMatchObject({ state: 'DEPROVISIONED', deprovisionReason: 'banned at Clerk', roles: {}, isAdmin: false });
    const sessions = await t.db.prisma.session.findMany({ where: { userId: user.id }, orderBy: { externalRef: 'asc' } });
    expect(sessions).toHaveLength(2);
    // Revoked here in the deprovision's commit; the revocation worker then revokes them at Clerk.
    expect(sessions.every((s) => s.revokedAt !== null && ['PENDING', 'CONFIRMED'].includes(s.revocationStatus!))).toBe(true);
    const memberships = await t.db.prisma.groupMembership.findMany({ where: { userId: user.id, removedAt: null } });
    expect(memberships).toHaveLength(2);
    expect(memberships.every((m) => m.suspendedAt !== null)).toBe(true);

    const event = await t.db.prisma.lifecycleEvent.findFirstOrThrow({ where: { organizationId, userId: user.id, type: 'user.deprovisioned' } });
    expect(event).toMatchObject({ connectionId: c.id, deliveryId: 'msg_ban' });
    expect(event.data).toMatchObject({ reason: 'banned at Clerk', revokedSessions: sessions.map((s) => s.id).sort() });
    expect(event.auditEventId).not.toBeNull();
    const published = committed.slice(seen);
    expect(published.map((e) => e.type)).toEqual(expect.arrayContaining(['user.deprovisioned', 'session.revoked', 'session.revoked']));
    expect(published.find((e) => e.type === 'user.deprovisioned')).toMatchObject({ id: String(event.id), userId: user.id, deliveryId: 'msg_ban' });

    await expect.poll(async () => (await t.db.prisma.session.findMany({ where: { userId: user.id } })).map((s) => s.revocationStatus), { timeout: 10_000 }).toEqual(['CONFIRMED', 'CONFIRMED']);
    expect(api.sessions.filter((s) => s.user_id === PRIYA).map((s) => s.status)).toEqual(['revoked', 'revoked']);

    // Svix retries the same delivery: nothing happens twice.
    const before = await counts(c.id);
    expect((await c.send('user.updated.banned.json', { id: 'msg_ban' })).body.status).toBe('duplicate');
    expect(await counts(c.id)).toEqual(before);
  });
});

describe('connection config', () => {
  it('stores the secrets encrypted and never returns them', async () => {
    const c = await clerkConnection({ apiUrl: 'https://api.clerk.com' });
    expect(c.config).toEqual({ apiUrl: 'https://api.clerk.com' });
    expect(c.secretFields).toEqual(['webhookSigningSecret', 'secretKey']);
    const [row] = await t.db.sql.query<{ config: unknown; secrets: string }>('SELECT config, secrets_ciphertext AS secrets FROM directory_connection WHERE id = $1', [c.id]);
    expect(JSON.stringify(row)).not.toContain(c.secret);
    expect(JSON.stringify(row)).not.toContain('sk_test_webhooks');
  });
});

