// The Events API (`events`): a Relay connection over committed lifecycle events in commit order,
// paged by event id, filtered by type, isolated per organization, and without gap or duplicate
// while writes go on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConnector } from '../support/engine-fixture.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { eventIds, seedOrganization, type Seeded } from '../streams/support.ts';

let t: TestHub;
let org: Seeded;
let other: Seeded;
beforeAll(async () => {
  t = await startTestHub({ connectors: [testConnector] });
  org = await seedOrganization(t, 'events-api');
  other = await seedOrganization(t, 'events-api-other');
  await org.provision('ada', 5);
  await org.send([{ type: 'deactivateUser', user: { sourceId: 'ada1' } }]);
  await other.provision('bob', 2);
});
afterAll(async () => {
  await t?.close();
});

const EVENTS = `query($o: ID!, $after: ID, $first: Int, $types: [String!]) { events(organizationId: $o, after: $after, first: $first, types: $types) {
  edges { cursor node { id type occurredAt enforcedAt user { id } } } pageInfo { hasNextPage endCursor } } }`;

async function allPages(key: string, orgId: string, first: number, types?: string[]) {
  const ids: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const { events }: { events: any } = await t.gqlOk(EVENTS, { o: orgId, after, first, types }, key);
    for (const edge of events.edges) {
      expect(edge.cursor).toBe(edge.node.id);
      ids.push(edge.node.id);
    }
    if (!events.pageInfo.hasNextPage) return ids;
    after = events.pageInfo.endCursor;
  }
  throw new Error('never ended');
}

describe('events', () => {
  it('pages through every committed event in commit order, with the same shape as the subscription', async () => {
    const expected = await eventIds(t, org.orgId);
    expect(expected.length).toBeGreaterThanOrEqual(6);
    expect(await allPages(org.orgKey, org.orgId, 2)).toEqual(expected);
    const { events } = await t.gqlOk(EVENTS, { o: org.orgId, first: 1 }, org.orgKey);
    expect(events.edges[0].node).toMatchObject({ id: expected[0], type: 'user.provisioned', user: { id: expect.any(String) } });
    expect(events.pageInfo).toEqual({ hasNextPage: true, endCursor: expected[0] });
  });

  it('starts after a cursor, and an empty page at the end keeps hasNextPage false and no endCursor', async () => {
    const expected = await eventIds(t, org.orgId);
    const { events } = await t.gqlOk(EVENTS, { o: org.orgId, after: expected[2], first: 500 }, org.orgKey);
    expect(events.edges.map((e: { cursor: string }) => e.cursor)).toEqual(expected.slice(3));
    const end = await t.gqlOk(EVENTS, { o: org.orgId, after: expected.at(-1) }, org.orgKey);
    expect(end.events).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('filters by type', async () => {
    const ids = await allPages(org.orgKey, org.orgId, 1, ['user.deprovisioned']);
    expect(ids).toEqual(await eventIds(t, org.orgId, ['user.deprovisioned']));
    expect(ids).toHaveLength(1);
  });

  it("shows an organization key only its own organization's events, and another's as NOT_FOUND", async () => {
    const { errors, data } = await t.gql(EVENTS, { o: org.orgId }, other.orgKey);
    expect(errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(data).toBeNull();
    // Cursors of another organization's events name nothing here: only this organization's follow.
    const otherIds = await eventIds(t, other.orgId);
    expect(await allPages(other.orgKey, other.orgId, 50)).toEqual(otherIds);
  });

  it.each([
    ['after that is not an event id', { after: 'abc' }, 'after'],
    ['after beyond a bigint', { after: '99999999999999999999' }, 'after'],
    ['a negative first', { first: -1 }, 'first'],
    ['first over 500', { first: 501 }, 'first'],
    ['an empty type', { types: [''] }, 'types'],
    ['too many types', { types: Array.from({ length: 101 }, (_, i) => `t${i}`) }, 'types'],
  ])('refuses %s with BAD_USER_INPUT naming the argument', async (_name, args, field) => {
    const { errors } = await t.gql(EVENTS, { o: org.orgId, ...args }, org.orgKey);
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('pages without gap or duplicate while writes go on', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 20; i++) await org.provision(`live${i}-`, 3);
      writing = false;
    })();
    for (let rounds = 0; rounds < 10_000; rounds++) {
      // Read before the page is asked for: a page answered from before the writer's last commit
      // must not end the loop just because the writer finished while it was in flight.
      const writerWasDone = !writing;
      const { events }: { events: any } = await t.gqlOk(EVENTS, { o: org.orgId, after, first: 7 }, org.orgKey);
      for (const edge of events.edges) seen.push(edge.cursor);
      after = events.pageInfo.endCursor ?? after;
      if (writerWasDone && !events.pageInfo.hasNextPage) break;
    }
    await writer;
    expect(seen).toEqual(await eventIds(t, org.orgId));
  });
});
