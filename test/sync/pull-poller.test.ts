// The pull poller with a connector reading an ordered feed: pages applied in order, the cursor
// saved only after its page is committed, errors recorded with what to do, a webhook waking it,
// interval polling, and one poller per connection across instances sharing a database.
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineConnector, VerificationError } from '../../src/connectors/contract.ts';
import { openDatabase } from '../../src/storage/database.ts';
import type { LifecycleCommandInput } from '../../src/engine/commands.ts';
import { pullDeliveryId } from '../../src/jobs/pulls.ts';
import { onPostgres } from '../support/db.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

/** Each connection's feed, as the source would serve it. */
const feeds = new Map<string, LifecycleCommandInput[]>();
/** Reads of each connection's feed in progress now, and the most ever at once. */
const active = new Map<string, number>();
let maxActive = 0;
let pullDelayMs = 0;

const feedConnector = defineConnector({
  id: 'feed',
  displayName: 'Ordered feed',
  configSchema: z.object({ secret: z.string().min(8) }).strict(),
  secretFields: ['secret'],
  async inbound(request, ctx) {
    if (request.headers.get('x-secret') !== ctx.connection.config.secret) throw new VerificationError('x-secret does not match the connection\'s secret');
    return { deliveryId: request.headers.get('x-id') ?? 'none', ignored: 'the feed is the source of truth', wake: true };
  },
  async pull(cursor, ctx) {
    const now = (active.get(ctx.connection.id) ?? 0) + 1;
    active.set(ctx.connection.id, now);
    maxActive = Math.max(maxActive, now);
    try {
      if (pullDelayMs) await new Promise((r) => setTimeout(r, pullDelayMs));
      // The interval poller can reach a new connection before newConnection() has registered its
      // feed: nothing to read yet, and no cursor to save.
      const feed = feeds.get(ctx.connection.id);
      if (!feed) return { commands: [], cursor, hasMore: false };
      const from = cursor ? Number(cursor) : 0;
      const page = feed.slice(from, from + 2);
      const to = from + page.length;
      return { commands: page, cursor: String(to), hasMore: to < feed.length };
    } finally {
      active.set(ctx.connection.id, active.get(ctx.connection.id)! - 1);
    }
  },
});

const user = (id: string): LifecycleCommandInput => ({ type: 'upsertUser', sourceId: id, profile: { userName: `${id}@feed.test`, email: `${id}@feed.test` } });

let t: TestHub;
let organizationId: string;
beforeAll(async () => {
  t = await startTestHub({ connectors: [feedConnector], sync: { pullIntervalMs: 250 } });
  const org = await t.gqlOk(`mutation { createOrganization(input: { name: "Feed", slug: "feed-org" }) { organization { id } } }`);
  organizationId = org.createOrganization.organization.id;
});
afterAll(async () => {
  await t?.close();
});

async function newConnection(feed: LifecycleCommandInput[] = []) {
  const data = await t.gqlOk(
    `mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "feed", name: "feed", config: { secret: "feed-secret" } }) { connection { id webhookUrl } } }`,
    { o: organizationId },
  );
  const { id, webhookUrl } = data.createDirectoryConnection.connection;
  feeds.set(id, feed);
  return { id: id as string, webhookUrl: webhookUrl as string };
}

const connectionRow = (id: string) => t.db.prisma.directoryConnection.findUniqueOrThrow({ where: { id } });
const userCount = (connectionId: string) => t.db.prisma.directoryUser.count({ where: { connectionId } });

