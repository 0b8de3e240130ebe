// organization.auditLog: the console's audit screen reads the log newest first, paged back by seq;
// a bad beforeSeq is a BAD_USER_INPUT, another organization's log is NOT_FOUND like the rest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/server.ts';

let t: TestHub;
let orgA: string;
let keyB: string;

const LOG = `query($o: ID!, $first: Int, $before: String) { organization(id: $o) { auditLog(first: $first, beforeSeq: $before) { seq action } } }`;

beforeAll(async () => {
  t = await startTestHub();
  const a = await t.gqlOk(`mutation { createOrganization(input: { name: "A", slug: "audit-a" }) { organization { id } } }`);
  orgA = a.createOrganization.organization.id;
  const b = await t.gqlOk(`mutation { createOrganization(input: { name: "B", slug: "audit-b" }) { organization { id } } }`);
  keyB = (await t.gqlOk(`mutation($o: ID!) { createApiKey(input: { organizationId: $o, name: "b" }) { secret } }`, { o: b.createOrganization.organization.id })).createApiKey.secret;
  for (let i = 0; i < 4; i++) await t.gqlOk(`mutation($o: ID!, $n: String!) { createApiKey(input: { organizationId: $o, name: $n }) { apiKey { id } } }`, { o: orgA, n: `k${i}` });
});
afterAll(async () => {
  await t?.close();
});

describe('organization.auditLog', () => {
  it('pages newest first by seq', async () => {
    const all = (await t.gqlOk(LOG, { o: orgA, first: 200 })).organization.auditLog as Array<{ seq: string }>;
    expect(all.length).toBeGreaterThanOrEqual(5);
    const seqs = all.map((r) => Number(r.seq));
    expect(seqs).toEqual([...seqs].sort((x, y) => y - x));
    expect(seqs.at(-1)).toBe(1);
    const page1 = (await t.gqlOk(LOG, { o: orgA, first: 2 })).organization.auditLog as Array<{ seq: string }>;
    const page2 = (await t.gqlOk(LOG, { o: orgA, first: 2, before: page1[1]!.seq })).organization.auditLog as Array<{ seq: string }>;
    expect([...page1, ...page2].map((r) => r.seq)).toEqual(all.slice(0, 4).map((r) => r.seq));
  });

  it('refuses a beforeSeq that is not a seq, with BAD_USER_INPUT', async () => {
    for (const before of ['abc', '-1', '0', '1e3', '99999999999999999999']) {
      const reply = await t.gql(LOG, { o: orgA, before });
      expect(reply.errors?.[0]?.extensions?.code, before).toBe('BAD_USER_INPUT');
    }
  });

  it("keeps another organization's log out of reach (NOT_FOUND, as any foreign id)", async () => {
    const reply = await t.gql(LOG, { o: orgA }, keyB);
    expect(reply.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(reply.data?.organization ?? null).toBeNull();
  });
});
