// Order tolerance for sources that deliver out of order (webhooks): removals, session ends and
// deletions that arrive before what they undo leave tombstones, so the late, older change is stale.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { openTestDatabase } from '../support/db.ts';
import { engineFixture, person } from '../support/engine-fixture.ts';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
const group = (sourceId: string, minute: number, displayName = sourceId) => ({ type: 'upsertGroup' as const, sourceId, displayName, occurredAt: at(minute) });

describe('memberships from an unordered source', () => {
  it('a removal that arrives before the addition it undoes wins', async () => {
    const f = await engineFixture(db);
    await f.send([({ ...person('u1'), occurredAt: at(0) }) as never, group('g1', 0)]);
    await f.send([{ type: 'removeMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u1' }], occurredAt: at(3) }]);
    const late = await f.send([{ type: 'addMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u1' }], occurredAt: at(2) }]);
    expect(late.status).toBe('noop');
    expect((await f.groupBySource('g1')).memberCount).toBe(0);
  });

  it('a second removal newer than a re-addition that is still on its way keeps the user out', async () => {
    const f = await engineFixture(db);
    await f.send([({ ...person('u1'), occurredAt: at(0) }) as never, group('g1', 0), { type: 'addMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u1' }], occurredAt: at(1) }]);
    await f.send([{ type: 'removeMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u1' }], occurredAt: at(2) }]);
    await f.send([{ type: 'removeMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u1' }], occurredAt: at(4) }]);
    await f.send([{ type: 'addMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u1' }], occurredAt: at(3) }]);
    expect((await f.groupBySource('g1')).memberCount).toBe(0);
  });

  it('ifUserAbsent: fail refuses a removal naming an unknown user with NOT_FOUND (the source retries); skip ignores it', async () => {
    const f = await engineFixture(db);
    await f.send([group('g1', 0)]);
    const skipped = await f.send([{ type: 'removeMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'ghost' }] }]);
    expect(skipped.status).toBe('noop');
    const err = await f.send([{ type: 'removeMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'ghost' }], ifUserAbsent: 'fail' }]).catch((e) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('an addition older than the user\'s deletion is history (kept suspended, or dropped once erased), a newer one is refused', async () => {
    const soft = await engineFixture(db);
    await soft.send([group('g1', 0), { type: 'deleteUser', user: { sourceId: 'u9' }, occurredAt: at(5) }]);
    const late = await soft.send([{ type: 'addMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u9' }], occurredAt: at(2) }]);
    expect(late.status).toBe('applied');
    const kept = await db.prisma.groupMembership.findFirstOrThrow({ where: { user: { connectionId: soft.connectionId, sourceId: 'u9' } } });
    expect(kept.suspendedAt).not.toBeNull();
    const err = await soft.send([{ type: 'addMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u9' }], occurredAt: at(6) }]).catch((e) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });

    const hard = await engineFixture(db, { deprovisionPolicy: 'HARD_DELETE' });
    await hard.send([group('g1', 0), { type: 'deleteUser', user: { sourceId: 'u9' }, occurredAt: at(5) }]);
    const dropped = await hard.send([{ type: 'addMembers', group: { sourceId: 'g1' }, users: [{ sourceId: 'u9' }], occurredAt: at(2) }]);
    expect(dropped.status).toBe('noop');
    expect(await db.prisma.groupMembership.count({ where: { user: { connectionId: hard.connectionId } } })).toBe(0);
  });

  it('where the source keeps names unique, renaming onto a name another group still holds is a CONFLICT to retry, not a constraint failure', async () => {
    const f = await engineFixture(db);
    const group = (sourceId: string, minute: number, displayName: string) => ({ type: 'upsertGroup' as const, sourceId, displayName, occurredAt: at(minute), uniqueName: true });
    await f.send([group('g1', 0, 'Alpha'), group('g2', 0, 'Beta')]);
    const err = await f.send([group('g2', 2, 'Alpha')]).catch((e) => e);
    expect(err).toMatchObject({ code: 'CONFLICT', details: { field: 'displayName', existingId: 'g1' } });
    await f.send([group('g1', 1, 'Gamma')]);
    await f.send([group('g2', 2, 'Alpha')]);
    expect((await f.groupBySource('g2')).displayName).toBe('Alpha');
  });

  it('a source that allows duplicate group names (Clerk organizations, WorkOS groups) keeps both', async () => {
    const f = await engineFixture(db);
    await f.send([group('g1', 0, 'Engineering'), group('g2', 0, 'engineering')]);
    await f.send([group('g3', 1, 'Sales')]);
    await f.send([group('g3', 2, 'Engineering')]);
    expect((await Promise.all(['g1', 'g2', 'g3'].map((g) => f.groupBySource(g)))).map((g) => g.displayName)).toEqual(['Engineering', 'engineering', 'Engineering']);
  });
});

