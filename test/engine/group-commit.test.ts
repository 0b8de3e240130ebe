// Group commit and pipelining: deliveries fired at once share transactions (and, on PostgreSQL,
// several batches run at the same time), yet each user's deliveries apply in arrival order and
// the lifecycle events of the organization come out in commit order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { verifyAuditChain } from '../../src/engine/audit-log.ts';
import { openTestDatabase } from '../support/db.ts';
import { engineFixture, person } from '../support/engine-fixture.ts';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase({ poolSize: 8 });
});
afterAll(async () => {
  await db?.close();
});

describe('group commit', () => {
  it('applies concurrent deliveries to the same users in arrival order, none lost or judged stale', async () => {
    const f = await engineFixture(db);
    const users = Array.from({ length: 12 }, (_, i) => `p${i}`);
    await Promise.all(users.map((u) => f.send([person(u)])));
    const committed: string[] = [];
    f.engine.onCommitted((events) => committed.push(...events.map((e) => e.id)));

    const rounds = 8;
    const sends: Array<Promise<{ status: string; results: Array<{ status: string }> }>> = [];
    for (let r = 1; r <= rounds; r++) for (const u of users) sends.push(f.send([person(u, { title: `v${r}` })]));
    const outcomes = await Promise.all(sends);

    expect(outcomes.every((o) => o.status === 'applied' && o.results[0]!.status === 'applied')).toBe(true);
    for (const u of users) expect((await f.user(u)).title).toBe(`v${rounds}`);
    // Each user's updates were committed in the order they were sent.
    const rows = await db.prisma.lifecycleEvent.findMany({ where: { organizationId: f.org.id, type: 'user.updated' }, orderBy: { id: 'asc' }, include: { user: true } });
    for (const u of users) {
      const audit = await db.prisma.auditEvent.findMany({ where: { organizationId: f.org.id, action: 'user.updated', targetId: (await f.user(u)).id }, orderBy: { seq: 'asc' } });
      expect(audit.map((a) => (a.data as { after: { title: string } }).after.title)).toEqual(Array.from({ length: rounds }, (_, i) => `v${i + 1}`));
    }
    expect(rows).toHaveLength(users.length * rounds);
    // Listeners saw every committed event, in ascending id order.
    const ids = committed.map(BigInt);
    expect(ids.length).toBe(users.length * rounds);
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
    // Far fewer transactions than deliveries, and the chain is intact.
    expect(f.engine.stats.batches).toBeLessThan(users.length * (rounds + 1));
    expect(await verifyAuditChain(db.sql, f.org.id)).toMatchObject({ ok: true });
  });

  it('fails only the delivery that is wrong, not the rest of its batch', async () => {
    const f = await engineFixture(db);
    await f.send([person('taken')]);
    const results = await Promise.allSettled([
      f.send([person('ok-1')]),
      f.send([{ type: 'upsertUser', sourceId: 'thief', profile: { userName: 'taken@acme.test' } }]),
      f.send([person('ok-2')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT' });
    expect((await f.user('ok-1')).state).toBe('ACTIVE');
    expect((await f.user('ok-2')).state).toBe('ACTIVE');
    expect(await db.prisma.directoryUser.count({ where: { connectionId: f.connectionId, sourceId: 'thief' } })).toBe(0);
  });
});
