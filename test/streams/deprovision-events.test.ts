// deprovisionEvents and lifecycleEvents over real graphql-ws and SSE connections: live delivery,
// authentication, organization isolation, and lossless resume (after a disconnect, at the seam
// while writes go on, and across a server restart on the same database).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../support/db.ts';
import { testConnector } from '../support/engine-fixture.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { DEPROVISION_QUERY, eventIds, LIFECYCLE_QUERY, seedOrganization, subscribeSse, subscribeWs, waitForSubscribers, wsClient } from './support.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ connectors: [testConnector] });
});
afterAll(async () => {
  await t?.close();
});

const deprovision = (userId: string, key?: string) =>
  t.gqlOk(`mutation($u: ID!) { deprovisionUser(input: { userId: $u, reason: "left the company" }) { user { id state } } }`, { u: userId }, key);

describe('live delivery', () => {
  it('delivers a deprovision over graphql-ws with what was revoked, ended and why', async () => {
    const org = await seedOrganization(t, 'live-ws');
    const [ada] = await org.provision('ada', 1);
    await org.send([{ type: 'upsertGroup', sourceId: 'eng', displayName: 'Engineering' }, { type: 'addMembers', group: { sourceId: 'eng' }, users: [{ sourceId: 'ada0' }] }]);
    const { registerSession } = await t.gqlOk(`mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "sess-1" }) { session { id } } }`, { u: ada });
    const { registerCredential } = await t.gqlOk(`mutation($u: ID!) { registerCredential(input: { userId: $u, kind: api_key, externalRef: "key-1" }) { credential { id } } }`, { u: ada });
    const group = await t.hub.db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId: org.connectionId } });

    const client = wsClient(t.url, org.orgKey);
    try {
      const sub = subscribeWs(client, DEPROVISION_QUERY, { o: org.orgId }, 'deprovisionEvents');
      await waitForSubscribers(t, org.orgId, 1);
      const signalledAt = new Date(Date.now() + 1);
      await org.send([{ type: 'deactivateUser', user: { sourceId: 'ada0' }, occurredAt: signalledAt }], 'okta-evt-1');
      const [event] = await sub.waitFor(1);
      expect(event).toMatchObject({
        type: 'user.deprovisioned',
        occurredAt: signalledAt.toISOString(),
        reason: 'deactivated at the source',
        warnings: [],
        user: { id: ada, externalId: 'ext-ada0', userName: 'ada0@acme.test', email: 'ada0@acme.test', state: 'DEPROVISIONED' },
        connection: { id: org.connectionId, provider: 'test' },
        revokedSessions: [registerSession.session.id],
        revokedCredentials: [registerCredential.credential.id],
        endedMemberships: [group.id],
      });
      expect(new Date(event.enforcedAt).getTime()).toBeGreaterThanOrEqual(new Date(event.receivedAt).getTime());
      const row = await t.hub.db.prisma.lifecycleEvent.findFirstOrThrow({ where: { organizationId: org.orgId, type: 'user.deprovisioned' } });
      expect(event.id).toBe(row.id.toString());
      sub.dispose();
    } finally {
      await client.dispose();
    }
  });

  it('delivers over SSE (graphql-yoga) as well', async () => {
    const org = await seedOrganization(t, 'live-sse');
    const [grace] = await org.provision('grace', 1);
    const sub = await subscribeSse(t.url, org.orgKey, DEPROVISION_QUERY, { o: org.orgId }, 'deprovisionEvents');
    expect(sub.status).toBe(200);
    try {
      await waitForSubscribers(t, org.orgId, 1);
      await deprovision(grace!, org.orgKey);
      const [event] = await sub.waitFor(1);
      expect(event).toMatchObject({ type: 'user.deprovisioned', reason: 'left the company', user: { id: grace, state: 'DEPROVISIONED' }, connection: null });
    } finally {
      sub.dispose();
    }
  });

  it('filters lifecycleEvents by type and shows the group and connection', async () => {
    const org = await seedOrganization(t, 'live-types');
    await org.provision('lin', 2);
    const client = wsClient(t.url, org.orgKey);
    try {
      const sub = subscribeWs(client, LIFECYCLE_QUERY, { o: org.orgId, types: ['membership.added', 'group.created'] }, 'lifecycleEvents');
      await waitForSubscribers(t, org.orgId, 1);
      await org.send([{ type: 'upsertGroup', sourceId: 'ops', displayName: 'Ops' }, { type: 'addMembers', group: { sourceId: 'ops' }, users: [{ sourceId: 'lin1' }] }]);
      await org.send([{ type: 'deactivateUser', user: { sourceId: 'lin0' } }]);
      await org.send([{ type: 'addMembers', group: { sourceId: 'ops' }, users: [{ sourceId: 'lin0' }] }]);
      const events = await sub.waitFor(3);
      expect(events.map((e) => e.type)).toEqual(['group.created', 'membership.added', 'membership.added']);
      expect(events[1]).toMatchObject({ group: { displayName: 'Ops' }, user: { state: 'ACTIVE' }, connection: { id: org.connectionId, provider: 'test' } });
      expect(events.map((e) => e.id)).toEqual(await eventIds(t, org.orgId, ['membership.added', 'group.created']));
    } finally {
      await client.dispose();
    }
  });
});

