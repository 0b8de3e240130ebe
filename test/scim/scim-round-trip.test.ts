// A full provisioning round over HTTP: 250 users created, read, filtered and paginated; PATCHed,
// deactivated, reactivated, deleted; groups with members added and removed, with the roles the
// engine derives from them; and what the hub's GraphQL API shows of it all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/server.ts';
import { seedGroup, seedUser } from './fixtures.ts';
import { createScimConnection, ENTERPRISE, expectScimError, patch, startScimHub, user, type ScimConnection } from './support.ts';

let t: TestHub;
let c: ScimConnection;
const ids: string[] = [];

beforeAll(async () => {
  t = await startScimHub();
  c = await createScimConnection(t);
});
afterAll(async () => {
  await t?.close();
});

const userByGraphQL = async (id: string) =>
  (await t.gqlOk(`query($id: ID!) { user(id: $id) { id sourceId userName state roles groups { id } customAttributes } }`, { id })).user;

async function inParallel<T>(items: T[], width: number, fn: (item: T, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

describe('250 users', () => {
  it('creates them (8 clients at once), each answered 201 with its resource', async () => {
    const names = Array.from({ length: 250 }, (_, i) => `user${String(i).padStart(3, '0')}@acme.test`);
    await inParallel(names, 8, async (name, i) => {
      const r = await c.request('POST', '/Users', { body: user(name, { externalId: `ext-${i}`, title: i % 2 ? 'Engineer' : 'Designer' }) });
      expect(r.status).toBe(201);
      ids[i] = r.body.id;
    });
    expect(new Set(ids).size).toBe(250);
  });

  it('reads one back exactly as it was sent, plus id and meta, with the hub id as the SCIM id', async () => {
    const r = await c.request('GET', `/Users/${ids[7]}`);
    expect(r.body).toMatchObject({ id: ids[7], userName: 'user007@acme.test', externalId: 'ext-7', title: 'Engineer', emails: [{ value: 'user007@acme.test', type: 'work', primary: true }] });
    expect(r.body.meta).toEqual({ resourceType: 'User', created: expect.any(String), lastModified: expect.any(String), location: `${c.baseUrl}/Users/${ids[7]}`, version: 'W/"1"' });
    expect(await userByGraphQL(ids[7]!)).toMatchObject({ id: ids[7], sourceId: ids[7], userName: 'user007@acme.test', state: 'ACTIVE' });
  });

  it('paginates all 250 in a stable order with accurate totals', async () => {
    const seen: string[] = [];
    for (let start = 1; start <= 250; start += 100) {
      const r = await c.request('GET', `/Users?startIndex=${start}&count=100`);
      expect(r.body).toMatchObject({ totalResults: 250, startIndex: start, itemsPerPage: Math.min(100, 251 - start) });
      expect(r.body.Resources).toHaveLength(r.body.itemsPerPage);
      seen.push(...r.body.Resources.map((u: any) => u.id));
    }
    expect(seen).toEqual([...ids].sort());
    // Another page size gives the same order.
    const again = await c.request('GET', '/Users?startIndex=41&count=7');
    expect(again.body.Resources.map((u: any) => u.id)).toEqual(seen.slice(40, 47));
    // Past the end: nothing, but the true total; count=0: the total only.
    expect((await c.request('GET', '/Users?startIndex=1000&count=10')).body).toMatchObject({ totalResults: 250, itemsPerPage: 0, Resources: [] });
    expect((await c.request('GET', '/Users?count=0')).body).toMatchObject({ totalResults: 250, itemsPerPage: 0, Resources: [] });
    // Out-of-range paging values are clamped (startIndex < 1 is 1, count above maxResults is maxResults).
    expect((await c.request('GET', '/Users?startIndex=-5&count=100000')).body).toMatchObject({ startIndex: 1, itemsPerPage: 250 });
  });

  it('filters and pages together', async () => {
    const r = await c.request('GET', `/Users?filter=${encodeURIComponent('title eq "engineer"')}&startIndex=101&count=100`);
    expect(r.body).toMatchObject({ totalResults: 125, startIndex: 101, itemsPerPage: 25 });
  });

  it('honours attributes and excludedAttributes', async () => {
    const only = await c.request('GET', `/Users/${ids[1]}?attributes=userName,name.givenName,${ENTERPRISE}:department`);
    expect(only.body).toEqual({ schemas: expect.any(Array), id: ids[1], userName: 'user001@acme.test', name: { givenName: 'Test' } });
    const without = await c.request('GET', `/Users?count=1&excludedAttributes=emails,meta`);
    expect(without.body.Resources[0].emails).toBeUndefined();
    expect(without.body.Resources[0].meta).toBeUndefined();
    expect(without.body.Resources[0].userName).toBeDefined();
  });

  it('never creates a second user for a retried POST', async () => {
    const again = await c.request('POST', '/Users', { body: user('user010@acme.test', { externalId: 'ext-10' }) });
    expectScimError(again, 409, 'uniqueness');
    const byExternalId = await c.request('POST', '/Users', { body: user('someone.new@acme.test', { externalId: 'ext-10' }) });
    expectScimError(byExternalId, 409, 'uniqueness');
    expect((await c.request('GET', '/Users?count=0')).body.totalResults).toBe(250);
  });
});

describe('lifecycle', () => {
  it('deactivates with PATCH (deprovision: roles dropped) and reactivates with PUT', async () => {
    const id = ids[20]!;
    const off = await c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'replace', path: 'active', value: false }) });
    expect(off.body.active).toBe(false);
    expect(await userByGraphQL(id)).toMatchObject({ state: 'DEPROVISIONED', roles: [] });
    // Soft-deprovisioned users are still served (Entra reads them back).
    expect((await c.request('GET', `/Users?filter=${encodeURIComponent(`id eq "${id}" and active eq false`)}`)).body.totalResults).toBe(1);
    const current = (await c.request('GET', `/Users/${id}`)).body;
    const on = await c.request('PUT', `/Users/${id}`, { body: { ...current, active: true } });
    expect(on.status).toBe(200);
    expect(on.body.active).toBe(true);
    expect(await userByGraphQL(id)).toMatchObject({ state: 'ACTIVE', roles: ['member'] });
  });

  it('deletes: GET answers 404, the name is free again, and the SOFT policy keeps the record', async () => {
    const id = ids[30]!;
    expect((await c.request('DELETE', `/Users/${id}`)).status).toBe(204);
    expectScimError(await c.request('GET', `/Users/${id}`), 404);
    expectScimError(await c.request('DELETE', `/Users/${id}`), 404);
    expectScimError(await c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'replace', path: 'title', value: 'x' }) }), 404);
    expectScimError(await c.request('PUT', `/Users/${id}`, { body: user('user030@acme.test') }), 404);
    expect((await c.request('GET', `/Users?filter=${encodeURIComponent('userName eq "user030@acme.test"')}`)).body.totalResults).toBe(0);
    expect(await userByGraphQL(id)).toMatchObject({ state: 'DEPROVISIONED', userName: 'user030@acme.test' });
    const recreated = await c.request('POST', '/Users', { body: user('user030@acme.test', { externalId: 'ext-30' }) });
    expect(recreated.status).toBe(201);
    expect(recreated.body.id).not.toBe(id);
  });

  it('erases the record under the HARD_DELETE policy', async () => {
    const hard = await createScimConnection(t, { deprovisionPolicy: 'HARD_DELETE' });
    const id = await seedUser(hard, 'erase.me@acme.test', { title: 'CFO' });
    expect((await hard.request('DELETE', `/Users/${id}`)).status).toBe(204);
    expectScimError(await hard.request('GET', `/Users/${id}`), 404);
    expect(await t.db.prisma.directoryUser.findUniqueOrThrow({ where: { id } })).toMatchObject({ state: 'DELETED', userName: null, title: null, sourceData: {} });
  });

  it('keeps attributes outside the schemas as custom attributes, minus the deny list', async () => {
    const r = await c.request('POST', '/Users', {
      body: user('custom@acme.test', { costCode: 'K-9', ssn: '123-45-6789', 'urn:ietf:params:scim:schemas:extension:acme:2.0:User': { badge: 'B-7', nationalId: 'X' } }),
    });
    expect(r.status).toBe(201);
    const u = await userByGraphQL(r.body.id);
    expect(u.customAttributes).toEqual({ costCode: 'K-9', 'urn:ietf:params:scim:schemas:extension:acme:2.0:User': { badge: 'B-7' } });
    expect(r.body.ssn).toBeUndefined();
    expect(JSON.stringify(await t.db.prisma.directoryUser.findUniqueOrThrow({ where: { id: r.body.id } }))).not.toContain('123-45-6789');
    expect(r.body.schemas).toContain('urn:ietf:params:scim:schemas:extension:acme:2.0:User');
  });

  it('honours If-Match (412 on a stale version) and If-None-Match (304)', async () => {
    const id = ids[40]!;
    const current = await c.request('GET', `/Users/${id}`);
    const etag = current.headers.get('etag')!;
    expect((await c.request('GET', `/Users/${id}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const ok = await c.request('PUT', `/Users/${id}`, { body: { ...current.body, title: 'Lead' }, headers: { 'if-match': etag } });
    expect(ok.status).toBe(200);
    expect(ok.body.meta.version).not.toBe(etag);
    expectScimError(await c.request('PUT', `/Users/${id}`, { body: current.body, headers: { 'if-match': etag } }), 412);
    expectScimError(await c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'replace', path: 'title', value: 'x' }), headers: { 'if-match': etag } }), 412);
    expectScimError(await c.request('DELETE', `/Users/${id}`, { headers: { 'if-match': etag } }), 412);
    expect((await c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'replace', path: 'title', value: 'Staff' }), headers: { 'if-match': ok.body.meta.version } })).status).toBe(200);
  });
});

describe('groups', () => {
  let groupId: string;

  it('creates a group with members, and roles follow its mapping', async () => {
    const r = await c.request('POST', '/Groups', { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Admins', externalId: 'g-1', members: [{ value: ids[50] }, { value: ids[51] }] } });
    expect(r.status).toBe(201);
    groupId = r.body.id;
    expect(r.body.members.map((m: any) => m.value).sort()).toEqual([ids[50], ids[51]].sort());
    await t.gqlOk(`mutation($g: ID!) { setGroupMapping(input: { groupId: $g, role: "admin" }) { mapping { id } } }`, { g: groupId });
    expect(await userByGraphQL(ids[50]!)).toMatchObject({ roles: ['admin'], groups: [{ id: groupId }] });
  });

  it('adds and removes members with PATCH; roles are recomputed in the same commit', async () => {
    expect((await c.request('PATCH', `/Groups/${groupId}`, { body: patch({ op: 'add', path: 'members', value: [{ value: ids[52] }, { value: ids[53] }] }) })).status).toBe(204);
    expect(await userByGraphQL(ids[52]!)).toMatchObject({ roles: ['admin'] });
    expect((await c.request('PATCH', `/Groups/${groupId}`, { body: patch({ op: 'remove', path: `members[value eq "${ids[50]}"]` }) })).status).toBe(204);
    expect(await userByGraphQL(ids[50]!)).toMatchObject({ roles: ['member'], groups: [] });
    const g = await c.request('GET', `/Groups/${groupId}`);
    expect(g.body.members.map((m: any) => m.value).sort()).toEqual([ids[51], ids[52], ids[53]].sort());
    expect((await t.gqlOk(`query($id: ID!) { group(id: $id) { memberCount } }`, { id: groupId })).group.memberCount).toBe(3);
  });

  it('applies concurrent membership PATCHes on one group without losing any (Entra sends them in parallel)', async () => {
    const extra = ids.slice(100, 140);
    await inParallel(extra, 8, async (id) => {
      const r = await c.request('PATCH', `/Groups/${groupId}`, { body: patch({ op: 'Add', path: 'members', value: [{ $ref: null, value: id }] }) });
      expect(r.status).toBe(204);
    });
    await inParallel(extra.slice(0, 20), 8, async (id) => {
      expect((await c.request('PATCH', `/Groups/${groupId}`, { body: patch({ op: 'Remove', path: 'members', value: [{ value: id }] }) })).status).toBe(204);
    });
    const members = (await c.request('GET', `/Groups/${groupId}`)).body.members.map((m: any) => m.value).sort();
    expect(members).toEqual([ids[51], ids[52], ids[53], ...extra.slice(20)].sort());
  });

  it('replaces the whole group with PUT, renames with PATCH, lists without members on request', async () => {
    const put = await c.request('PUT', `/Groups/${groupId}`, { body: { displayName: 'Admins', members: [{ value: ids[60] }] } });
    expect(put.status).toBe(200);
    expect(put.body.members.map((m: any) => m.value)).toEqual([ids[60]]);
    expect(put.body.externalId).toBeUndefined(); // PUT replaces: externalId was not sent
    expect((await c.request('PATCH', `/Groups/${groupId}`, { body: patch({ op: 'replace', path: 'displayName', value: 'Platform Admins' }) })).status).toBe(204);
    const withAttrs = await c.request('PATCH', `/Groups/${groupId}?excludedAttributes=members`, { body: patch({ op: 'add', path: 'externalId', value: 'g-2' }) });
    expect(withAttrs.status).toBe(200);
    expect(withAttrs.body).toMatchObject({ id: groupId, displayName: 'Platform Admins', externalId: 'g-2' });
    expect(withAttrs.body.members).toBeUndefined();
    const list = await c.request('GET', '/Groups?excludedAttributes=members');
    expect(list.body.Resources.every((g: any) => g.members === undefined)).toBe(true);
  });

  it('rejects a duplicate displayName (409) and members that are not users of the connection (400)', async () => {
    expectScimError(await c.request('POST', '/Groups', { body: { displayName: 'platform admins' } }), 409, 'uniqueness');
    const other = await createScimConnection(t);
    const stranger = await seedUser(other, 'stranger@elsewhere.test');
    expectScimError(await c.request('PATCH', `/Groups/${groupId}`, { body: patch({ op: 'add', path: 'members', value: [{ value: stranger }] }) }), 400, 'invalidValue');
    expectScimError(await c.request('PATCH', `/Groups/${groupId}`, { body: patch({ op: 'add', path: 'members', value: [{ value: 'not-an-id' }] }) }), 400, 'invalidValue');
  });

  it('deletes a group: members lose the roles it granted, GET answers 404', async () => {
    const member = ids[60]!;
    expect(await userByGraphQL(member)).toMatchObject({ roles: ['admin'] });
    expect((await c.request('DELETE', `/Groups/${groupId}`)).status).toBe(204);
    expectScimError(await c.request('GET', `/Groups/${groupId}`), 404);
    expectScimError(await c.request('DELETE', `/Groups/${groupId}`), 404);
    expect(await userByGraphQL(member)).toMatchObject({ roles: ['member'] });
  });

  it('serves group members by id even for a deactivated member (the IdP still lists them)', async () => {
    const g = await seedGroup(c, 'Suspended members', [ids[70]!]);
    await c.request('PATCH', `/Users/${ids[70]}`, { body: patch({ op: 'replace', value: { active: false } }) });
    expect((await c.request('GET', `/Groups/${g}`)).body.members.map((m: any) => m.value)).toEqual([ids[70]]);
  });
});

describe('test mode', () => {
  it('answers as if applied and applies nothing', async () => {
    const dry = await createScimConnection(t, { testMode: true });
    const r = await dry.request('POST', '/Users', { body: user('dry@acme.test') });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ userName: 'dry@acme.test', id: expect.any(String) });
    expectScimError(await dry.request('GET', `/Users/${r.body.id}`), 404);
    expect((await dry.request('GET', '/Users?count=0')).body.totalResults).toBe(0);
    const g = await dry.request('POST', '/Groups', { body: { displayName: 'Dry group' } });
    expect(g.status).toBe(201);
    expect((await dry.request('GET', '/Groups?count=0')).body.totalResults).toBe(0);
    expect(await t.db.prisma.directoryUser.count({ where: { connectionId: dry.connectionId } })).toBe(0);
  });
});
