// Protocol details every IdP relies on: media types, discovery documents, base URLs as admins
// paste them, ETags.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/server.ts';
import { seedUser } from './fixtures.ts';
import { createScimConnection, ENTERPRISE, expectScimError, scimRequest, startScimHub, user, USER_SCHEMA, type ScimConnection } from './support.ts';

let t: TestHub;
let c: ScimConnection;
beforeAll(async () => {
  t = await startScimHub();
  c = await createScimConnection(t);
});
afterAll(async () => {
  await t?.close();
});

describe('media types', () => {
  it('accepts application/scim+json, application/json and no content type at all', async () => {
    for (const [i, contentType] of ['application/scim+json', 'application/scim+json; charset=utf-8', 'application/json', 'text/plain'].entries()) {
      const r = await c.request('POST', '/Users', { rawBody: JSON.stringify(user(`media${i}@acme.test`)), headers: { 'content-type': contentType } });
      expect(r.status, contentType).toBe(201);
    }
  });

  it('answers application/scim+json, or application/json to a client that accepts only that', async () => {
    expect((await c.request('GET', '/Users?count=1')).headers.get('content-type')).toBe('application/scim+json; charset=utf-8');
    expect((await c.request('GET', '/Users?count=1', { headers: { accept: '*/*' } })).headers.get('content-type')).toBe('application/scim+json; charset=utf-8');
    expect((await c.request('GET', '/Users?count=1', { headers: { accept: 'application/json' } })).headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await c.request('GET', '/Nope', { headers: { accept: 'application/json' } })).headers.get('content-type')).toBe('application/json; charset=utf-8');
  });
});

describe('discovery', () => {
  it('serves each schema and resource type by id, with every attribute characteristic', async () => {
    const schema = await c.request('GET', `/Schemas/${ENTERPRISE}`);
    expect(schema.body).toMatchObject({ id: ENTERPRISE, name: 'EnterpriseUser', meta: { resourceType: 'Schema' } });
    const manager = schema.body.attributes.find((a: any) => a.name === 'manager');
    expect(manager).toMatchObject({ type: 'complex', multiValued: false, required: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none' });
    const userSchema = (await c.request('GET', `/Schemas/${USER_SCHEMA}`)).body;
    expect(userSchema.attributes.find((a: any) => a.name === 'userName')).toMatchObject({ required: true, caseExact: false, uniqueness: 'server' });
    expect(userSchema.attributes.find((a: any) => a.name === 'password')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
    expect((await c.request('GET', '/ResourceTypes/User')).body).toMatchObject({ endpoint: '/Users', schema: USER_SCHEMA, schemaExtensions: [{ schema: ENTERPRISE, required: false }] });
    expect((await c.request('GET', '/ResourceTypes')).body.totalResults).toBe(2);
    const spc = (await c.request('GET', '/ServiceProviderConfig')).body;
    expect(spc).toMatchObject({ patch: { supported: true }, etag: { supported: true }, filter: { supported: true, maxResults: 1000 }, bulk: { supported: false } });
  });
});

describe('base URLs as admins paste them', () => {
  it('tolerates a trailing slash, doubled slashes, a bare "?", resource names in any case, and Entra\'s ?aadOptscim062020', async () => {
    const id = await seedUser(c, 'paths@acme.test');
    const get = (url: string) => fetch(url, { headers: { authorization: `Bearer ${c.token}` } });
    for (const url of [`${c.baseUrl}/Users/${id}/`, `${c.baseUrl}//Users/${id}`, `${c.baseUrl}/Users/${id}?`, `${c.baseUrl}/users/${id}`, `${c.baseUrl}/Users/${id}?aadOptscim062020`]) {
      expect((await get(url)).status, url).toBe(200);
    }
    const flagged = await get(`${c.baseUrl}/Users?aadOptscim062020&filter=${encodeURIComponent('userName eq "paths@acme.test"')}`);
    expect((await flagged.json()).totalResults).toBe(1);
  });
});

describe('ETags', () => {
  it('sends ETag with every single resource and a weak version in meta', async () => {
    const created = await c.request('POST', '/Users', { body: user('etag@acme.test') });
    expect(created.headers.get('etag')).toBe('W/"1"');
    expect(created.body.meta.version).toBe('W/"1"');
    const g = await c.request('POST', '/Groups', { body: { displayName: 'ETag group' } });
    expect(g.headers.get('etag')).toBe(g.body.meta.version);
    expect((await c.request('GET', `/Groups/${g.body.id}`, { headers: { 'if-none-match': g.body.meta.version } })).status).toBe(304);
    expectScimError(await c.request('DELETE', `/Groups/${g.body.id}`, { headers: { 'if-match': 'W/"7"' } }), 412);
    expect((await c.request('DELETE', `/Groups/${g.body.id}`, { headers: { 'if-match': g.body.meta.version } })).status).toBe(204);
  });

  it('serves a user created by another source of the same connection from its columns', async () => {
    // Not via SCIM: the engine directly (e.g. an import), so there is no stored SCIM resource.
    await t.hub.engine.execute({
      connectionId: c.connectionId,
      actor: { type: 'connection', connectionId: c.connectionId },
      commands: [{ type: 'upsertUser', sourceId: '01930000-0000-7000-8000-0000000000aa', id: '01930000-0000-7000-8000-0000000000aa', profile: { userName: 'imported@acme.test', givenName: 'Im', familyName: 'Ported', emails: [{ value: 'imported@acme.test', primary: true }] } }],
    });
    const r = await scimRequest(c.baseUrl, 'GET', '/Users/01930000-0000-7000-8000-0000000000aa', { token: c.token });
    expect(r.body).toMatchObject({ userName: 'imported@acme.test', name: { givenName: 'Im', familyName: 'Ported' }, emails: [{ value: 'imported@acme.test', primary: true }], active: true });
  });
});