describe('deletions delivered twice, out of order', () => {
  // Found by the Stytch convergence property (seed 1847927638): delete, reactivate, delete again at
  // the source, delivered as delete(2), delete(4), reactivate(3). The second deletion found the user
  // already deleted and left its clock at 2, so the reactivation from 3 revived it.
  for (const policy of ['SOFT', 'HARD_DELETE'] as const) {
    it(`a later deletion of an already deleted user moves its clock, so an update between the two stays stale (${policy})`, async () => {
      const f = await engineFixture(db, { deprovisionPolicy: policy });
      await f.send([{ ...person('u1'), occurredAt: at(1) } as never]);
      await f.send([{ type: 'deleteUser', user: { sourceId: 'u1' }, occurredAt: at(2) }]);
      await f.send([{ type: 'deleteUser', user: { sourceId: 'u1' }, occurredAt: at(4) }]);
      await f.send([{ ...person('u1', { givenName: 'Revived' }), active: true, occurredAt: at(3) } as never]);
      expect(await f.user('u1')).toMatchObject({ state: policy === 'SOFT' ? 'DEPROVISIONED' : 'DELETED', sourceActive: false });
      // A create newer than both deletions still brings the user back.
      await f.send([{ ...person('u1', { givenName: 'Back' }), active: true, occurredAt: at(5) } as never]);
      expect(await f.user('u1')).toMatchObject({ state: 'ACTIVE', givenName: 'Back' });
    });
  }

  it('the same for a deletion first seen as a tombstone (deleted before we saw it created)', async () => {
    const f = await engineFixture(db);
    await f.send([{ type: 'deleteUser', user: { sourceId: 'u2' }, occurredAt: at(2) }]);
    await f.send([{ type: 'deleteUser', user: { sourceId: 'u2' }, occurredAt: at(4) }]);
    await f.send([{ ...person('u2'), active: true, occurredAt: at(3) } as never]);
    expect(await f.user('u2')).toMatchObject({ state: 'DEPROVISIONED', sourceActive: false });
  });

  it('a later deletion of an already deleted group moves its clock, so a re-creation between the two stays stale', async () => {
    const f = await engineFixture(db);
    await f.send([group('g1', 1)]);
    await f.send([{ type: 'deleteGroup', group: { sourceId: 'g1' }, occurredAt: at(2) }]);
    await f.send([{ type: 'deleteGroup', group: { sourceId: 'g1' }, occurredAt: at(4) }]);
    expect((await f.send([group('g1', 3, 'Revived')])).results[0]?.status).toBe('stale');
    expect((await f.groupBySource('g1')).deletedAt).not.toBeNull();
  });
});

describe('sessions from an unordered source', () => {
  it('a session that ended before we saw it start stays ended', async () => {
    const f = await engineFixture(db);
    await f.send([person('u1')]);
    await f.send([{ type: 'endSession', user: { sourceId: 'u1' }, externalRef: 'sess_1', reason: 'ended at the source' }]);
    const late = await f.send([{ type: 'registerSession', user: { sourceId: 'u1' }, externalRef: 'sess_1' }]);
    expect(late.status).toBe('noop');
    const sessions = await db.prisma.session.findMany({ where: { externalRef: 'sess_1', user: { connectionId: f.connectionId } } });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ revocationStatus: 'CONFIRMED', revokedReason: 'ended at the source' });
    expect(sessions[0]!.revokedAt).not.toBeNull();
  });
});
