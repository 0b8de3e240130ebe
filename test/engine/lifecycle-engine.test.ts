import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { verifyAuditChain } from '../../src/engine/audit-log.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { openTestDatabase } from '../support/db.ts';
import { engineFixture, person } from '../support/engine-fixture.ts';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

describe('provisioning and idempotency', () => {
  it('provisions a user with the default role, one audit row and one event', async () => {
    const f = await engineFixture(db);
    const outcome = await f.send([person('alice')], 'd1');
    expect(outcome.status).toBe('applied');
    const alice = await f.user('alice');
    expect(alice).toMatchObject({ state: 'ACTIVE', email: 'alice@acme.test', roles: { '': 'member' }, isAdmin: false });
    expect((await f.events()).map((e) => e.type)).toEqual(['user.provisioned']);
    expect(outcome.events.map((e) => e.type)).toEqual(['user.provisioned']);
    expect((await f.auditRows()).map((a) => a.action)).toEqual(['organization.created', 'connection.created', 'user.provisioned']);
  });

  it('recognizes a redelivery by its id and changes nothing', async () => {
    const f = await engineFixture(db);
    await f.send([person('bob')], 'same-id');
    const again = await f.send([person('bob', { title: 'CEO' })], 'same-id');
    expect(again.status).toBe('duplicate');
    expect((await f.user('bob')).title).toBeNull();
    expect(await f.events()).toHaveLength(1);
  });

  it('treats the same content sent twice without an id as a no-op', async () => {
    const f = await engineFixture(db);
    await f.send([person('carol')]);
    const again = await f.send([person('carol')]);
    expect(again.status).toBe('noop');
    expect(await f.events()).toHaveLength(1);
    expect(await f.auditRows()).toHaveLength(3);
  });

  it('refuses a second user with the same userName with CONFLICT naming the holder', async () => {
    const f = await engineFixture(db);
    await f.send([person('dave')]);
    const err = await f.send([{ type: 'upsertUser', sourceId: 'dave-2', profile: { userName: 'DAVE@acme.test' } }]).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ code: 'CONFLICT', details: { field: 'userName', existingId: 'dave' } });
  });

  it('rejects an invalid command with a message naming the field', async () => {
    const f = await engineFixture(db);
    const err = await f.send([{ type: 'upsertUser', sourceId: '', profile: {} } as never]).catch((e) => e);
    expect(err).toMatchObject({ code: 'INVALID_COMMAND' });
    expect(err.message).toContain('sourceId');
  });
});

describe('ordering', () => {
  it('ignores an update older than what is stored', async () => {
    const f = await engineFixture(db);
    await f.send([{ ...person('erin', { title: 'new' }), occurredAt: new Date('2026-01-02') } as never]);
    const stale = await f.send([{ ...person('erin', { title: 'old' }), occurredAt: new Date('2026-01-01') } as never]);
    expect(stale.results[0]!.status).toBe('stale');
    expect((await f.user('erin')).title).toBe('new');
  });

  it('keeps a deactivated user deactivated when a stale update arrives after, yet keeps its newer profile', async () => {
    const f = await engineFixture(db);
    await f.send([{ ...person('frank'), occurredAt: new Date('2026-01-01') } as never]);
    await f.send([{ type: 'deactivateUser', user: { sourceId: 'frank' }, occurredAt: new Date('2026-01-03') }]);
    // Sent at t2 (before the deactivation), delivered last: its active:true is older than the
    // deactivation and is ignored; its profile is newer than the one stored and lands.
    const late = await f.send([{ ...person('frank', { title: 'from t2' }), active: true, occurredAt: new Date('2026-01-02') } as never]);
    const frank = await f.user('frank');
    expect(frank.state).toBe('DEPROVISIONED');
    expect(frank.title).toBe('from t2');
    expect(late.events.map((e) => e.type)).toEqual(['user.updated']);
    // An update older than both clocks changes nothing at all.
    const older = await f.send([{ ...person('frank', { title: 'older' }), active: true, occurredAt: new Date('2026-01-01T12:00:00Z') } as never]);
    expect(older.results[0]!.status).toBe('stale');
  });
});

