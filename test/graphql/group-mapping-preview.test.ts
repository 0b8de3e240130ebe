// groupMappingPreview: whose roles a mapping would change before it is saved (the setup portal's
// "who gets what"), computed by the engine as setGroupMapping computes them, and nothing written.
// A real hub on a port; users and groups pushed over SCIM, GraphQL over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/server.ts';
import { createScimConnection, GROUP_SCHEMA, user, type ScimConnection } from '../scim/support.ts';
import { expectNothingChanged } from '../abuse/support.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const PREVIEW = `query($g: ID!, $m: [GroupMappingProposal!]!, $first: Int) {
  groupMappingPreview(input: { groupId: $g, mappings: $m }) { members changed warnings changes(first: $first) { before after user { id userName roles } } } }`;
const ROLES = `query($u: ID!) { user(id: $u) { roles } }`;

/** An organization with two groups: Engineering (ada, bob) and Admins (ada). */
async function directory(): Promise<{ c: ScimConnection; ada: string; bob: string; engineering: string; admins: string }> {
  const c = await createScimConnection(t);
  const ada = (await c.request('POST', '/Users', { body: user('ada@acme.test') })).body.id as string;
  const bob = (await c.request('POST', '/Users', { body: user('bob@acme.test') })).body.id as string;
  const engineering = (await c.request('POST', '/Groups', { body: { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: [{ value: ada }, { value: bob }] } })).body.id as string;
  const admins = (await c.request('POST', '/Groups', { body: { schemas: [GROUP_SCHEMA], displayName: 'Admins', members: [{ value: ada }] } })).body.id as string;
  return { c, ada, bob, engineering, admins };
}

describe('groupMappingPreview', () => {
  it('names each member whose roles would change, before and after, and changes nothing; saving gives exactly that', async () => {
    const d = await directory();
    const preview = await expectNothingChanged(t, async () => (await t.gqlOk(PREVIEW, { g: d.admins, m: [{ role: 'admin' }] })).groupMappingPreview);
    expect(preview).toMatchObject({ members: 1, changed: 1, warnings: [] });
    expect(preview.changes).toEqual([{ before: ['member'], after: ['admin'], user: { id: d.ada, userName: 'ada@acme.test', roles: ['member'] } }]);

    await t.gqlOk(`mutation($g: ID!) { setGroupMapping(input: { groupId: $g, role: "admin" }) { mapping { id } } }`, { g: d.admins });
    expect((await t.gqlOk(ROLES, { u: d.ada })).user.roles).toEqual(['admin']);

    // Highest role wins: Engineering as viewer changes nobody's organization role but bob's.
    const engineering = (await t.gqlOk(PREVIEW, { g: d.engineering, m: [{ role: 'viewer' }] })).groupMappingPreview;
    expect(engineering).toMatchObject({ members: 2, changed: 1 });
    expect(engineering.changes).toEqual([{ before: ['member'], after: ['viewer'], user: expect.objectContaining({ id: d.bob }) }]);
    // A workspace mapping adds a workspace role.
    const workspace = (await t.gqlOk(PREVIEW, { g: d.engineering, m: [{ role: 'admin', workspace: 'billing' }] })).groupMappingPreview;
    expect(workspace.changes.map((c: { after: string[] }) => c.after).sort()).toEqual([['admin', 'billing:admin'], ['member', 'billing:admin']]);
  });

  it('an empty list previews removing the mapping, with the warning the engine gives when the last admin would go', async () => {
    const d = await directory();
    await t.gqlOk(`mutation($g: ID!) { setGroupMapping(input: { groupId: $g, role: "admin" }) { mapping { id } } }`, { g: d.admins });
    const preview = await expectNothingChanged(t, async () => (await t.gqlOk(PREVIEW, { g: d.admins, m: [] })).groupMappingPreview);
    expect(preview.changes).toEqual([{ before: ['admin'], after: ['member'], user: expect.objectContaining({ id: d.ada }) }]);
    expect(preview.warnings.join(' ')).toMatch(/admin/);
    // Moving the mapping to a workspace: the organization role goes, the workspace role comes.
    const moved = (await t.gqlOk(PREVIEW, { g: d.admins, m: [{ role: 'admin', workspace: 'billing' }] })).groupMappingPreview;
    expect(moved.changes).toEqual([{ before: ['admin'], after: ['member', 'billing:admin'], user: expect.objectContaining({ id: d.ada }) }]);
  });

  it('reads the users of a page in one statement, however many rows', async () => {
    const c = await createScimConnection(t);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await c.request('POST', '/Users', { body: user(`u${i}@acme.test`) })).body.id as string);
    const group = (await c.request('POST', '/Groups', { body: { schemas: [GROUP_SCHEMA], displayName: 'Everyone', members: ids.map((value) => ({ value })) } })).body.id as string;
    const seen: string[] = [];
    const stop = t.db.onStatement((sql) => seen.push(sql));
    let preview;
    try {
      preview = (await t.gqlOk(PREVIEW, { g: group, m: [{ role: 'viewer' }], first: 10 })).groupMappingPreview;
    } finally {
      stop();
    }
    expect(preview).toMatchObject({ members: 12, changed: 12 });
    expect(preview.changes).toHaveLength(10);
    expect(new Set(preview.changes.map((row: { user: { id: string } }) => row.user.id)).size).toBe(10);
    // The users of the page: one SELECT naming them all after the engine's preview (the only one with IN / ANY over ids from Prisma).
    expect(seen.filter((sql) => /FROM "public"\."directory_user"/.test(sql) && /IN \(|= ANY/.test(sql))).toHaveLength(1);
  });

  it('refuses bad input with a coded error, and another organization gets NOT_FOUND', async () => {
    const d = await directory();
    const refused = async (variables: Record<string, unknown>, key?: string) => (await t.gql(PREVIEW, variables, key)).errors?.[0]?.extensions?.code;
    expect(await refused({ g: d.admins, m: [{ role: 'owner' }] })).toBe('BAD_USER_INPUT');
    expect(await refused({ g: d.admins, m: [{ role: 'admin' }, { role: 'viewer' }] })).toBe('BAD_USER_INPUT');
    expect(await refused({ g: d.admins, m: Array.from({ length: 51 }, (_, i) => ({ role: 'admin', workspace: `w${i}` })) })).toBe('BAD_USER_INPUT');
    expect(await refused({ g: 'not-a-group', m: [] })).toBe('NOT_FOUND');
    const other = await createScimConnection(t);
    const { createApiKey } = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "other" }) { secret } }`, { o: other.organizationId });
    expect(await refused({ g: d.admins, m: [{ role: 'admin' }] }, createApiKey.secret)).toBe('NOT_FOUND');
  });
});