describe('only committed changes', () => {
  it('publishes nothing for a change that was refused or rolled back, or a dry run, and every committed change once', async () => {
    const org = await seedOrganization(t, 'committed-only');
    await org.provision('c', 2);
    const dry = await t.gqlOk(
      `mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "test", name: "Dry", testMode: true }) { connection { id } } }`,
      { o: org.orgId },
    );
    const dryConnection = dry.createDirectoryConnection.connection.id as string;
    const start = (await eventIds(t, org.orgId)).at(-1)!;
    const client = wsClient(t.url, org.orgKey);
    try {
      const sub = subscribeWs(client, LIFECYCLE_QUERY, { o: org.orgId, after: start }, 'lifecycleEvents');
      // Refused as a whole: the first command applies in memory, the second fails, nothing commits.
      await expect(org.send([{ type: 'deactivateUser', user: { sourceId: 'c0' } }, { type: 'deactivateUser', user: { sourceId: 'nobody' } }])).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // Test mode: audited as a dry run, nothing applied, no event.
      await t.hub.engine.execute({ connectionId: dryConnection, actor: { type: 'connection', connectionId: dryConnection }, commands: [{ type: 'upsertUser', sourceId: 'ghost', profile: { userName: 'ghost@acme.test' } }] });
      await org.send([{ type: 'deactivateUser', user: { sourceId: 'c1' } }]);
      const ids = (await eventIds(t, org.orgId)).filter((id) => BigInt(id) > BigInt(start));
      await sub.waitFor(ids.length);
      // A fixed sleep on purpose: it proves nothing more arrives (no event for the refused batch or the dry run).
      await new Promise((r) => setTimeout(r, 200));
      expect(sub.items.map((e) => e.id)).toEqual(ids);
      expect(sub.items.map((e) => e.type)).toEqual(['user.deprovisioned', 'role.changed']);
      expect(sub.items.every((e) => e.user?.id !== undefined && e.user.state === 'DEPROVISIONED')).toBe(true);
      expect(sub.items[0].user).toMatchObject({ state: 'DEPROVISIONED' });
      const c0 = await t.hub.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId: org.connectionId, sourceId: 'c0' } });
      expect(c0.state).toBe('ACTIVE');
    } finally {
      await client.dispose();
    }
  });
});

