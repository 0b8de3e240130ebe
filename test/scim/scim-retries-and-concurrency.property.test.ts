// SCIM is synchronous, so an identity provider's "reordering" is concurrency (several clients at
// once, each resource's changes still in order) and its duplicates are retries of a request whose
// answer was lost. Property: any generated provisioning history, sent by three concurrent clients
// with some POSTs and PATCHes sent twice, leaves the same users, groups and memberships as the same
// history sent once, in order, by one client (on another connection) and as the source's model.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestHub } from '../support/server.ts';
import { createScimConnection, GROUP_SCHEMA, patch, startScimHub, user, type ScimConnection } from './support.ts';

const USERS = 3;
const GROUPS = 2;

let t: TestHub;
beforeAll(async () => {
  t = await startScimHub();
});
afterAll(async () => {
  await t?.close();
});

type Op =
  | { kind: 'active'; u: number; active: boolean; retry: boolean }
  | { kind: 'name'; u: number; family: string; retry: boolean }
  | { kind: 'add' | 'remove'; u: number; g: number; retry: boolean };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('active' as const), u: fc.nat(USERS - 1), active: fc.boolean(), retry: fc.boolean() }),
  fc.record({ kind: fc.constant('name' as const), u: fc.nat(USERS - 1), family: fc.constantFrom('Ng', 'Okafor', 'Silva', 'Berg'), retry: fc.boolean() }),
  { arbitrary: fc.record({ kind: fc.constantFrom('add' as const, 'remove' as const), u: fc.nat(USERS - 1), g: fc.nat(GROUPS - 1), retry: fc.boolean() }), weight: 3 },
);

const historyArbitrary = fc.record({
  initialMembers: fc.array(fc.subarray([...Array(USERS).keys()]), { minLength: GROUPS, maxLength: GROUPS }),
  retriedPosts: fc.array(fc.boolean(), { minLength: USERS + GROUPS, maxLength: USERS + GROUPS }),
  ops: fc.array(opArbitrary, { minLength: 3, maxLength: 16 }),
  /** Which of 3 clients sends each resource's changes. */
  clientOf: fc.array(fc.nat(2), { minLength: USERS + USERS * GROUPS, maxLength: USERS + USERS * GROUPS }),
});
type History = typeof historyArbitrary extends fc.Arbitrary<infer T> ? T : never;

/** The chain of requests a change depends on: a user's own changes, or one membership's. */
const keyOf = (op: Op) => (op.kind === 'active' || op.kind === 'name' ? op.u : USERS + op.g * USERS + op.u);

const userName = (run: string, u: number) => `u${u}.${run}@retries.example`;
const groupName = (run: string, g: number) => `Team ${g} ${run}`;

interface Ids {
  users: string[];
  groups: string[];
}

async function expectOk(reply: { status: number; body: unknown }, what: string) {
  expect(reply.status, `${what}: ${JSON.stringify(reply.body)}`).toBeGreaterThanOrEqual(200);
  expect(reply.status, `${what}: ${JSON.stringify(reply.body)}`).toBeLessThan(300);
}

/** POSTs the users and groups; `retried` POSTs are sent again as after a lost answer. */
async function create(c: ScimConnection, run: string, h: History, retried: boolean): Promise<Ids> {
  const ids: Ids = { users: [], groups: [] };
  for (let u = 0; u < USERS; u++) {
    const body = user(userName(run, u), { name: { givenName: `U${u}`, familyName: 'Start' } });
    const first = await c.request('POST', '/Users', { body });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    ids.users.push(first.body.id);
    if (retried && h.retriedPosts[u]) {
      // The retry finds the user the lost answer created: 409 uniqueness, never a second user.
      const again = await c.request('POST', '/Users', { body });
      expect(again.status, JSON.stringify(again.body)).toBe(409);
      expect(again.body.scimType).toBe('uniqueness');
    }
  }
  for (let g = 0; g < GROUPS; g++) {
    const body = { schemas: [GROUP_SCHEMA], displayName: groupName(run, g), members: h.initialMembers[g]!.map((u) => ({ value: ids.users[u] })) };
    const first = await c.request('POST', '/Groups', { body });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    ids.groups.push(first.body.id);
    if (retried && h.retriedPosts[USERS + g]) {
      const again = await c.request('POST', '/Groups', { body });
      expect(again.status, JSON.stringify(again.body)).toBe(409);
      expect(again.body.scimType).toBe('uniqueness');
    }
  }
  return ids;
}