describe('deprovisioning', () => {
  it('revokes every session and credential, ends memberships, drops roles, and records it all', async () => {
    const f = await engineFixture(db);
    await f.send([person('gina'), { type: 'upsertGroup', sourceId: 'eng', displayName: 'Engineering' }, { type: 'addMembers', group: { sourceId: 'eng' }, users: [{ sourceId: 'gina' }] }]);
    const gina = await f.user('gina');
    const eng = await f.groupBySource('eng');
    await f.api([{ type: 'setGroupMapping', group: { groupId: eng.id }, role: 'admin' }]);
    await f.api([{ type: 'registerSession', user: { userId: gina.id }, externalRef: 'sess-1' }]);
    await f.api([{ type: 'registerCredential', user: { userId: gina.id }, kind: 'ssh_key', externalRef: 'key-1' }]);
    await f.send([person('hal')]);

    const outcome = await f.send([{ type: 'deactivateUser', user: { sourceId: 'gina' }, reason: 'left the company' }], 'leave-1');
    const after = await db.prisma.directoryUser.findUniqueOrThrow({ where: { id: gina.id }, include: { sessions: true, credentials: true, memberships: true } });
    expect(after.state).toBe('DEPROVISIONED');
    expect(after.deprovisionedAt).toBeInstanceOf(Date);
    expect(after.roles).toEqual({});
    expect(after.sessions.every((s) => s.revokedAt && s.revocationStatus === 'NOT_REQUIRED')).toBe(true);
    expect(after.credentials.every((c) => c.revokedAt)).toBe(true);
    expect(after.memberships.every((m) => m.suspendedAt)).toBe(true);
    expect((await f.groupBySource('eng')).memberCount).toBe(0);

    const deprovision = outcome.events.find((e) => e.type === 'user.deprovisioned')!;
    expect(deprovision.data).toMatchObject({ reason: 'left the company', revokedSessions: [after.sessions[0]!.id], revokedCredentials: [after.credentials[0]!.id], endedMemberships: [{ groupId: eng.id, displayName: 'Engineering' }] });
    // gina was the only admin: it still happens, with a warning and an orphan event.
    expect(deprovision.data.warnings).toHaveLength(1);
    expect(outcome.events.map((e) => e.type)).toEqual(expect.arrayContaining(['user.deprovisioned', 'session.revoked', 'credential.revoked', 'role.changed', 'organization.admin_orphaned']));
    const audit = (await f.auditRows()).find((a) => a.action === 'user.deprovisioned')!;
    expect(audit.warnings).toHaveLength(1);
    expect(audit.actorType).toBe('connection');
    expect(audit.deliveryId).toBe('leave-1');
  });

  it('reactivation restores the memberships the source still holds and recomputes roles', async () => {
    const f = await engineFixture(db);
    await f.send([person('ivy'), { type: 'upsertGroup', sourceId: 'ops', displayName: 'Ops' }, { type: 'addMembers', group: { sourceId: 'ops' }, users: [{ sourceId: 'ivy' }] }]);
    const ops = await f.groupBySource('ops');
    await f.api([{ type: 'setGroupMapping', group: { groupId: ops.id }, role: 'admin' }]);
    await f.send([{ ...person('ivy'), active: false } as never]);
    expect((await f.user('ivy')).state).toBe('DEPROVISIONED');
    await f.send([{ ...person('ivy'), active: true } as never]);
    const ivy = await f.user('ivy');
    expect(ivy).toMatchObject({ state: 'ACTIVE', roles: { '': 'admin' }, isAdmin: true });
    expect((await f.groupBySource('ops')).memberCount).toBe(1);
  });

  it('refuses a manual reactivation while the source still reports the user inactive', async () => {
    const f = await engineFixture(db);
    await f.send([{ ...person('jack'), active: false } as never]);
    const jack = await f.user('jack');
    const err = await f.api([{ type: 'reactivateUser', user: { userId: jack.id } }]).catch((e) => e);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION' });
  });

  it('HARD_DELETE erases personal data but keeps a tombstone that stale deliveries cannot revive', async () => {
    const f = await engineFixture(db, { deprovisionPolicy: 'HARD_DELETE' });
    await f.send([{ ...person('kim'), occurredAt: new Date('2026-01-01') } as never]);
    await f.send([{ type: 'deleteUser', user: { sourceId: 'kim' }, occurredAt: new Date('2026-01-03') }]);
    await f.send([{ ...person('kim'), occurredAt: new Date('2026-01-02') } as never]);
    const kim = await f.user('kim');
    expect(kim).toMatchObject({ state: 'DELETED', email: null, userName: null, givenName: null });
    expect((await f.events()).map((e) => e.type)).toEqual(['user.provisioned', 'user.deprovisioned', 'role.changed', 'user.deleted']);
  });
});

describe('roles', () => {
  it('gives the highest mapped role per workspace and the default otherwise', async () => {
    const f = await engineFixture(db);
    await f.send([
      person('lee'), person('max'),
      { type: 'upsertGroup', sourceId: 'viewers', displayName: 'Viewers' },
      { type: 'upsertGroup', sourceId: 'admins', displayName: 'Admins' },
      { type: 'addMembers', group: { sourceId: 'viewers' }, users: [{ sourceId: 'lee' }, { sourceId: 'max' }] },
      { type: 'addMembers', group: { sourceId: 'admins' }, users: [{ sourceId: 'lee' }] },
    ]);
    const viewers = await f.groupBySource('viewers');
    const admins = await f.groupBySource('admins');
    await f.api([
      { type: 'setGroupMapping', group: { groupId: viewers.id }, role: 'viewer', workspace: 'docs' },
      { type: 'setGroupMapping', group: { groupId: admins.id }, role: 'admin', workspace: 'docs' },
    ]);
    expect((await f.user('lee')).roles).toEqual({ '': 'member', docs: 'admin' });
    expect((await f.user('max')).roles).toEqual({ '': 'member', docs: 'viewer' });
    await f.send([{ type: 'removeMembers', group: { sourceId: 'admins' }, users: [{ sourceId: 'lee' }] }]);
    expect((await f.user('lee')).roles).toEqual({ '': 'member', docs: 'viewer' });
  });

  it('rejects a mapping to a role the organization does not rank', async () => {
    const f = await engineFixture(db);
    await f.send([{ type: 'upsertGroup', sourceId: 'g', displayName: 'G' }]);
    const g = await f.groupBySource('g');
    await expect(f.api([{ type: 'setGroupMapping', group: { groupId: g.id }, role: 'owner' }])).rejects.toMatchObject({ code: 'INVALID_COMMAND' });
  });
});

