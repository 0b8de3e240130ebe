// Memberships from sources that reorder deliveries (WorkOS, Stytch via Svix): a removal leaves its time
// so an older add delivered late stays stale; removals from a deleted group are already so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { openTestDatabase } from '../support/db.ts';
import { engineFixture } from '../support/engine-fixture.ts';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const person = (sourceId: string, s = 0) => ({ type: 'upsertUser' as const, sourceId, profile: { userName: `${sourceId}@acme.test` }, occurredAt: at(s) });
const group = { type: 'upsertGroup' as const, sourceId: 'g', displayName: 'Engineering', occurredAt: at(0) };
const add = (s: number) => ({ type: 'addMembers' as const, group: { sourceId: 'g' }, users: [{ sourceId: 'ann' }], occurredAt: at(s) });
const remove = (s: number) => ({ type: 'removeMembers' as const, group: { sourceId: 'g' }, users: [{ sourceId: 'ann' }], occurredAt: at(s) });

async function membership(f: Awaited<ReturnType<typeof engineFixture>>) {
  const g = await f.groupBySource('g');
  const u = await f.user('ann');
  return db.prisma.groupMembership.findUnique({ where: { groupId_userId: { groupId: g.id, userId: u.id } } });
}

describe('membership order tolerance', () => {
  it('keeps a member removed when the removal arrives before the (older) add', async () => {
    const f = await engineFixture(db);
    await f.send([group, person('ann')]);
    expect((await f.send([remove(2)])).status).toBe('noop');
    expect(await f.send([add(1)])).toMatchObject({ status: 'noop', results: [{ status: 'noop' }] });
    expect(await membership(f)).toMatchObject({ removedAt: expect.any(Date), sourceUpdatedAt: at(2) });
    expect((await f.groupBySource('g')).memberCount).toBe(0);
    // A newer add does apply.
    expect((await f.send([add(3)])).status).toBe('applied');
    expect(await membership(f)).toMatchObject({ removedAt: null, sourceUpdatedAt: at(3) });
    expect((await f.groupBySource('g')).memberCount).toBe(1);
  });

  it('advances the time of an already-ended membership, so an add between two removals stays stale', async () => {
    const f = await engineFixture(db);
    await f.send([group, person('ann'), add(1)]);
    // History: add(1), remove(2), add(3), remove(4); delivered remove(2), remove(4), add(3).
    await f.send([remove(2)]);
    await f.send([remove(4)]);
    await f.send([add(3)]);
    expect(await membership(f)).toMatchObject({ removedAt: expect.any(Date), sourceUpdatedAt: at(4) });
  });

  it('treats removing members from a deleted group as done, and refuses adding to it', async () => {
    const f = await engineFixture(db);
    await f.send([group, person('ann'), add(1)]);
    await f.send([{ type: 'deleteGroup', group: { sourceId: 'g' }, occurredAt: at(2) }]);
    expect((await f.send([remove(3)])).status).toBe('noop');
    expect(await f.send([add(3)]).catch((e) => e)).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('skips a user never seen in a removal by default, and refuses it with NOT_FOUND when asked (ifUserAbsent: "fail")', async () => {
    const f = await engineFixture(db);
    await f.send([group]);
    expect((await f.send([{ ...remove(1), users: [{ sourceId: 'nobody' }] }])).status).toBe('noop');
    const err = await f.send([{ ...remove(1), users: [{ sourceId: 'nobody' }], ifUserAbsent: 'fail' }]).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    // A user deleted at the source is no member of anything: skipped either way.
    await f.send([person('gone'), { type: 'deleteUser', user: { sourceId: 'gone' }, occurredAt: at(1) }]);
    expect((await f.send([{ ...remove(2), users: [{ sourceId: 'gone' }], ifUserAbsent: 'fail' }])).status).not.toBe('applied');
  });

  it('leaves API (non-source) removals of non-members without a trace', async () => {
    const f = await engineFixture(db);
    await f.send([group, person('ann')]);
    const g = await f.groupBySource('g');
    const u = await f.user('ann');
    await f.api([{ type: 'removeMembers', group: { groupId: g.id }, users: [{ userId: u.id }] }]);
    expect(await membership(f)).toBeNull();
  });
});
