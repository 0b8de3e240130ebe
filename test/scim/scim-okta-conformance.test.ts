// Okta, request by request as its SCIM client (and its OIN spec test) sends them: test/fixtures/scim/okta.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { describeIdpConformance, memberIdsOf, replay, seedGroup, seedUser, type Scenario, type ScenarioContext } from './fixtures.ts';
import { expectScimError, LIST_RESPONSE, patch, USER_SCHEMA } from './support.ts';

function expectIntegerPaging(body: any, total: number) {
  expect(body.schemas).toEqual([LIST_RESPONSE]);
  for (const key of ['totalResults', 'startIndex', 'itemsPerPage']) expect(Number.isInteger(body[key])).toBe(true);
  expect(body.totalResults).toBe(total);
  expect(body.itemsPerPage).toBe(body.Resources.length);
}

const groupWith = (members: Array<'userId' | 'userId2' | 'other'>) => async (ctx: ScenarioContext) => {
  ctx.vars.userId ??= await seedUser(ctx.conn, 'seed.one@fixture.test');
  ctx.vars.userId2 ??= await seedUser(ctx.conn, 'seed.two@fixture.test');
  ctx.vars.other = await seedUser(ctx.conn, 'other@fixture.test');
  ctx.vars.groupId = await seedGroup(ctx.conn, 'Test SCIMv2', members.map((m) => ctx.vars[m]!));
};

const random = () => ({ randomUsername: `Runscope.${randomUUID().slice(0, 8)}@Example.com`, randomGivenName: 'Run', randomFamilyName: 'Scope', randomEmail: `mail.${randomUUID().slice(0, 8)}@example.com` });