async function eventually(check: () => Promise<boolean>, what: string) {
  const until = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('reading a feed', () => {
  it('applies every page in order and saves the cursor after each', async () => {
    const { id } = await newConnection([user('a'), user('b'), user('c'), { type: 'deactivateUser', user: { sourceId: 'a' } }, user('d')]);
    await t.hub.sync.pullNow(id);
    expect((await connectionRow(id)).cursor).toBe('5');
    expect((await connectionRow(id)).lastSyncedAt).not.toBeNull();
    expect(await userCount(id)).toBe(4);
    expect((await t.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: id, sourceId: 'a' } })).state).toBe('DEPROVISIONED');
    const deliveries = await t.db.prisma.inboundDelivery.findMany({ where: { connectionId: id }, orderBy: { receivedAt: 'asc' } });
    // One delivery per page, named by where it started and ended (the interval poll may have seen the feed empty first: cursor "0").
    expect(deliveries.map((d) => d.deliveryId).filter((d) => d.endsWith('>2')).length).toBe(1);
    expect(deliveries.map((d) => d.deliveryId)).toEqual(expect.arrayContaining([pullDeliveryId('2', '4'), pullDeliveryId('4', '5')]));
    expect(deliveries).toHaveLength(3);
  });

  it('re-reading pages already applied changes nothing', async () => {
    const { id } = await newConnection([user('a'), user('b'), user('c')]);
    await t.hub.sync.pullNow(id);
    const events = await t.db.prisma.lifecycleEvent.count({ where: { connectionId: id } });
    await t.db.sql.query('UPDATE directory_connection SET cursor = NULL WHERE id = $1', [id]);
    await t.hub.sync.pullNow(id);
    expect(await t.db.prisma.lifecycleEvent.count({ where: { connectionId: id } })).toBe(events);
    expect((await connectionRow(id)).cursor).toBe('3');
  });

  it('keeps the cursor before a page the engine refuses, says what to do, and resumes once the cause is gone', async () => {
    const feed = [user('a'), user('b'), { type: 'addMembers', group: { sourceId: 'not-here' }, users: [{ sourceId: 'a' }] } as LifecycleCommandInput, user('c')];
    const { id } = await newConnection(feed);
    await t.hub.sync.pullNow(id);
    const stuck = await connectionRow(id);
    expect(stuck.cursor).toBe('2');
    expect(stuck.lastError).toMatch(/group not-here not found.*Run syncConnection/);
    expect(stuck.lastErrorAt).not.toBeNull();
    expect(await userCount(id)).toBe(2);

    // The source's feed, as read from the saved position, now has the group first.
    feeds.set(id, [user('a'), user('b'), { type: 'upsertGroup', sourceId: 'not-here', displayName: 'Now here' }, feed[2]!, user('c')]);
    await t.hub.sync.pullNow(id);
    const resumed = await connectionRow(id);
    expect(resumed.cursor).toBe('5');
    expect(resumed.lastError).toBeNull();
    expect(await userCount(id)).toBe(3);
  });

  it('leaves an idle connection untouched, and clears its own error once reading works again', async () => {
    const { id } = await newConnection([user('a')]);
    await t.hub.sync.pullNow(id);
    const before = await connectionRow(id);
    await t.hub.sync.pullNow(id);
    expect((await connectionRow(id)).updatedAt).toEqual(before.updatedAt);

    await t.db.sql.query(`UPDATE directory_connection SET last_error = 'sync 1 failed: …', last_error_at = now() WHERE id = $1`, [id]);
    await t.hub.sync.pullNow(id);
    expect((await connectionRow(id)).lastError).toBe('sync 1 failed: …');
    await t.db.sql.query(`UPDATE directory_connection SET last_error = 'reading Ordered feed''s feed failed: timeout', last_error_at = now() WHERE id = $1`, [id]);
    await t.hub.sync.pullNow(id);
    expect((await connectionRow(id)).lastError).toBeNull();
  });

  it('does not read a paused connection', async () => {
    // The feed gets its change only once the connection is paused: the interval poller (every
    // 250 ms) may reach the new connection before the pause, and must find nothing then.
    const { id } = await newConnection([]);
    await t.gqlOk(`mutation($c: ID!) { pauseConnection(input: { connectionId: $c }) { connection { status } } }`, { c: id });
    const before = (await connectionRow(id)).cursor;
    feeds.get(id)!.push(user('a'));
    await t.hub.sync.pullNow(id);
    // A fixed wait on purpose: it proves that no interval round (250 ms) reads it either.
    await new Promise((r) => setTimeout(r, 750));
    expect((await connectionRow(id)).cursor).toBe(before);
    expect(await userCount(id)).toBe(0);
  });
});

describe('when the feed is read', () => {
  it('a verified webhook wakes the poller at once; an unverified one does not', async () => {
    const { id, webhookUrl } = await newConnection([]);
    await t.hub.sync.pullNow(id);
    feeds.get(id)!.push(user('woken'));
    const refused = await fetch(webhookUrl, { method: 'POST', headers: { 'x-secret': 'wrong-secret', 'x-id': 'w0' }, body: '{}' });
    expect(refused.status).toBe(401);
    const response = await fetch(webhookUrl, { method: 'POST', headers: { 'x-secret': 'feed-secret', 'x-id': 'w1' }, body: '{}' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ignored', deliveryId: 'w1' });
    await eventually(async () => (await userCount(id)) === 1, 'the woken poller');
  });

  it('on its interval, without any webhook', async () => {
    const { id } = await newConnection([user('x')]);
    await eventually(async () => (await userCount(id)) === 1, 'the interval poll');
    feeds.get(id)!.push(user('y'));
    await eventually(async () => (await userCount(id)) === 2, 'the next interval poll');
  });

  it.runIf(onPostgres())('by one instance at a time when several share the database', async () => {
    const { id } = await newConnection(Array.from({ length: 8 }, (_, i) => user(`p${i}`)));
    const second = await startTestHub({ connectors: [feedConnector], db: await openDatabase({ url: (t.db as { url?: string }).url!, poolSize: 3, migrate: false }) });
    try {
      maxActive = 0;
      pullDelayMs = 40;
      await Promise.all([t.hub.sync.pullNow(id), second.hub.sync.pullNow(id), t.hub.sync.pullNow(id), second.hub.sync.pullNow(id)]);
      await eventually(async () => (await connectionRow(id)).cursor === '8', 'the feed to be read');
      expect(maxActive).toBe(1);
      expect(await userCount(id)).toBe(8);
    } finally {
      pullDelayMs = 0;
      await second.close();
      await second.db.close();
    }
  });
});
