// Every SCIM route, generated from the SCIM service's own route table (plugins/scim/app.ts
// scimRoutes), called with no token, wrong tokens and another organization's connection token:
// 401 in the SCIM error form, nothing read, nothing written. Then B's valid token on B's own base
// URL aimed at A's resource ids: 404, as if they did not exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scimRoutes } from '../../plugins/scim/app.ts';
import { expectScimError, GROUP_SCHEMA, patch, scimRequest, USER_SCHEMA, type ScimReply } from '../scim/support.ts';
import type { TestHub } from '../support/server.ts';
import { expectNothingChanged, startTwoTenantHub, type Tenant } from './support.ts';

let t: TestHub;
let a: Tenant;
let b: Tenant;
beforeAll(async () => {
  ({ t, a, b } = await startTwoTenantHub());
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const RESOURCE_PATHS: Record<string, string> = {
  users: '/Users',
  groups: '/Groups',
  serviceproviderconfig: '/ServiceProviderConfig',
  resourcetypes: '/ResourceTypes',
  schemas: '/Schemas',
};

/** A body each write route would accept from its owner (so only the credential is wrong). */
function bodyFor(resource: string, method: string): unknown {
  if (method === 'GET' || method === 'DELETE') return undefined;
  if (method === 'PATCH') return patch({ op: 'replace', path: resource === 'users' ? 'active' : 'displayName', value: resource === 'users' ? false : 'Renamed' });
  if (resource === 'users') return { schemas: [USER_SCHEMA], userName: 'mallory@evil.test', active: true };
  return { schemas: [GROUP_SCHEMA], displayName: 'Mallory group' };
}

interface RouteCase {
  name: string;
  method: string;
  /** Path under a connection's base URL; `<A>` is replaced by A's resource id. */
  path: string;
  resource: string;
}

/** Every (method, path) the route table serves. */
function routeCases(): RouteCase[] {
  const cases: RouteCase[] = [];
  for (const [resource, route] of Object.entries(scimRoutes)) {
    const base = RESOURCE_PATHS[resource];
    if (!base) throw new Error(`scimRoutes has "${resource}": add its path to RESOURCE_PATHS`);
    for (const method of Object.keys(route.collection)) cases.push({ name: `${method} ${base}`, method, path: base, resource });
    for (const method of Object.keys(route.item ?? {})) cases.push({ name: `${method} ${base}/<id>`, method, path: `${base}/<A>`, resource });
    if (route.search) cases.push({ name: `POST ${base}/.search`, method: 'POST', path: `${base}/.search`, resource });
  }
  return cases;
}
const cases = routeCases();

function idOfA(resource: string): string {
  if (resource === 'users') return a.userScimId;
  if (resource === 'groups') return a.groupId;
  if (resource === 'resourcetypes') return 'User';
  return 'urn:ietf:params:scim:schemas:core:2.0:User';
}

function send(baseUrl: string, c: RouteCase, authorization: string | null): Promise<ScimReply> {
  const body = c.path.endsWith('/.search') ? { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName pr' } : bodyFor(c.resource, c.method);
  return scimRequest(baseUrl, c.method, c.path.replace('<A>', encodeURIComponent(idOfA(c.resource))), {
    body,
    token: null,
    headers: authorization === null ? {} : { authorization },
  });
}

describe('every SCIM route refuses a caller without this connection\'s token', () => {
  it('covers the whole route table', () => {
    expect(cases.map((c) => c.name)).toEqual(expect.arrayContaining(['POST /Users', 'PATCH /Users/<id>', 'DELETE /Groups/<id>', 'POST /Groups/.search', 'GET /ServiceProviderConfig', 'GET /Schemas/<id>']));
  });

  const callers: Array<[string, () => string | null]> = [
    ['no Authorization header', () => null],
    ['an empty bearer', () => 'Bearer '],
    ['a made-up token', () => 'Bearer scim_not_a_token_0123456789abcdef'],
    ['Basic credentials', () => `Basic ${Buffer.from(`x:${a.scim.token}`).toString('base64')}`],
    ['the token twice', () => `Bearer ${a.scim.token} ${a.scim.token}`],
    ["organization B's SCIM token (valid, for another connection)", () => `Bearer ${b.scim.token}`],
    ["organization A's own API key (not this connection's token)", () => `Bearer ${a.apiKey}`],
    ['an oversized token', () => `Bearer ${'t'.repeat(8192)}`],
  ];
  it.each(callers)("%s: 401 in the SCIM error form on A's base URL, nothing changed", async (_name, authorization) => {
    await expectNothingChanged(t, async () => {
      for (const c of cases) {
        const reply = await send(a.scim.baseUrl, c, authorization());
        try {
          expectScimError(reply, 401);
        } catch (error) {
          throw new Error(`${c.name}: ${(error as Error).message}`);
        }
        expect(reply.headers.get('www-authenticate'), c.name).toMatch(/^Bearer/);
        const text = JSON.stringify(reply.body);
        for (const secret of [a.userId, a.groupId, 'Alpha']) expect(text, c.name).not.toContain(secret);
      }
    });
  });

  it('a valid token on a connection id that does not exist, or is not a uuid: 401, the same answer', async () => {
    for (const connectionId of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', '%00', 'a'.repeat(2000)]) {
      const reply = await scimRequest(`${t.url}/scim/v2/${connectionId}`, 'GET', '/Users', { token: a.scim.token });
      expectScimError(reply, 401);
    }
  });
});

describe("B's valid token, on B's base URL, aimed at A's resources", () => {
  it('answers 404 for every item route, as if A\'s ids did not exist, and changes nothing', async () => {
    const itemCases = cases.filter((c) => c.path.includes('<A>') && (c.resource === 'users' || c.resource === 'groups'));
    expect(itemCases.length).toBe(8);
    await expectNothingChanged(t, async () => {
      for (const c of itemCases) {
        const reply = await send(b.scim.baseUrl, c, `Bearer ${b.scim.token}`);
        try {
          expectScimError(reply, 404);
        } catch (error) {
          throw new Error(`${c.name}: ${(error as Error).message}`);
        }
      }
    });
  });

  it("lists and filters see none of A's users or groups", async () => {
    for (const path of ['/Users', `/Users?filter=${encodeURIComponent(`id eq "${a.userId}"`)}`, `/Users?filter=${encodeURIComponent('userName co "alpha"')}`, '/Groups', `/Groups?filter=${encodeURIComponent(`members.value eq "${a.userId}"`)}`]) {
      const reply = await b.scim.request('GET', path);
      expect(reply.status, path).toBe(200);
      const text = JSON.stringify(reply.body);
      for (const secret of [a.userId, a.groupId, 'Alpha']) expect(text, path).not.toContain(secret);
    }
  });

  it("cannot add A's user to B's group (the member is not found in B), nothing changed", async () => {
    const { groupId } = b;
    await expectNothingChanged(t, async () => {
      const reply = await b.scim.request('PATCH', `/Groups/${groupId}`, { body: patch({ op: 'add', path: 'members', value: [{ value: a.userId }] }) });
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
    });
  });
});