describe('authentication and isolation', () => {
  it('refuses a bad key when the WebSocket connects', async () => {
    let closed: { code: number; reason: string } | undefined;
    const client = wsClient(t.url, 'lhk_wrong', { onClosed: (e) => (closed = e) });
    try {
      const sub = subscribeWs(client, DEPROVISION_QUERY, { o: '00000000-0000-7000-8000-000000000000' }, 'deprovisionEvents');
      await sub.waitForError();
      expect(closed?.code).toBe(4403);
    } finally {
      await client.dispose();
    }
  });

  it('answers a bad key on SSE with 401', async () => {
    const sub = await subscribeSse(t.url, 'lhk_wrong', DEPROVISION_QUERY, { o: '00000000-0000-7000-8000-000000000000' }, 'deprovisionEvents');
    expect(sub.status).toBe(401);
    const none = await subscribeSse(t.url, null, DEPROVISION_QUERY, { o: '00000000-0000-7000-8000-000000000000' }, 'deprovisionEvents');
    expect(none.status).toBe(401);
  });

  it('lets an organization key subscribe only to its own organization, and never shows it another one’s events', async () => {
    const a = await seedOrganization(t, 'iso-a');
    const b = await seedOrganization(t, 'iso-b');
    const [aUser] = await a.provision('a', 1);
    const [bUser] = await b.provision('b', 1);

    const client = wsClient(t.url, a.orgKey);
    try {
      const foreign = subscribeWs(client, DEPROVISION_QUERY, { o: b.orgId }, 'deprovisionEvents');
      const error = await foreign.waitForError();
      expect(error[0].extensions.code).toBe('NOT_FOUND');
      const foreignSse = await subscribeSse(t.url, a.orgKey, LIFECYCLE_QUERY, { o: b.orgId }, 'lifecycleEvents');
      expect(await foreignSse.waitForError().then((e) => e?.[0]?.extensions?.code ?? e?.errors?.[0]?.extensions?.code)).toBe('NOT_FOUND');
      foreignSse.dispose();
      const own = subscribeWs(client, LIFECYCLE_QUERY, { o: a.orgId }, 'lifecycleEvents');
      await waitForSubscribers(t, a.orgId, 1);
      await deprovision(bUser!);
      await deprovision(aUser!);
      const events = await own.waitFor(1);
      // A fixed sleep on purpose: it proves the other organization's event never arrives.
      await new Promise((r) => setTimeout(r, 200));
      expect(own.items.every((e) => e.user?.id !== bUser)).toBe(true);
      expect(events[0].user.id).toBe(aUser);
    } finally {
      await client.dispose();
    }
  });

  it('rejects a malformed after with BAD_USER_INPUT', async () => {
    const org = await seedOrganization(t, 'bad-after');
    const client = wsClient(t.url, org.orgKey);
    try {
      const sub = subscribeWs(client, DEPROVISION_QUERY, { o: org.orgId, after: 'abc' }, 'deprovisionEvents');
      expect((await sub.waitForError())[0].extensions.code).toBe('BAD_USER_INPUT');
    } finally {
      await client.dispose();
    }
  });
});

