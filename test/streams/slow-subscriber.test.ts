// A subscriber that stops reading its socket while thousands of events are committed: its buffer
// is bounded, it is cut off with SUBSCRIBER_TOO_SLOW (and where to resume) once it has stayed behind
// too long, the server's memory stays bounded, and resuming with `after` yields every event exactly
// once. A healthy subscriber on the same organization, hit by commits larger than its buffer, is not
// cut off: it falls back to reading the table and catches up.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testConnector } from '../support/engine-fixture.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { eventIds, heapAfterGc, seedOrganization, subscribeWs, trackedWebSocket, waitForSubscribers, wsClient } from './support.ts';

const BUFFER = 200;
let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ connectors: [testConnector], env: { SUBSCRIBER_BUFFER_EVENTS: String(BUFFER), SUBSCRIBER_MAX_LAG_MS: '1000' } });
});
afterAll(async () => {
  await t?.close();
});


const QUERY = `subscription($o: ID!, $after: ID) { lifecycleEvents(organizationId: $o, after: $after) { id type user { id userName displayName } data } }`;

it('cuts off a subscriber that stops reading, keeps memory bounded, and the subscriber resumes without loss', async () => {
  const org = await seedOrganization(t, 'slow');
  const start = (await eventIds(t, org.orgId)).at(-1) ?? '0';
  const tracked = trackedWebSocket();
  const client = wsClient(t.url, org.orgKey, { webSocketImpl: tracked.impl });
  try {
    // Sixteen subscriptions share the socket that stops being read (so its TCP buffers fill sooner).
    const SLOW = 16;
    const slowOnes = Array.from({ length: SLOW }, () => subscribeWs(client, QUERY, { o: org.orgId, after: start }, 'lifecycleEvents'));
    const slow = slowOnes[0]!;
    // A healthy subscriber on the same organization keeps receiving throughout.
    const healthyClient = wsClient(t.url, org.orgKey);
    // (It counts what it gets without keeping it: this process's heap is measured below.)
    const healthy = subscribeWs(healthyClient, QUERY, { o: org.orgId, after: start }, 'lifecycleEvents', { keep: false });
    await waitForSubscribers(t, org.orgId, SLOW + 1, 60_000);
    // The client stops reading: TCP fills up, then the server's send waits, then our buffer.
    (tracked.sockets[0] as unknown as { _socket: { pause(): void } })._socket.pause();

    let produced = 0;
    const produce = async (deliveries: number) => {
      for (let d = 0; d < deliveries; d++) {
        await org.send(
          Array.from({ length: 250 }, (_, i) => ({
            type: 'upsertUser' as const,
            sourceId: `u${produced + i}`,
            profile: { userName: `user-${produced + i}@slow.test${'y'.repeat(900)}`, displayName: 'x'.repeat(1000) },
          })),
        );
        produced += 250;
        await healthy.waitFor(produced, 60_000);
      }
    };
    // Produce until the slow subscriber has been cut off (kernel socket buffers absorb some first).
    while (t.hub.events.snapshot().cutOff === 0 && produced < 40_000) await produce(1);
    while (t.hub.events.snapshot().cutOff < SLOW && produced < 40_000) await produce(1);
    expect(t.hub.events.snapshot().cutOff).toBe(SLOW);
    expect(t.hub.events.snapshot().overflows).toBeGreaterThan(1);
    const cutOffAt = produced;

    // The client reads again (soon: graphql-ws's keep-alive would end a socket unread for 12 s): what
    // was in flight, then the reason, with where to resume.
    (tracked.sockets[0] as unknown as { _socket: { resume(): void } })._socket.resume();
    const error = await slow.waitForError(30_000);
    for (const other of slowOnes) expect((await other.waitForError(30_000))[0].extensions.code).toBe('SUBSCRIBER_TOO_SLOW');
    expect(error[0].extensions).toMatchObject({ code: 'SUBSCRIBER_TOO_SLOW', retryable: true });
    expect(error[0].message).toMatch(/stayed more than 1 s behind/);
    const resumeAfter = error[0].extensions.resumeAfter as string;
    expect(slow.items.at(-1)?.id ?? start).toBe(error[0].extensions.lastDeliveredId ?? start);

    // Once cut off, more events cost the server no memory for that subscriber.
    const heapAtCutOff = heapAfterGc();
    await produce(8);
    const heapAfterMore = heapAfterGc();
    const growthMiB = (heapAfterMore - heapAtCutOff) / 2 ** 20;
    const maxBuffered = t.hub.events.snapshot().maxQueued;
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThanOrEqual(BUFFER);
    expect(t.hub.events.snapshot().buffered).toBe(0);
    expect(growthMiB).toBeLessThan(16);
    expect(t.hub.events.snapshot().cutOff).toBe(SLOW);
    console.info(`slow subscriber: cut off after ${cutOffAt} events; max buffered ${maxBuffered}; heap growth over 2000 more events: ${growthMiB.toFixed(1)} MiB`);

    const resumed = subscribeWs(client, QUERY, { o: org.orgId, after: resumeAfter }, 'lifecycleEvents');
    const all = await eventIds(t, org.orgId);
    const expected = all.filter((id) => BigInt(id) > BigInt(start));
    await resumed.waitFor(expected.length - slow.items.length, 60_000);
    expect([...slow.items, ...resumed.items].map((e) => e.id)).toEqual(expected);
    resumed.dispose();
    healthy.dispose();
    await healthyClient.dispose();
  } finally {
    await client.dispose();
  }
}, 180_000);