const scenarios: Record<string, Scenario> = {
  'create-group': {
    async check({ conn }, r) {
      expect(r.body).toMatchObject({ displayName: 'Test SCIMv2', members: [], meta: { resourceType: 'Group' } });
      expect((await conn.request('GET', `/Groups/${r.body.id}`)).status).toBe(200);
    },
  },
  'create-user-conflict': {
    async setup(ctx) {
      ctx.vars.existing = await seedUser(ctx.conn, 'test.user@okta.local');
    },
    async check({ conn, vars }, r) {
      expectScimError(r, 409, 'uniqueness');
      const list = await conn.request('GET', `/Users?filter=${encodeURIComponent('userName eq "test.user@okta.local"')}`);
      expect(list.body.Resources.map((u: any) => u.id)).toEqual([vars.existing]);
    },
  },
  'create-user-without-externalid': {
    check(_ctx, r) {
      expect(r.body.userName).toBe('test.user@okta.local');
      expect(r.body.externalId).toBeUndefined();
      expect(r.body.password).toBeUndefined();
    },
  },
  'create-user': {
    async check({ conn, dbUser }, r) {
      expect(r.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.body).toMatchObject({ schemas: [USER_SCHEMA], userName: 'test.user@okta.local', externalId: '00ujl29u0le5T6Aj10h7', active: true, locale: 'en-US', name: { givenName: 'Test', familyName: 'User' } });
      expect(r.body.password).toBeUndefined();
      expect(r.headers.get('location')).toBe(r.body.meta.location);
      // The SCIM id is the hub's id; the placeholder password is never stored.
      const stored = await dbUser(r.body.id);
      expect(stored.sourceId).toBe(r.body.id);
      expect(JSON.stringify(stored.sourceData)).not.toContain('1mz050nq');
      expect((await conn.request('GET', `/Users/${r.body.id}`)).body).toEqual(r.body);
    },
  },
  'deactivate-user-patch-no-path': {
    async check({ vars, dbUser }, r) {
      expect(r.body.active).toBe(false);
      expect((await dbUser(vars.userId!)).state).toBe('DEPROVISIONED');
    },
  },
  'deactivate-user-put-aiw': {
    async check({ vars, dbUser }, r) {
      expect(r.body).toMatchObject({ id: vars.userId, active: false, userName: 'test.user@okta.local' });
      expect((await dbUser(vars.userId!)).state).toBe('DEPROVISIONED');
    },
  },
  'delete-group': {
    async check({ conn, vars }) {
      expectScimError(await conn.request('GET', `/Groups/${vars.groupId}`), 404);
    },
  },
  'get-group-by-id': {
    setup: groupWith(['userId']),
    check({ vars }, r) {
      expect(r.body).toMatchObject({ id: vars.groupId, displayName: 'Test SCIMv2', members: [{ value: vars.userId }] });
    },
  },
  'get-user-by-id': {
    check({ vars }, r) {
      expect(r.body).toMatchObject({ id: vars.userId, userName: 'seed.one@fixture.test', active: true });
      expect(r.headers.get('etag')).toBe(r.body.meta.version);
    },
  },
  'get-user-by-username-existence-check': {
    async setup(ctx) {
      ctx.vars.existing = await seedUser(ctx.conn, 'test.user@okta.local');
      await seedUser(ctx.conn, 'someone.else@okta.local');
    },
    check({ vars }, r) {
      expectIntegerPaging(r.body, 1);
      expect(r.body.Resources[0].id).toBe(vars.existing);
    },
  },
  'group-exists-check': {
    async setup(ctx) {
      ctx.vars.existing = await seedGroup(ctx.conn, 'Test SCIMv2');
      await seedGroup(ctx.conn, 'Another group');
    },
    check({ vars }, r) {
      expectIntegerPaging(r.body, 1);
      expect(r.body.Resources[0].id).toBe(vars.existing);
    },
  },
  'group-members-add': {
    setup: groupWith([]),
    async check({ conn, vars }) {
      expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.userId]);
    },
  },
  'group-members-put-aiw': {
    setup: groupWith(['other']),
    async check({ conn, vars }, r) {
      expect(r.body.members.map((m: any) => m.value)).toEqual([vars.userId]);
      expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.userId]);
    },
  },
  'group-members-remove-and-add': {
    setup: groupWith(['userId2', 'other']),
    async check({ conn, vars }) {
      expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.userId!, vars.other!].sort());
    },
  },
  'group-members-remove': {
    setup: groupWith(['userId2', 'other']),
    async check({ conn, vars }) {
      expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.other]);
    },
  },
  'group-members-replace-all': {
    setup: groupWith(['other']),
    async check({ conn, vars }) {
      expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.userId!, vars.userId2!].sort());
    },
  },
  'group-members-pathless-replace': {
    setup: groupWith(['userId2', 'other']),
    async check({ conn, vars }) {
      expect(await memberIdsOf(conn, vars.groupId!)).toEqual([vars.userId]);
      expect((await conn.request('GET', `/Groups/${vars.groupId}`)).body.displayName).toBe('Test SCIMv2');
    },
  },
  'import-list-groups-page': {
    async setup(ctx) {
      for (const name of ['A', 'B', 'C']) await seedGroup(ctx.conn, `Group ${name}`);
    },
    check(_ctx, r) {
      expectIntegerPaging(r.body, 3);
      expect(r.body.startIndex).toBe(1);
    },
  },
  'import-list-users-page': {
    async setup(ctx) {
      for (const name of ['a', 'b', 'c']) await seedUser(ctx.conn, `${name}@okta.local`);
    },
    check(_ctx, r) {
      expectIntegerPaging(r.body, 3);
      expect(r.body.Resources.map((u: any) => u.userName)).toEqual(['a@okta.local', 'b@okta.local', 'c@okta.local']);
    },
  },
  'reactivate-user-patch-no-path': {
    async setup(ctx) {
      ctx.vars.userId = await seedUser(ctx.conn, 'seed.one@fixture.test');
      expect((await ctx.conn.request('PATCH', `/Users/${ctx.vars.userId}`, { body: patch({ op: 'replace', value: { active: false } }) })).status).toBe(200);
    },
    async check({ vars, dbUser }, r) {
      expect(r.body.active).toBe(true);
      expect((await dbUser(vars.userId!)).state).toBe('ACTIVE');
    },
  },
  'rename-group-patch-no-path': {
    async setup(ctx) {
      ctx.vars.groupId = await seedGroup(ctx.conn, 'Old name');
    },
    async check(ctx, r) {
      expect(r.body).toBeUndefined();
      const after = await ctx.conn.request('GET', `/Groups/${ctx.vars.groupId}`);
      expect(after.body.displayName).toBe('Test SCIMv2');
      // Okta re-sends it with every membership change: the second time changes nothing.
      expect((await replay(ctx.conn, ctx.fixture, ctx.vars)).status).toBe(204);
      expect((await ctx.conn.request('GET', `/Groups/${ctx.vars.groupId}`)).body.meta.version).toBe(after.body.meta.version);
    },
  },
  'runscope-create-duplicate-user': {
    async setup(ctx) {
      Object.assign(ctx.vars, random());
      await seedUser(ctx.conn, ctx.vars.randomUsername!);
    },
    check(_ctx, r) {
      expectScimError(r, 409, 'uniqueness');
    },
  },
  'runscope-create-user': {
    async setup(ctx) {
      Object.assign(ctx.vars, random());
    },
    check({ vars }, r) {
      expect(r.body.schemas).toContain(USER_SCHEMA);
      expect(r.body).toMatchObject({ active: true, userName: vars.randomUsername, name: { givenName: vars.randomGivenName, familyName: vars.randomFamilyName } });
    },
  },
  'runscope-filter-unknown-username': {
    async setup(ctx) {
      ctx.vars.invalidUserEmail = `${randomUUID()}@example.com`;
      await seedUser(ctx.conn, 'someone@example.com');
    },
    check(_ctx, r) {
      expectIntegerPaging(r.body, 0);
      expect(r.body.Resources).toEqual([]);
    },
  },
  'runscope-get-resourcetypes': {
    check(_ctx, r) {
      expect(r.body.schemas).toEqual([LIST_RESPONSE]);
      expect(r.body.Resources[0]).toMatchObject({ name: 'User', endpoint: '/Users', schema: USER_SCHEMA });
    },
  },
  'runscope-get-schemas': {
    check(_ctx, r) {
      expect(r.body.Resources[0].id).toBe(USER_SCHEMA);
      expect(r.body.Resources[0].attributes.length).toBeGreaterThan(10);
    },
  },
  'runscope-get-serviceproviderconfig': {
    check(_ctx, r) {
      expect(r.body.schemas).toContain('urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig');
      expect(r.body.patch.supported).toBe(true);
      expect(r.body.bulk).toMatchObject({ supported: false, maxOperations: expect.any(Number), maxPayloadSize: expect.any(Number) });
      expect(r.body.filter).toMatchObject({ supported: true, maxResults: expect.any(Number) });
      for (const key of ['changePassword', 'sort', 'etag']) expect(typeof r.body[key].supported).toBe('boolean');
      expect(r.body.authenticationSchemes[0]).toMatchObject({ type: 'oauthbearertoken', description: expect.any(String) });
    },
  },
  'runscope-get-unknown-user-id': {
    async setup(ctx) {
      ctx.vars.userIdThatDoesNotExist = randomUUID();
    },
    check(_ctx, r) {
      expectScimError(r, 404);
    },
  },
  'runscope-list-groups': {
    async setup(ctx) {
      await seedGroup(ctx.conn, 'One');
    },
    check(_ctx, r) {
      expectIntegerPaging(r.body, 1);
    },
  },
  'runscope-list-users-count-1': {
    async setup(ctx) {
      await seedUser(ctx.conn, 'first@example.com');
      await seedUser(ctx.conn, 'second@example.com');
    },
    check(_ctx, r) {
      expectIntegerPaging(r.body, 2);
      expect(r.body.Resources).toHaveLength(1);
      const u = r.body.Resources[0];
      expect(u).toMatchObject({ id: expect.any(String), userName: 'first@example.com', active: true, name: { givenName: expect.any(String), familyName: expect.any(String) } });
      expect(u.emails[0].value).toBe('first@example.com');
    },
  },
  'runscope-post-serviceproviderconfig-readonly': {
    check(_ctx, r) {
      expectScimError(r, 405);
      expect(r.headers.get('allow')).toBe('GET');
    },
  },
  'runscope-username-case-insensitive-filter': {
    async setup(ctx) {
      ctx.vars.existing = await seedUser(ctx.conn, 'Mixed.Case@Example.com');
      ctx.vars.randomUsernameCaps = 'MIXED.CASE@EXAMPLE.COM';
    },
    check({ vars }, r) {
      expectIntegerPaging(r.body, 1);
      expect(r.body.Resources[0]).toMatchObject({ id: vars.existing, userName: 'Mixed.Case@Example.com' });
    },
  },
  'sync-password-patch': {
    async setup(ctx) {
      ctx.vars.newPassword = 'n3w-Secret!';
    },
    async check({ vars, dbUser }, r) {
      expect(r.body.password).toBeUndefined();
      expect(JSON.stringify(await dbUser(vars.userId!))).not.toContain('n3w-Secret!');
    },
  },
  'test-connection-list-users-count-2': {
    check(_ctx, r) {
      expectIntegerPaging(r.body, 0);
    },
  },
  'update-user-put-full-replace': {
    async setup(ctx) {
      ctx.vars.userId = await seedUser(ctx.conn, 'test.user@okta.local', { title: 'Engineer' });
    },
    async check({ vars, dbUser }, r) {
      expect(r.body).toMatchObject({ id: vars.userId, name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' } });
      expect(r.body.title).toBeUndefined(); // PUT replaces: what Okta left out is gone
      const stored = await dbUser(vars.userId!);
      expect(stored).toMatchObject({ givenName: 'Another', title: null, state: 'ACTIVE' });
    },
  },
};

describeIdpConformance('okta', 'Okta fixtures over HTTP', scenarios);
