// JumpCloud: self-test user created then deleted, groups created with their members, members
// removed with a value list: test/fixtures/scim/jumpcloud.
import { expect } from 'vitest';
import { describeIdpConformance, memberIdsOf, seedGroup, seedUser, type Scenario, type ScenarioContext } from './fixtures.ts';
import { expectScimError } from './support.ts';

const groupWith = (members: Array<'userId' | 'userId2' | 'other'>) => async (ctx: ScenarioContext) => {
  ctx.vars.userId = await seedUser(ctx.conn, 'seed.one@fixture.test');
  ctx.vars.userId2 = await seedUser(ctx.conn, 'seed.two@fixture.test');
  ctx.vars.other = await seedUser(ctx.conn, 'other@fixture.test');
  ctx.vars.groupId = await seedGroup(ctx.conn, 'Engineering', members.map((m) => ctx.vars[m]!));
};

const scenarios: Record<string, Scenario> = {
  'create-group-with-members': {
    async check({ conn, vars }, r) {
      expect(r.body.members.map((m: any) => m.value)).toEqual([vars.userId]);
      expect(await memberIdsOf(conn, r.body.id)).toEqual([vars.userId]);
    },
  },
  'create-user': {
    check: (_ctx, r) => expect(r.body).toMatchObject({ userName: 'jane@example.com', active: true }),
  },
  'deactivate-user': {
    async check({ vars, dbUser }, r) {
      expect(r.body.active).toBe(false);
      expect((await dbUser(vars.userId!)).state).toBe('DEPROVISIONED');
    },
  },
  'delete-group': {
    async check({ conn, vars }) {
      expectScimError(await conn.request('GET', `/Groups/${vars.groupId}`), 404);
    },
  },
  'delete-user': {
    async check({ conn, vars }) {
      expectScimError(await conn.request('GET', `/Users/${vars.userId}`), 404);
    },
  },
  'group-add-members': {
    setup: groupWith(['userId']),
    check: async ({ conn, vars }) => expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.userId!, vars.userId2!].sort()),
  },
  'group-remove-members-value-list': {
    setup: groupWith(['userId2', 'other']),
    check: async ({ conn, vars }) => expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.other]),
  },
  'group-rename': {
    setup: groupWith([]),
    check: async ({ conn, vars }) => expect((await conn.request('GET', `/Groups/${vars.groupId}`)).body.displayName).toBe('Engineering-Renamed'),
  },
  'lookup-group-by-displayname': {
    async setup(ctx) {
      ctx.vars.existing = await seedGroup(ctx.conn, 'ENGINEERING'); // displayName compares case-insensitively
    },
    check: ({ vars }, r) => expect(r.body.Resources.map((g: any) => g.id)).toEqual([vars.existing]),
  },
  'lookup-user-by-username': {
    async setup(ctx) {
      ctx.vars.existing = await seedUser(ctx.conn, 'test.user@example.com');
    },
    check: ({ vars }, r) => expect(r.body.Resources.map((u: any) => u.id)).toEqual([vars.existing]),
  },
  'test-connection-create-test-user': {
    async setup(ctx) {
      ctx.vars.testUserEmail = 'jc-selftest@example.com';
    },
    check: (_ctx, r) => expect(r.body.userName).toBe('jc-selftest@example.com'),
  },
  'test-connection-delete-test-user': {
    async check({ conn, vars }) {
      expectScimError(await conn.request('GET', `/Users/${vars.userId}`), 404);
      // The self-test can run again: the deleted test user's userName is free.
      expect((await conn.request('POST', '/Users', { body: { userName: 'seed.one@fixture.test' } })).status).toBe(201);
    },
  },
  'update-user': {
    check: (_ctx, r) => expect(r.body.name.familyName).toBe('Smith'),
  },
};

describeIdpConformance('jumpcloud', 'JumpCloud fixtures over HTTP', scenarios);
