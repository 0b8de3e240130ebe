// One person, several sources: users of two connections of an organization linked by verified
// email or externalId; the authoritative connection's deprovision reaches the linked users.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../../src/tenancy/connections.ts';
import { updateIdentitySettings } from '../../src/tenancy/organizations.ts';
import type { Database } from '../../src/storage/database.ts';
import type { LifecycleCommandInput } from '../../src/engine/commands.ts';
import { LINKED_DEPROVISION_REASON, personKeyOf } from '../../src/engine/identity-linking.ts';
import { openTestDatabase } from '../support/db.ts';
import { engineFixture, systemActor } from '../support/engine-fixture.ts';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

/** An organization with an IdP connection (authoritative) and an app connection that owns sessions upstream (like Clerk). */
async function twoSources(mode: 'VERIFIED_EMAIL' | 'EXTERNAL_ID', options: { authoritative?: boolean } = {}) {
  const f = await engineFixture(db);
  const { connectionId: appId } = await createConnection({ sql: db.sql, registry: f.registry, box: f.box }, { organizationId: f.org.id, provider: 'test-revoking', name: 'Clerk' }, systemActor);
  await updateIdentitySettings(db.sql, f.org.id, { identityLinking: mode, authoritativeConnectionId: options.authoritative === false ? null : f.connectionId }, systemActor);
  const idp = (commands: LifecycleCommandInput[]) => f.send(commands);
  const app = (commands: LifecycleCommandInput[]) => f.send(commands, undefined, { connectionId: appId });
  const userIn = (connectionId: string, sourceId: string) => db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId, sourceId } });
  return { ...f, appId, idp, app, userIn };
}

const okta = (sourceId: string, email: string, extra: Record<string, unknown> = {}): LifecycleCommandInput => ({ type: 'upsertUser', sourceId, profile: { userName: email, email, ...extra } });
const clerk = (sourceId: string, email: string, verified: boolean, extra: Record<string, unknown> = {}): LifecycleCommandInput => ({
  type: 'upsertUser', sourceId, profile: { email, emails: [{ value: email, primary: true, verified }], ...extra },
});

describe('person keys', () => {
  it('follow the rules: externalId as is; the primary email unless the source marked it unverified', () => {
    expect(personKeyOf('EXTERNAL_ID', { externalId: ' emp-1 ', email: 'a@x.test', emails: [] })).toBe('ext:emp-1');
    expect(personKeyOf('EXTERNAL_ID', { externalId: null, email: 'a@x.test', emails: [] })).toBeNull();
    expect(personKeyOf('VERIFIED_EMAIL', { externalId: null, email: 'Ada@X.test', emails: [] })).toBe('email:ada@x.test');
    expect(personKeyOf('VERIFIED_EMAIL', { externalId: null, email: 'a@x.test', emails: [{ value: 'A@x.test', verified: false }] })).toBeNull();
    expect(personKeyOf('VERIFIED_EMAIL', { externalId: null, email: 'a@x.test', emails: [{ value: 'a@x.test', verified: false }, { value: 'b@x.test', verified: true }] })).toBe('email:b@x.test');
    expect(personKeyOf('NONE', { externalId: 'e', email: 'a@x.test', emails: [] })).toBeNull();
  });

  it('are computed as users arrive, and recomputed for everyone when the organization changes the mode', async () => {
    const s = await twoSources('VERIFIED_EMAIL');
    await s.idp([okta('00u1', 'ada@acme.test', { externalId: 'emp-1' })]);
    await s.app([clerk('user_1', 'Ada@acme.test', true, { externalId: 'emp-1' }), clerk('user_2', 'mallory@acme.test', false)]);
    expect((await s.userIn(s.connectionId, '00u1')).personKey).toBe('email:ada@acme.test');
    expect((await s.userIn(s.appId, 'user_1')).personKey).toBe('email:ada@acme.test');
    expect((await s.userIn(s.appId, 'user_2')).personKey).toBeNull();
    await updateIdentitySettings(db.sql, s.org.id, { identityLinking: 'EXTERNAL_ID' }, systemActor);
    expect((await s.userIn(s.appId, 'user_1')).personKey).toBe('ext:emp-1');
    expect((await s.userIn(s.connectionId, '00u1')).personKey).toBe('ext:emp-1');
  });
});