async function send(c: ScimConnection, ids: Ids, op: Op) {
  switch (op.kind) {
    case 'active':
      return c.request('PATCH', `/Users/${ids.users[op.u]}`, { body: patch({ op: 'replace', value: { active: op.active } }) });
    case 'name':
      return c.request('PATCH', `/Users/${ids.users[op.u]}`, { body: patch({ op: 'replace', value: { name: { givenName: `U${op.u}`, familyName: op.family } } }) });
    case 'add':
      return c.request('PATCH', `/Groups/${ids.groups[op.g]}`, { body: patch({ op: 'add', path: 'members', value: [{ value: ids.users[op.u] }] }) });
    case 'remove':
      return c.request('PATCH', `/Groups/${ids.groups[op.g]}`, { body: patch({ op: 'remove', path: `members[value eq "${ids.users[op.u]}"]` }) });
  }
}

/** The connection's users and groups as SCIM serves them, by name (ids differ between connections). */
async function observe(c: ScimConnection) {
  const users = await c.request('GET', '/Users?count=100');
  const groups = await c.request('GET', '/Groups?count=100');
  const nameOf = new Map<string, string>(users.body.Resources.map((r: any) => [r.id, r.userName]));
  return {
    users: Object.fromEntries(users.body.Resources.map((r: any) => [r.userName.split('.')[0], `${r.active ? 'active' : 'inactive'} ${r.name?.familyName}`])),
    groups: Object.fromEntries(
      groups.body.Resources.map((r: any) => [r.displayName.split(' ').slice(0, 2).join(' '), (r.members ?? []).map((m: any) => String(nameOf.get(m.value) ?? m.value).split('.')[0]).sort()]),
    ),
    totals: { users: users.body.totalResults, groups: groups.body.totalResults },
  };
}

/** The source's model: each user's last active flag and name; each membership's last add or remove. */
function model(h: History) {
  const users = Array.from({ length: USERS }, () => ({ active: true, family: 'Start' }));
  const members = Array.from({ length: GROUPS }, (_, g) => new Set(h.initialMembers[g]));
  for (const op of h.ops) {
    if (op.kind === 'active') users[op.u]!.active = op.active;
    else if (op.kind === 'name') users[op.u]!.family = op.family;
    else if (op.kind === 'add') members[op.g]!.add(op.u);
    else members[op.g]!.delete(op.u);
  }
  return { users: Object.fromEntries(users.map((u, i) => [`u${i}`, `${u.active ? 'active' : 'inactive'} ${u.family}`])), members };
}

it('converges to the in-order state when changes come from concurrent clients and some requests are retried', async () => {
  const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : randomBytes(4).readUInt32BE() >>> 1;
  console.log(`[property] SCIM retries and concurrency: seed ${seed} (replay with FC_SEED=${seed})`);
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(historyArbitrary, async (h) => {
      const run = `r${++runs}${randomBytes(2).toString('hex')}`;
      const inOrder = await createScimConnection(t);
      const faulty = await createScimConnection(t);

      const orderedIds = await create(inOrder, run, h, false);
      for (const op of h.ops) await expectOk(await send(inOrder, orderedIds, op), `in order ${JSON.stringify(op)}`);

      const ids = await create(faulty, run, h, true);
      const clients: Op[][] = [[], [], []];
      for (const op of h.ops) clients[h.clientOf[keyOf(op)]!]!.push(op);
      await Promise.all(
        clients.map(async (ops) => {
          for (const op of ops) {
            await expectOk(await send(faulty, ids, op), `concurrent ${JSON.stringify(op)}`);
            // The same request again, as after an answer lost on the way back: changes nothing more.
            if (op.retry) await expectOk(await send(faulty, ids, op), `retried ${JSON.stringify(op)}`);
          }
        }),
      );

      const [expected, actual] = [await observe(inOrder), await observe(faulty)];
      expect(actual).toEqual(expected);
      expect(actual.totals).toEqual({ users: USERS, groups: GROUPS });
      const source = model(h);
      expect(actual.users).toEqual(source.users);
      // Members as the source has them (a deactivated user's memberships are suspended in the hub
      // but still served to the source, which still lists them).
      for (let g = 0; g < GROUPS; g++) {
        expect(actual.groups[`Team ${g}`], `members of Team ${g}`).toEqual([...source.members[g]!].map((u) => `u${u}`).sort());
      }
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 8), seed },
  );
}, 300_000);
