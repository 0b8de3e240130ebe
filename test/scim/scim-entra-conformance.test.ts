// Microsoft Entra ID, with and without aadOptscim062020: test/fixtures/scim/entra.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { describeIdpConformance, memberIdsOf, seedGroup, seedUser, type Scenario, type ScenarioContext } from './fixtures.ts';
import { ENTERPRISE, expectScimError, LIST_RESPONSE, patch } from './support.ts';

const getUser = async (ctx: ScenarioContext, id = ctx.vars.userId!) => (await ctx.conn.request('GET', `/Users/${id}`)).body;
const emailsByType = (u: any) => Object.fromEntries((u.emails ?? []).map((e: any) => [e.type, e]));

const deactivated = async (ctx: ScenarioContext, r: any) => {
  expect(r.body.active).toBe(false);
  expect(await ctx.dbUser(ctx.vars.userId!)).toMatchObject({ state: 'DEPROVISIONED', sourceActive: false });
};
const reactivated = async (ctx: ScenarioContext, r: any) => {
  expect(r.body.active).toBe(true);
  expect(await ctx.dbUser(ctx.vars.userId!)).toMatchObject({ state: 'ACTIVE', sourceActive: true });
};
const startInactive = async (ctx: ScenarioContext) => {
  ctx.vars.userId = await seedUser(ctx.conn, 'seed.one@fixture.test');
  expect((await ctx.conn.request('PATCH', `/Users/${ctx.vars.userId}`, { body: patch({ op: 'replace', path: 'active', value: false }) })).status).toBe(200);
};
const groupWith = (members: Array<'userId' | 'other'>, name = 'Seed Group') => async (ctx: ScenarioContext) => {
  ctx.vars.userId = await seedUser(ctx.conn, 'seed.one@fixture.test');
  ctx.vars.other = await seedUser(ctx.conn, 'other@fixture.test');
  ctx.vars.groupId = await seedGroup(ctx.conn, name, members.map((m) => ctx.vars[m]!));
};
const onlyOtherLeft = async (ctx: ScenarioContext, r: any) => {
  expect(r.body).toBeUndefined();
  expect(await memberIdsOf(ctx.conn, ctx.vars.groupId!)).toEqual([ctx.vars.other]);
};