describe('deprovision from the authoritative connection', () => {
  it('deprovisions the linked users of other connections in the same commit and marks their upstream sessions PENDING', async () => {
    const s = await twoSources('VERIFIED_EMAIL');
    await s.idp([okta('00u1', 'ada@acme.test')]);
    await s.app([clerk('user_1', 'ada@acme.test', true), { type: 'registerSession', user: { sourceId: 'user_1' }, externalRef: 'sess_1' }]);
    const outcome = await s.idp([{ type: 'deactivateUser', user: { sourceId: '00u1' } }]);

    const linked = await s.userIn(s.appId, 'user_1');
    expect(linked).toMatchObject({ state: 'DEPROVISIONED', deprovisionReason: LINKED_DEPROVISION_REASON, sourceActive: true });
    const [session] = await db.prisma.session.findMany({ where: { userId: linked.id } });
    expect(session).toMatchObject({ revocationStatus: 'PENDING' });
    expect(session!.revokedAt).not.toBeNull();
    const deprovisions = outcome.events.filter((e) => e.type === 'user.deprovisioned');
    expect(deprovisions.map((e) => e.userId).sort()).toEqual([(await s.userIn(s.connectionId, '00u1')).id, linked.id].sort());
    expect(deprovisions.find((e) => e.userId === linked.id)!.data).toMatchObject({ linkedFrom: { connectionId: s.connectionId } });
    expect(outcome.events.some((e) => e.type === 'session.revoked' && e.userId === linked.id && (e.data as { upstream?: boolean }).upstream === true)).toBe(true);
  });

  it('reactivation at the authoritative source restores the users it deprovisioned, and only those', async () => {
    const s = await twoSources('EXTERNAL_ID');
    await s.idp([okta('00u1', 'ada@acme.test', { externalId: 'emp-1' })]);
    await s.app([clerk('user_1', 'ada@acme.test', true, { externalId: 'emp-1' })]);
    await s.idp([{ type: 'deactivateUser', user: { sourceId: '00u1' } }]);
    expect((await s.userIn(s.appId, 'user_1')).state).toBe('DEPROVISIONED');
    await s.idp([{ type: 'reactivateUser', user: { sourceId: '00u1' } }]);
    expect((await s.userIn(s.appId, 'user_1')).state).toBe('ACTIVE');

    // Banned at the app itself: the IdP's reactivation must not undo that.
    await s.idp([{ type: 'deactivateUser', user: { sourceId: '00u1' } }]);
    await s.app([{ type: 'deactivateUser', user: { sourceId: 'user_1' }, reason: 'banned at the app' }]);
    await s.idp([{ type: 'reactivateUser', user: { sourceId: '00u1' } }]);
    expect((await s.userIn(s.appId, 'user_1')).state).toBe('DEPROVISIONED');
  });

  it('a linked user arriving after the person left starts deprovisioned', async () => {
    const s = await twoSources('VERIFIED_EMAIL');
    await s.idp([okta('00u1', 'ada@acme.test'), { type: 'deactivateUser', user: { sourceId: '00u1' } }]);
    const outcome = await s.app([clerk('user_1', 'ADA@acme.test', true)]);
    expect(await s.userIn(s.appId, 'user_1')).toMatchObject({ state: 'DEPROVISIONED', deprovisionReason: LINKED_DEPROVISION_REASON });
    expect(outcome.events.map((e) => e.type)).toEqual(['user.provisioned', 'user.deprovisioned', 'role.changed']);
  });

  it('erases the person key with the personal data it is made of (HARD_DELETE)', async () => {
    const s = await twoSources('VERIFIED_EMAIL');
    const { connectionId: hardId } = await createConnection({ sql: db.sql, registry: s.registry, box: s.box }, { organizationId: s.org.id, provider: 'test', name: 'HR', deprovisionPolicy: 'HARD_DELETE' }, systemActor);
    await s.send([okta('hr-1', 'ada@acme.test')], undefined, { connectionId: hardId });
    expect((await s.userIn(hardId, 'hr-1')).personKey).toBe('email:ada@acme.test');
    await s.send([{ type: 'deleteUser', user: { sourceId: 'hr-1' } }], undefined, { connectionId: hardId });
    expect(await s.userIn(hardId, 'hr-1')).toMatchObject({ state: 'DELETED', email: null, personKey: null });
  });

  it('does not propagate from a non-authoritative connection, nor without an authoritative connection, nor to unverified look-alikes', async () => {
    const s = await twoSources('VERIFIED_EMAIL');
    await s.idp([okta('00u1', 'ada@acme.test'), okta('00u2', 'bob@acme.test')]);
    await s.app([clerk('user_1', 'ada@acme.test', true), clerk('user_2', 'bob@acme.test', false)]);
    await s.app([{ type: 'deactivateUser', user: { sourceId: 'user_1' } }]);
    expect((await s.userIn(s.connectionId, '00u1')).state).toBe('ACTIVE');
    await s.idp([{ type: 'deactivateUser', user: { sourceId: '00u2' } }]);
    expect((await s.userIn(s.appId, 'user_2')).state).toBe('ACTIVE');

    const n = await twoSources('VERIFIED_EMAIL', { authoritative: false });
    await n.idp([okta('00u1', 'ada@acme.test')]);
    await n.app([clerk('user_1', 'ada@acme.test', true)]);
    await n.idp([{ type: 'deactivateUser', user: { sourceId: '00u1' } }]);
    expect((await n.userIn(n.appId, 'user_1')).state).toBe('ACTIVE');
  });
});
