// Every interleaving of duplicated and reordered deliveries of a source's history converges to the
// state the in-order history gives. Histories are generated as a source would emit them (causally
// valid, strictly increasing source times); the reordered run retries what the engine refused as
// NOT_FOUND (a delivery naming something not delivered yet), as a webhook sender's retries would.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../../src/tenancy/connections.ts';
import type { Database } from '../../src/storage/database.ts';
import type { LifecycleCommandInput } from '../../src/engine/commands.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { openTestDatabase } from '../support/db.ts';
import { engineFixture, systemActor } from '../support/engine-fixture.ts';

const USERS = ['u1', 'u2', 'u3'];
const GROUPS = ['g1', 'g2'];

type Step =
  | { kind: 'upsertUser'; user: number; variant: number; active: boolean }
  | { kind: 'deleteUser'; user: number }
  | { kind: 'upsertGroup'; group: number; variant: number }
  | { kind: 'deleteGroup'; group: number }
  | { kind: 'addMember'; group: number; user: number }
  | { kind: 'removeMember'; group: number; user: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('upsertUser' as const), user: fc.nat(2), variant: fc.nat(3), active: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteUser' as const), user: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('upsertGroup' as const), group: fc.nat(1), variant: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteGroup' as const), group: fc.nat(1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('addMember' as const), group: fc.nat(1), user: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('removeMember' as const), group: fc.nat(1), user: fc.nat(2) }) },
);

/** Keeps only what a real source could emit in that order (no ids reused after deletion). */
function toDeliveries(steps: Step[]): Array<{ deliveryId: string; commands: LifecycleCommandInput[] }> {
  const users = new Map<string, 'live' | 'deleted'>();
  const groups = new Map<string, 'live' | 'deleted'>();
  const out: Array<{ deliveryId: string; commands: LifecycleCommandInput[] }> = [];
  let t = Date.parse('2026-01-01T00:00:00Z');
  for (const step of steps) {
    const occurredAt = new Date((t += 1000));
    const u = 'user' in step ? USERS[step.user]! : '';
    const g = 'group' in step ? GROUPS[step.group]! : '';
    let command: LifecycleCommandInput | undefined;
    switch (step.kind) {
      case 'upsertUser':
        if (users.get(u) === 'deleted') break;
        users.set(u, 'live');
        command = { type: 'upsertUser', sourceId: u, mode: 'replace', active: step.active, occurredAt, profile: { userName: `${u}@acme.test`, email: `${u}@acme.test`, title: `title ${step.variant}` } };
        break;
      case 'deleteUser':
        if (users.get(u) !== 'live') break;
        users.set(u, 'deleted');
        command = { type: 'deleteUser', user: { sourceId: u }, occurredAt };
        break;
      case 'upsertGroup':
        if (groups.get(g) === 'deleted') break;
        groups.set(g, 'live');
        command = { type: 'upsertGroup', sourceId: g, displayName: `${g} v${step.variant}`, occurredAt };
        break;
      case 'deleteGroup':
        if (groups.get(g) !== 'live') break;
        groups.set(g, 'deleted');
        command = { type: 'deleteGroup', group: { sourceId: g }, occurredAt };
        break;
      case 'addMember':
      case 'removeMember':
        if (users.get(u) !== 'live' || groups.get(g) !== 'live') break;
        // An unordered source asks for NOT_FOUND on a removal naming a user not delivered yet (as the
        // Clerk, Stytch and template connectors do), so its retry, not a skip, decides.
        command =
          step.kind === 'addMember'
            ? { type: 'addMembers', group: { sourceId: g }, users: [{ sourceId: u }], occurredAt }
            : { type: 'removeMembers', group: { sourceId: g }, users: [{ sourceId: u }], ifUserAbsent: 'fail', occurredAt };
        break;
    }
    if (command) out.push({ deliveryId: `d${out.length}`, commands: [command] });
  }
  return out;
}

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

async function snapshot(connectionId: string) {
  const users = await db.prisma.directoryUser.findMany({ where: { connectionId }, orderBy: { sourceId: 'asc' } });
  const groups = await db.prisma.directoryGroup.findMany({ where: { connectionId }, orderBy: { sourceId: 'asc' } });
  const memberships = await db.prisma.groupMembership.findMany({ where: { group: { connectionId } }, include: { group: true, user: true } });
  return {
    users: users.map((u) => ({ sourceId: u.sourceId, state: u.state, title: u.title, email: u.email, deleted: u.sourceDeletedAt !== null, roles: u.roles })),
    groups: groups.map((g) => ({ sourceId: g.sourceId, displayName: g.deletedAt ? null : g.displayName, deleted: g.deletedAt !== null, memberCount: g.memberCount })),
    memberships: memberships
      .filter((m) => !m.removedAt)
      .map((m) => `${m.group.sourceId}:${m.user.sourceId}:${m.suspendedAt ? 'suspended' : 'active'}`)
      .sort(),
  };
}

describe('order tolerance', () => {
  it('converges: any interleaving of duplicated and reordered deliveries gives the in-order state', async () => {
    const f = await engineFixture(db);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 3, maxLength: 18 }),
        fc.infiniteStream(fc.nat(1000)),
        fc.array(fc.nat(30), { maxLength: 6 }),
        async (steps, shuffleKeys, duplicateIndexes) => {
          const deliveries = toDeliveries(steps);
          run++;
          const connectionFor = async (name: string) =>
            (await createConnection({ sql: db.sql, registry: f.registry, box: f.box }, { organizationId: f.org.id, provider: 'test', name: `${name} ${run}` }, systemActor)).connectionId;
          const inOrder = await connectionFor('in order');
          const shuffled = await connectionFor('shuffled');
          const send = (connectionId: string, d: (typeof deliveries)[number]) =>
            f.engine.execute({ connectionId, deliveryId: d.deliveryId, actor: { type: 'connection', connectionId }, commands: d.commands });

          for (const d of deliveries) await send(inOrder, d);

          const keys = shuffleKeys.take(deliveries.length);
          const order = deliveries.map((d, i) => ({ d, k: keys.next().value as number })).sort((a, b) => a.k - b.k).map((x) => x.d);
          for (const i of duplicateIndexes) if (deliveries.length) order.splice(i % (order.length + 1), 0, deliveries[i % deliveries.length]!);
          let pending = order;
          for (let round = 0; pending.length && round < deliveries.length + 2; round++) {
            const retry: typeof pending = [];
            for (const d of pending) {
              try {
                await send(shuffled, d);
              } catch (error) {
                if (error instanceof EngineError && error.code === 'NOT_FOUND') retry.push(d);
                else throw error;
              }
            }
            pending = retry;
          }
          expect(pending).toEqual([]);
          expect(await snapshot(shuffled)).toEqual(await snapshot(inOrder));
        },
      ),
      // FC_SEED (and FC_PATH) replay a failure exactly as fast-check printed it.
      {
        numRuns: Number(process.env.PROPERTY_RUNS ?? 40),
        ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {}),
      },
    );
  });
});
