// OneLogin: admin-edited JSON templates (SCIM 1.x URNs, emails as an object, managerId), users
// updated with PUT, URLs ending in a bare "?" or "&", an empty User-Agent: test/fixtures/scim/onelogin.
import { expect } from 'vitest';
import { describeIdpConformance, memberIdsOf, seedGroup, seedUser, type Scenario, type ScenarioContext } from './fixtures.ts';
import { ENTERPRISE, expectScimError } from './support.ts';

const groupWith = (members: Array<'userId' | 'other'>) => async (ctx: ScenarioContext) => {
  ctx.vars.userId = await seedUser(ctx.conn, 'seed.one@fixture.test');
  ctx.vars.other = await seedUser(ctx.conn, 'other@fixture.test');
  ctx.vars.groupId = await seedGroup(ctx.conn, 'Admin Role', members.map((m) => ctx.vars[m]!));
};

const scenarios: Record<string, Scenario> = {
  'create-group': {
    check: (_ctx, r) => expect(r.body).toMatchObject({ displayName: 'Admin Role', members: [] }),
  },
  'create-user-core-template': {
    async check({ dbUser }, r) {
      expect(r.body).toMatchObject({ userName: 'kelly@example.com', name: { givenName: 'Kelly', familyName: 'Slater', formatted: 'Kelly Slater' }, active: true });
      expect(await dbUser(r.body.id)).toMatchObject({ displayName: 'Kelly Slater', state: 'ACTIVE' });
    },
  },
  'create-user-enterprise-template-v1': {
    async check({ vars, dbUser }, r) {
      // SCIM 1.x enterprise URN → the RFC extension; emails as one object → a list; managerId → manager.value.
      expect(r.body.emails).toEqual([{ value: 'kelly@example.com', type: 'work', primary: true }]);
      expect(r.body[ENTERPRISE]).toMatchObject({ department: 'Ops', manager: { value: vars.userId2, displayName: 'Boss Person' } });
      expect(await dbUser(r.body.id)).toMatchObject({ email: 'kelly@example.com', department: 'Ops', title: 'Surfer', manager: { value: vars.userId2 } });
    },
  },
  'create-user-v2-enterprise-observed-urns': {
    async check({ dbUser }, r) {
      expect(r.body.name.familyName).toBe(' User 01'); // kept verbatim
      expect(await dbUser(r.body.id)).toMatchObject({ userName: 'onelogin-test-user01', email: 'onelogin-test-user01@example.com' });
    },
  },
  'deactivate-user-put-active-false': {
    async check({ vars, dbUser }, r) {
      expect(r.body).toMatchObject({ id: vars.userId, active: false, userName: 'kelly@example.com' });
      expect((await dbUser(vars.userId!)).state).toBe('DEPROVISIONED');
    },
  },
  'delete-user': {
    async check({ conn, vars }) {
      expectScimError(await conn.request('GET', `/Users/${vars.userId}`), 404);
    },
  },
  'get-user-by-username-observed': {
    async setup(ctx) {
      ctx.vars.existing = await seedUser(ctx.conn, 'onelogin-test-user01');
    },
    check: ({ vars }, r) => expect(r.body.Resources.map((u: any) => u.id)).toEqual([vars.existing]),
  },
  'list-groups': {
    async setup(ctx) {
      await seedGroup(ctx.conn, 'One');
      await seedGroup(ctx.conn, 'Two');
    },
    check: (_ctx, r) => expect(r.body.totalResults).toBe(2),
  },
  'list-users': {
    async setup(ctx) {
      await seedUser(ctx.conn, 'a@example.com');
    },
    check: (_ctx, r) => expect(r.body.Resources.map((u: any) => u.userName)).toEqual(['a@example.com']),
  },
  'patch-group-add-member': {
    setup: groupWith(['other']),
    check: async ({ conn, vars }) => expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.userId!, vars.other!].sort()),
  },
  'patch-group-remove-member': {
    setup: groupWith(['userId', 'other']),
    check: async ({ conn, vars }) => expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.other]),
  },
  'test-connection-nonexistent-username': {
    async setup(ctx) {
      ctx.vars.nonexistentUserName = 'nobody-here@example.com';
    },
    check: (_ctx, r) => expect(r.body).toMatchObject({ totalResults: 0, Resources: [] }),
  },
  'update-user-put-observed': {
    async setup(ctx) {
      ctx.vars.userId = await seedUser(ctx.conn, 'onelogin-test-user01', { title: 'Old title' });
    },
    async check({ vars, dbUser }, r) {
      expect(r.body).toMatchObject({ id: vars.userId, name: { familyName: ' User 01', givenName: 'AAA Test' }, active: true });
      expect(await dbUser(vars.userId!)).toMatchObject({ givenName: 'AAA Test', title: null, state: 'ACTIVE' });
    },
  },
};

describeIdpConformance('onelogin', 'OneLogin fixtures over HTTP', scenarios);