const scenarios: Record<string, Scenario> = {
  'add-single-value-no-flag': {
    check: (_ctx, r) => expect(r.body.nickName).toBe('Babs'),
  },
  'add-single-value-with-flag': {
    check: (_ctx, r) => expect(r.body.nickName).toBe('Babs'),
  },
  'create-group': {
    async check({ conn }, r) {
      expect(r.body).toMatchObject({ displayName: 'displayName', externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', members: [] });
      expect(r.body.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:Group']);
      expect((await conn.request('GET', `/Groups/${r.body.id}`)).status).toBe(200);
    },
  },
  'create-user-app-role-single': {
    check(_ctx, r) {
      expect(r.body.roles).toEqual([{ primary: true, type: 'WindowsAzureActiveDirectoryRole', value: 'Admin' }]);
      expect(r.body.meta.resourceType).toBe('User');
    },
  },
  'create-user-enterprise-extension': {
    async check({ vars, dbUser }, r) {
      expect(r.body[ENTERPRISE]).toMatchObject({ department: 'Engineering', employeeNumber: '701984', manager: { value: vars.userId2 } });
      expect(r.body.phoneNumbers).toEqual([{ type: 'mobile', value: '+1 555 0100' }]);
      expect(await dbUser(r.body.id)).toMatchObject({ department: 'Engineering', employeeNumber: '701984', manager: { value: vars.userId2 }, title: 'Engineer' });
    },
  },
  'create-user-legacy-example-with-nulls': {
    async check({ dbUser }, r) {
      expect(r.body).toMatchObject({ userName: 'jyoung@testuser.com', externalId: 'jyoung', displayName: 'Joy Young' });
      for (const key of ['addresses', 'phoneNumbers', 'preferredLanguage', 'title', 'department', 'manager']) expect(r.body[key]).toBeUndefined();
      expect(await dbUser(r.body.id)).toMatchObject({ department: null, manager: null, email: 'jyoung@Contoso.com' });
    },
  },
  'create-user': {
    check(_ctx, r) {
      expect(r.body).toMatchObject({ userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee', externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef', active: true, roles: [] });
      expect(r.body.name.formatted).toBe('givenName familyName');
    },
  },
  'delete-group': {
    async check({ conn, vars }) {
      expectScimError(await conn.request('GET', `/Groups/${vars.groupId}`), 404);
    },
  },
  'delete-user': {
    async check({ conn, vars, dbUser }) {
      expectScimError(await conn.request('GET', `/Users/${vars.userId}`), 404);
      // The default policy (SOFT) keeps the record, deprovisioned.
      expect(await dbUser(vars.userId!)).toMatchObject({ state: 'DEPROVISIONED' });
    },
  },
  'disable-user-no-flag': { check: deactivated },
  'disable-user-tutorial': { check: deactivated },
  'disable-user-with-flag': { check: deactivated },
  'discover-schemas': {
    check(_ctx, r) {
      expect(r.body.schemas).toEqual([LIST_RESPONSE]);
      expect(r.body.Resources.map((s: any) => s.id)).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE, 'urn:ietf:params:scim:schemas:core:2.0:Group']);
    },
  },
  'enable-user-no-flag': { setup: startInactive, check: reactivated },
  'enable-user-with-flag': { setup: startInactive, check: reactivated },
  'get-group-by-displayname': {
    setup: groupWith(['userId'], 'displayName'),
    check({ vars }, r) {
      expect(r.body.totalResults).toBe(1);
      expect(r.body.Resources[0]).toMatchObject({ id: vars.groupId, displayName: 'displayName' });
      expect(r.body.Resources[0].members).toBeUndefined();
    },
  },
  'get-group-exclude-members': {
    setup: groupWith(['userId']),
    check({ vars }, r) {
      expect(r.body).toMatchObject({ id: vars.groupId, displayName: 'Seed Group' });
      expect(r.body.members).toBeUndefined();
    },
  },
  'get-user-by-externalid-unquoted': {
    async setup(ctx) {
      ctx.vars.existing = await seedUser(ctx.conn, 'jyoung@testuser.com', { externalId: 'jyoung' });
      await seedUser(ctx.conn, 'other@testuser.com', { externalId: 'JYOUNG' }); // externalId is caseExact
    },
    check: ({ vars }, r) => expect(r.body.Resources.map((u: any) => u.id)).toEqual([vars.existing]),
  },
  'get-user-by-externalid': {
    async setup(ctx) {
      ctx.vars.existing = await seedUser(ctx.conn, 'jyoung@testuser.com', { externalId: 'jyoung' });
      await seedUser(ctx.conn, 'other@testuser.com', { externalId: 'jyoung2' });
    },
    check: ({ vars }, r) => expect(r.body.Resources.map((u: any) => u.id)).toEqual([vars.existing]),
  },
  'get-user-by-id': {
    check: ({ vars }, r) => expect(r.body).toMatchObject({ id: vars.userId, userName: 'seed.one@fixture.test' }),
  },
  'get-user-by-username-zero': {
    check(_ctx, r) {
      expect(r.body).toMatchObject({ schemas: [LIST_RESPONSE], totalResults: 0, itemsPerPage: 0, Resources: [] });
    },
  },
  'get-user-by-username': {
    async setup(ctx) {
      ctx.vars.existing = await seedUser(ctx.conn, 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee');
    },
    check: ({ vars }, r) => expect(r.body.Resources.map((u: any) => u.id)).toEqual([vars.existing]),
  },
  'group-add-members': {
    setup: groupWith([]),
    check: async ({ conn, vars }) => expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.userId]),
  },
  'group-add-multiple-members': {
    async setup(ctx) {
      await groupWith([])(ctx);
      ctx.vars.userId2 = ctx.vars.other!;
    },
    check: async ({ conn, vars }) => expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.userId!, vars.userId2!].sort()),
  },
  'group-membership-check': {
    setup: groupWith(['userId']),
    async check(ctx, r) {
      expect(r.body.totalResults).toBe(1);
      expect(r.body.Resources[0].members).toBeUndefined();
      // And 0 for someone who is not a member.
      const { replay } = await import('./fixtures.ts');
      const other = await replay(ctx.conn, ctx.fixture, { ...ctx.vars, userId: ctx.vars.other! });
      expect(other.body.totalResults).toBe(0);
    },
  },
  'group-remove-members-no-flag-compat': { setup: groupWith(['userId', 'other']), check: onlyOtherLeft },
  'group-remove-members-no-flag-tutorial': { setup: groupWith(['userId', 'other']), check: onlyOtherLeft },
  'group-remove-members-with-flag': { setup: groupWith(['userId', 'other']), check: onlyOtherLeft },
  'group-rename': {
    async check({ conn, vars }) {
      expect((await conn.request('GET', `/Groups/${vars.groupId}`)).body.displayName).toBe('1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
    },
  },
  'manager-patch-add-ref-array': {
    async check(ctx, r) {
      expect(r.body[ENTERPRISE].manager).toMatchObject({ value: ctx.vars.userId2 });
      expect((await ctx.dbUser(ctx.vars.userId!)).manager).toMatchObject({ value: ctx.vars.userId2 });
    },
  },
  'manager-patch-enterprise-urn-string': {
    async check(ctx, r) {
      expect(r.body[ENTERPRISE].manager).toEqual({ value: ctx.vars.userId2 });
      expect((await ctx.dbUser(ctx.vars.userId!)).manager).toMatchObject({ value: ctx.vars.userId2 });
    },
  },
  'manager-reference-query': {
    async setup(ctx) {
      ctx.vars.userId2 = await seedUser(ctx.conn, 'boss@fixture.test');
      ctx.vars.userId = await seedUser(ctx.conn, 'report@fixture.test', { [ENTERPRISE]: { manager: { value: ctx.vars.userId2 } } });
    },
    check({ vars }, r) {
      expect(r.body.totalResults).toBe(1);
      expect(r.body.Resources).toEqual([{ schemas: expect.any(Array), id: vars.userId }]);
    },
  },
  'patch-add-app-role-stringified': {
    check(_ctx, r) {
      expect(r.body.roles).toContainEqual({ value: '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}' });
    },
  },
  'patch-add-mobile-phone': {
    check: (_ctx, r) => expect(r.body.phoneNumbers).toEqual([{ type: 'mobile', value: '+1 555 0101' }]),
  },
  'patch-add-work-email-observed': {
    async setup(ctx) {
      ctx.vars.userId = await seedUser(ctx.conn, 'seed.one@fixture.test', { emails: [{ value: 'home@fixture.test', type: 'home', primary: true }] });
    },
    async check(ctx, r) {
      expect(emailsByType(r.body)).toMatchObject({ home: { value: 'home@fixture.test' }, work: { value: 'something@outlook.com' } });
      expect((await ctx.dbUser(ctx.vars.userId!)).emails).toContainEqual(expect.objectContaining({ value: 'something@outlook.com', type: 'work' }));
    },
  },
  'patch-mixed-observed': {
    async check(ctx, r) {
      expect(emailsByType(r.body).work.value).toBe('AdeleV2@contoso.onmicrosoft.com');
      expect(r.body.addresses).toEqual([{ type: 'work', formatted: '18/2111' }]);
      expect(r.body[ENTERPRISE].department).toBe('Retail');
      expect((await ctx.dbUser(ctx.vars.userId!)).department).toBe('Retail');
    },
  },
  'patch-replace-username': {
    async check(ctx, r) {
      expect(r.body.userName).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
      const found = await ctx.conn.request('GET', `/Users?filter=${encodeURIComponent('userName eq "5B50642D-79FC-4410-9E90-4C077CDD1A59@testuser.com"')}`);
      expect(found.body.Resources.map((u: any) => u.id)).toEqual([ctx.vars.userId]);
      const old = await ctx.conn.request('GET', `/Users?filter=${encodeURIComponent('userName eq "seed.one@fixture.test"')}`);
      expect(old.body.totalResults).toBe(0);
    },
  },
  'patch-replace-work-email-and-familyname': {
    async check(ctx, r) {
      expect(emailsByType(r.body).work.value).toBe('updatedEmail@microsoft.com');
      expect(r.body.name.familyName).toBe('updatedFamilyName');
      expect(await ctx.dbUser(ctx.vars.userId!)).toMatchObject({ familyName: 'updatedFamilyName', email: 'updatedEmail@microsoft.com' });
    },
  },
  'patch-validator-lowercase-multi': {
    check(_ctx, r) {
      const byType = emailsByType(r.body);
      expect(byType.work).toMatchObject({ value: 'oren.collins@white.com', display: '0TXBC2MOGUI0', primary: false });
      expect(byType.home).toMatchObject({ value: 'angelita@mante.us', primary: true });
      expect(byType.other).toMatchObject({ value: 'yasmine_bins@braun.us' });
    },
  },
  'replace-multiple-no-flag': {
    async check(ctx, r) {
      expect(r.body).toMatchObject({ displayName: 'Pvlo', externalId: 'Eqpj', name: { givenName: 'Gtfd', familyName: 'Pkqf' }, [ENTERPRISE]: { employeeNumber: 'Eqpj' } });
      expect(emailsByType(r.body).work.value).toBe('TestBcwqnm@test.microsoft.com');
      expect(await ctx.dbUser(ctx.vars.userId!)).toMatchObject({ externalId: 'Eqpj', employeeNumber: 'Eqpj', displayName: 'Pvlo' });
    },
  },
  'replace-multiple-with-flag': {
    check(_ctx, r) {
      expect(r.body).toMatchObject({ displayName: 'Bjfe', name: { givenName: 'Kkom', familyName: 'Unua' }, [ENTERPRISE]: { employeeNumber: 'Aklq' } });
      expect(emailsByType(r.body).work.value).toBe('TestMhvaes@test.microsoft.com');
      // The keys are paths, not attribute names.
      expect(Object.keys(r.body).some((k) => k.includes('.') && !k.startsWith('urn:'))).toBe(false);
    },
  },
  'replace-pathless-with-manager-key-flag': {
    async check(ctx, r) {
      expect(r.body.name.givenName).toBe('Kkom');
      expect(r.body[ENTERPRISE]).toMatchObject({ manager: { value: ctx.vars.userId2 }, department: 'Retail' });
      expect(await ctx.dbUser(ctx.vars.userId!)).toMatchObject({ givenName: 'Kkom', department: 'Retail', manager: { value: ctx.vars.userId2 } });
    },
  },
  'test-connection-random-guid': {
    async setup(ctx) {
      await seedUser(ctx.conn, `${randomUUID()}@fixture.test`);
    },
    check: (_ctx, r) => expect(r.body).toMatchObject({ totalResults: 0, Resources: [] }),
  },
};

describeIdpConformance('entra', 'Microsoft Entra ID fixtures over HTTP', scenarios);