describe('resume with after', () => {
  it('replays what was missed while disconnected, then continues live: no gap, no duplicate', async () => {
    const org = await seedOrganization(t, 'resume-disconnect');
    const users = await org.provision('r', 6);
    const startAfter = (await eventIds(t, org.orgId)).at(-1)!;

    let client = wsClient(t.url, org.orgKey);
    const first = subscribeWs(client, DEPROVISION_QUERY, { o: org.orgId, after: startAfter }, 'deprovisionEvents');
    await deprovision(users[0]!);
    await deprovision(users[1]!);
    const seen = await first.waitFor(2);
    await client.dispose();

    // Missed while away.
    await deprovision(users[2]!);
    await deprovision(users[3]!);

    client = wsClient(t.url, org.orgKey);
    try {
      const resumed = subscribeWs(client, DEPROVISION_QUERY, { o: org.orgId, after: seen.at(-1).id }, 'deprovisionEvents');
      await resumed.waitFor(2);
      await deprovision(users[4]!);
      await deprovision(users[5]!);
      const after = await resumed.waitFor(4);
      const all = [...seen, ...after];
      expect(all.map((e) => e.user.id)).toEqual(users);
      expect(all.map((e) => e.id)).toEqual(await eventIds(t, org.orgId, ['user.deprovisioned']));
    } finally {
      await client.dispose();
    }
  });

  it('switches from replay to live at the seam without gap or duplicate while writes keep coming (ws and SSE)', async () => {
    const org = await seedOrganization(t, 'resume-seam');
    await org.provision('s', 20);
    // Keep writing while two subscribers (ws and SSE) join with after = 0 and replay everything.
    // (The writer yields to the event loop each round: PGlite answers without leaving it.)
    let round = 0;
    let joined!: () => void;
    const joinNow = new Promise<void>((r) => (joined = r));
    const writer = (async () => {
      for (; round < 60; round++) {
        if (round === 10) joined();
        await org.send([{ type: 'upsertUser', sourceId: `s${round % 20}`, profile: { title: `title ${round}` } }]);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const client = wsClient(t.url, org.orgKey);
    try {
      await joinNow;
      const ws = subscribeWs(client, LIFECYCLE_QUERY, { o: org.orgId, after: '0' }, 'lifecycleEvents');
      const sse = await subscribeSse(t.url, org.orgKey, LIFECYCLE_QUERY, { o: org.orgId, after: '0' }, 'lifecycleEvents');
      expect(round).toBeLessThan(60);
      await writer;
      const ids = await eventIds(t, org.orgId);
      await ws.waitFor(ids.length);
      await sse.waitFor(ids.length);
      // A fixed sleep on purpose: it proves no duplicate arrives after the last event.
      await new Promise((r) => setTimeout(r, 200));
      expect(ws.items.map((e) => e.id)).toEqual(ids);
      expect(sse.items.map((e) => e.id)).toEqual(ids);
      sse.dispose();
    } finally {
      await writer;
      await client.dispose();
    }
  });

  it('resumes across a server restart on the same database', async () => {
    const db = await openTestDatabase();
    let first: TestHub | undefined = await startTestHub({ connectors: [testConnector], db });
    let second: TestHub | undefined;
    try {
      const org = await seedOrganization(first, 'restart');
      const users = await org.provision('x', 4);
      const start = (await eventIds(first, org.orgId)).at(-1)!;
      const client = wsClient(first.url, org.orgKey);
      const sub = subscribeWs(client, DEPROVISION_QUERY, { o: org.orgId, after: start }, 'deprovisionEvents');
      await first.gqlOk(`mutation($u: ID!) { deprovisionUser(input: { userId: $u }) { user { id } } }`, { u: users[0] });
      const [seen] = await sub.waitFor(1);
      await client.dispose();
      // A deprovision committed, then the server stops before anyone saw it.
      await first.gqlOk(`mutation($u: ID!) { deprovisionUser(input: { userId: $u }) { user { id } } }`, { u: users[1] });
      await first.close();
      first = undefined;

      second = await startTestHub({ connectors: [testConnector], db });
      const again = wsClient(second.url, org.orgKey);
      try {
        const resumed = subscribeWs(again, DEPROVISION_QUERY, { o: org.orgId, after: seen.id }, 'deprovisionEvents');
        await resumed.waitFor(1);
        await second.gqlOk(`mutation($u: ID!) { deprovisionUser(input: { userId: $u }) { user { id } } }`, { u: users[2] });
        const events = await resumed.waitFor(2);
        expect([seen, ...events].map((e) => e.user.id)).toEqual(users.slice(0, 3));
        expect([seen, ...events].map((e) => e.id)).toEqual(await eventIds(second, org.orgId, ['user.deprovisioned']));
      } finally {
        await again.dispose();
      }
    } finally {
      await first?.close();
      await second?.close();
      await db.close();
    }
  });

  it('ends open subscriptions at shutdown with where to resume from', async () => {
    const db = await openTestDatabase();
    const hub = await startTestHub({ connectors: [testConnector], db });
    try {
      const org = await seedOrganization(hub, 'shutdown');
      const sse = await subscribeSse(hub.url, org.orgKey, DEPROVISION_QUERY, { o: org.orgId }, 'deprovisionEvents');
      await waitForSubscribers(hub, org.orgId, 1);
      await hub.server.stop();
      const error = await sse.waitForError();
      expect(error[0].extensions).toMatchObject({ code: 'STREAM_CLOSED', retryable: true });
      expect(error[0].extensions.resumeAfter).toMatch(/^\d+$/);
    } finally {
      await hub.close();
      await db.close();
    }
  });
});
