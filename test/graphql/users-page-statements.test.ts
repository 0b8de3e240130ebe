// A users page with groups and roles is served by a fixed, small number of SQL statements,
// whatever the page size: no N+1 (Prisma relation joins, planned by Pothos from the selection).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConnector } from '../support/engine-fixture.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

let t: TestHub;
let orgId: string;
beforeAll(async () => {
  t = await startTestHub({ connectors: [testConnector] });
  const { createOrganization } = await t.gqlOk('mutation { createOrganization(input: { name: "Big", slug: "big" }) { organization { id } } }');
  orgId = createOrganization.organization.id;
  const { createDirectoryConnection } = await t.gqlOk('mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "test", name: "idp" }) { connection { id } } }', { o: orgId });
  const connectionId = createDirectoryConnection.connection.id;
  const users = Array.from({ length: 150 }, (_, i) => `u${String(i).padStart(3, '0')}`);
  await t.hub.engine.execute({
    connectionId,
    actor: { type: 'connection', connectionId },
    commands: [
      ...users.map((u) => ({ type: 'upsertUser' as const, sourceId: u, profile: { userName: `${u}@big.test`, email: `${u}@big.test` } })),
      ...['eng', 'ops', 'sales'].map((g) => ({ type: 'upsertGroup' as const, sourceId: g, displayName: g })),
      { type: 'addMembers', group: { sourceId: 'eng' }, users: users.slice(0, 100).map((sourceId) => ({ sourceId })) },
      { type: 'addMembers', group: { sourceId: 'ops' }, users: users.slice(50).map((sourceId) => ({ sourceId })) },
    ],
  });
});
afterAll(async () => {
  await t?.close();
});

const page = `query($id: ID!, $first: Int!, $after: String) { organization(id: $id) {
  users(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id email state roles groups { id displayName } } } } } }`;

async function statementsFor(first: number, after: string | null = null) {
  const seen: string[] = [];
  const stop = t.db.onStatement((sql) => seen.push(sql));
  const data = await t.gqlOk(page, { id: orgId, first, after });
  stop();
  return { data, seen };
}

describe('users page', () => {
  it('loads 100 users with their groups and roles in at most 3 statements, and the same for 10', async () => {
    const big = await statementsFor(100);
    expect(big.data.organization.users.edges).toHaveLength(100);
    expect(big.data.organization.users.totalCount).toBe(150);
    expect(big.data.organization.users.edges[60].node.groups.map((g: { displayName: string }) => g.displayName).sort()).toEqual(['eng', 'ops']);
    expect(big.seen.length).toBeLessThanOrEqual(3);
    const small = await statementsFor(10);
    expect(small.seen.length).toBe(big.seen.length);
  });

  it('the next page (after a cursor) is as cheap, and continues where the first ended', async () => {
    const first = await statementsFor(100);
    const next = await statementsFor(100, first.data.organization.users.pageInfo.endCursor);
    expect(next.seen.length).toBeLessThanOrEqual(3);
    expect(next.seen.length).toBe(first.seen.length);
    const ids = (d: typeof first.data) => d.organization.users.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(ids(next.data)).toHaveLength(50);
    expect(new Set([...ids(first.data), ...ids(next.data)]).size).toBe(150);
    expect(next.data.organization.users.pageInfo.hasNextPage).toBe(false);
    expect(first.data.organization.users.pageInfo.hasNextPage).toBe(true);
  });
});