describe('connection state', () => {
  it('a paused connection refuses with a retryable error and changes nothing', async () => {
    const f = await engineFixture(db);
    await db.sql.query(`UPDATE directory_connection SET status = 'PAUSED' WHERE id = $1`, [f.connectionId]);
    const err = await f.send([person('nia')]).catch((e) => e);
    expect(err).toMatchObject({ code: 'CONNECTION_PAUSED', retryable: true });
    expect(await db.prisma.directoryUser.count({ where: { connectionId: f.connectionId } })).toBe(0);
  });

  it('test mode records what would change and applies nothing', async () => {
    const f = await engineFixture(db, { testMode: true });
    const outcome = await f.send([person('oz')], 'dry-1');
    expect(outcome.status).toBe('dry_run');
    expect(outcome.results[0]!.user?.email).toBe('oz@acme.test');
    expect(await db.prisma.directoryUser.count({ where: { connectionId: f.connectionId } })).toBe(0);
    expect(await f.events()).toHaveLength(0);
    const dry = (await f.auditRows()).filter((a) => a.testMode);
    expect(dry.map((a) => a.action)).toEqual(['user.provisioned']);
  });
});

describe('audit chain', () => {
  it('verifies, and finds a row altered or deleted directly in SQL', async () => {
    const f = await engineFixture(db);
    await f.send([person('pat')]);
    await f.send([person('quinn')]);
    await f.send([{ type: 'deactivateUser', user: { sourceId: 'pat' } }]);
    expect(await verifyAuditChain(db.sql, f.org.id)).toMatchObject({ ok: true, checked: 5, firstBrokenId: null });

    const rows = await f.auditRows();
    const victim = rows[3]!;
    await db.sql.transaction(async (tx) => {
      await tx.query('ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only');
      await tx.query(`UPDATE audit_event SET data = '{"tampered": true}' WHERE id = $1`, [victim.id]);
      await tx.query('ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only');
    });
    expect(await verifyAuditChain(db.sql, f.org.id)).toMatchObject({ ok: false, firstBrokenId: victim.id });
  });

  it('refuses UPDATE and DELETE of audit rows at the database', async () => {
    const f = await engineFixture(db);
    await expect(db.sql.query('DELETE FROM audit_event WHERE organization_id = $1', [f.org.id])).rejects.toThrow(/append-only/);
  });
});

describe('role settings', () => {
  it('recomputes every member when the ranking or default role changes, warning when no admin is left', async () => {
    const f = await engineFixture(db);
    await f.send([person('ron'), person('sue'), { type: 'upsertGroup', sourceId: 'leads', displayName: 'Leads' }, { type: 'addMembers', group: { sourceId: 'leads' }, users: [{ sourceId: 'sue' }] }]);
    const leads = await f.groupBySource('leads');
    await f.api([{ type: 'setGroupMapping', group: { groupId: leads.id }, role: 'member', workspace: 'crm' }]);
    expect((await f.user('ron')).roles).toEqual({ '': 'member' });
    expect((await f.user('sue')).roles).toEqual({ '': 'member', crm: 'member' });

    const outcome = await f.api([{ type: 'setRoleSettings', roleRanking: ['guest', 'member', 'owner'], defaultRole: 'guest' }]);
    expect((await f.user('ron')).roles).toEqual({ '': 'guest' });
    expect((await f.user('sue')).roles).toEqual({ '': 'guest', crm: 'member' });
    expect(outcome.events.filter((e) => e.type === 'role.changed')).toHaveLength(2);

    // Everyone an admin by default, then not: the organization is left without one, and says so.
    await f.api([{ type: 'setRoleSettings', defaultRole: 'owner' }]);
    expect((await f.user('ron')).isAdmin).toBe(true);
    const demoted = await f.api([{ type: 'setRoleSettings', defaultRole: 'guest' }]);
    expect(demoted.events.map((e) => e.type)).toContain('organization.admin_orphaned');
    await expect(f.api([{ type: 'setRoleSettings', roleRanking: ['guest', 'owner'] }])).rejects.toMatchObject({ code: 'INVALID_COMMAND', details: { field: 'roleRanking' } });
  });
});
