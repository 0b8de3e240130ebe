// Requests whose paths, keys or values walk into a prototype (issue 14, item 1): SCIM PATCH paths
// and value keys ("__proto__.x", "constructor.prototype.x", in any case, after a URN or a filter),
// SCIM POST / PUT bodies with "__proto__" and "constructor.prototype" keys (escaped too), vendor
// webhook payloads, GraphQL variables, JSON literals and connector config. Each gets the route's
// protocol error (SCIM invalidPath / invalidSyntax, webhook 400 invalid_payload, GraphQL
// BAD_USER_INPUT), nothing is stored, Object.prototype is untouched, and the other organization
// is served as before. Last, the three reported payloads against a hub in its own process, run
// with `npm start`'s flags: refused, and the process still serves both organizations seconds later.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnHubProcess, type HubProcess } from '../support/hub-process.ts';
import { rawFixture } from '../clerk/clerk-objects.ts';
import { hubEnv } from '../faults/support.ts';
import { expectScimError, GROUP_SCHEMA, patch, scimRequest, USER_SCHEMA } from '../scim/support.ts';
import type { TestHub } from '../support/server.ts';
import { signSvixDelivery } from '../support/vendors/svix.ts';
import { stytchFixture } from '../support/vendors/stytch.ts';
import { signWorkosDelivery, workosFixture } from '../support/vendors/workos.ts';
import { expectNothingChanged, expectStillServed, expectWebhookError, startTwoTenantHub, type Tenant } from './support.ts';

let t: TestHub;
let a: Tenant;
let b: Tenant;
const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
beforeAll(async () => {
  ({ t, a, b } = await startTwoTenantHub());
}, 120_000);
afterAll(async () => {
  await t?.close();
});

/** Object.prototype as it was, and organization B served as before. */
afterEach(async () => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  await expectStillServed(t, b);
});

describe('SCIM PATCH', () => {
  const paths = [
    '__proto__.polluted',
    'constructor.prototype.polluted',
    '__PROTO__.polluted',
    'Constructor.Prototype.polluted',
    'name.__proto__.polluted',
    'name.constructor.prototype.polluted',
    'emails[type eq "work"].__proto__',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:__proto__.polluted',
    'urn:ietf:params:scim:schemas:core:2.0:User:constructor.prototype.polluted',
    'urn:example:__proto__:polluted',
    'prototype',
  ];
  it.each(paths)('path %j: 400 invalidPath for add, replace and remove, on Users and Groups; nothing changed', async (path) => {
    await expectNothingChanged(t, async () => {
      for (const resource of [`/Users/${a.userId}`, `/Groups/${a.groupId}`]) {
        for (const op of ['add', 'Replace', 'remove']) {
          const reply = await a.scim.request('PATCH', resource, { body: patch({ op, path, ...(op === 'remove' ? {} : { value: 'yes' }) }) });
          expectScimError(reply, 400, 'invalidPath');
        }
      }
    });
  });

  // A path-less value's keys are paths too; keys inside a value are merged the same way.
  const values: Array<[string, unknown]> = [
    ['a value key "__proto__.polluted"', { op: 'add', value: { '__proto__.polluted': 'yes' } }],
    ['a value key "constructor.prototype.polluted"', { op: 'replace', value: { 'constructor.prototype.polluted': 'yes' } }],
    ['a URN key holding "__proto__.polluted"', { op: 'add', value: { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { '__proto__.polluted': 'yes' } } }],
    ['a nested value key under path "name"', { op: 'replace', path: 'name', value: { '__proto__.polluted': 'yes' } }],
    ['a value key "constructor" holding "prototype"', { op: 'add', path: 'name', value: { constructor: { prototype: { polluted: 'yes' } } } }],
    ['a key "prototype" in a list element', { op: 'add', path: 'emails', value: [{ value: 'x@example.test', prototype: { polluted: 'yes' } }] }],
  ];
  it.each(values)('%s: 400 invalidSyntax on Users and Groups; nothing changed', async (_name, operation) => {
    await expectNothingChanged(t, async () => {
      for (const resource of [`/Users/${a.userId}`, `/Groups/${a.groupId}`]) {
        expectScimError(await a.scim.request('PATCH', resource, { body: patch(operation) }), 400, 'invalidSyntax');
      }
    });
  });

  it('a "__proto__" key as JSON text (plain and \\u-escaped) in a value: 400 invalidSyntax', async () => {
    await expectNothingChanged(t, async () => {
      for (const key of ['__proto__', '\\u005f_proto__']) {
        const body = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"${key}":{"polluted":"yes"}}}]}`;
        expectScimError(await a.scim.request('PATCH', `/Users/${a.userId}`, { rawBody: body, headers: { 'content-type': 'application/scim+json' } }), 400, 'invalidSyntax');
      }
    });
  });
});

describe('SCIM POST and PUT', () => {
  const user = (extra: string) => `{"schemas":["${USER_SCHEMA}"],"userName":"mallory@example.test",${extra}}`;
  const group = (extra: string) => `{"schemas":["${GROUP_SCHEMA}"],"displayName":"Mallory",${extra}}`;
  const extras = [
    '"__proto__":{"polluted":"yes"}',
    '"name":{"givenName":"M","__proto__":{"polluted":"yes"}}',
    '"constructor":{"prototype":{"polluted":"yes"}}',
    '"emails":[{"value":"m@example.test","constructor":{"prototype":{"polluted":"yes"}}}]',
    '"__proto__.polluted":"yes"',
    '"urn:example:custom:__proto__":{"polluted":"yes"}',
    '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"constructor.prototype.polluted":"yes"}',
  ];
  it.each(extras)('a body with %s: 400 invalidSyntax on POST and PUT of Users and Groups; nothing changed', async (extra) => {
    await expectNothingChanged(t, async () => {
      const headers = { 'content-type': 'application/scim+json' };
      for (const [method, path, body] of [
        ['POST', '/Users', user(extra)],
        ['PUT', `/Users/${a.userId}`, user(extra)],
        ['POST', '/Groups', group(extra)],
        ['PUT', `/Groups/${a.groupId}`, group(extra)],
        ['POST', '/Users/.search', `{"filter":"userName eq \\"x\\"",${extra}}`],
      ] as const) {
        expectScimError(await a.scim.request(method, path, { rawBody: body, headers }), 400, 'invalidSyntax');
      }
    });
  });
});

describe('vendor webhooks', () => {
  const vendors = [
    { name: 'clerk', body: () => rawFixture('user.created.json'), sign: signSvixDelivery },
    { name: 'workos', body: () => JSON.stringify(workosFixture('dsync.user.created')), sign: signWorkosDelivery },
    { name: 'stytch', body: () => JSON.stringify(stytchFixture('scim.member.create')), sign: signSvixDelivery },
  ] as const;
  // At the top, inside the first nested object, and as constructor.prototype.
  const injections: Array<[string, (body: string) => string]> = [
    ['a top-level "__proto__"', (body) => body.replace(/^\{/, '{"__proto__":{"polluted":"yes"},')],
    ['a nested "__proto__"', (body) => body.replace(/(\{[^{]*?)\{/, '$1{"__proto__":{"polluted":"yes"},')],
    ['a nested "constructor.prototype"', (body) => body.replace(/(\{[^{]*?)\{/, '$1{"constructor":{"prototype":{"polluted":"yes"}},')],
  ];
  describe.each(vendors)('$name', (vendor) => {
    it.each(injections)('a signed delivery with %s: 400 invalid_payload, nothing changed', async (_name, inject) => {
      const body = inject(vendor.body());
      expect(body).toMatch(/"(__proto__|constructor)":/);
      await expectNothingChanged(t, async () => {
        const response = await fetch(a[vendor.name].webhookUrl, { method: 'POST', headers: vendor.sign(body, a[vendor.name].secret), body });
        await expectWebhookError(response, 400, 'invalid_payload');
      });
    });
  });
});

describe('GraphQL', () => {
  const CREATE_CONNECTION = `mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "scim", name: "x", config: $c }) { connection { id } } }`;
  async function post(body: string, key = a.apiKey) {
    const response = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
    return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> } };
  }
  const expectBadUserInput = (reply: Awaited<ReturnType<typeof post>>) => {
    expect(reply.body.errors?.[0]?.extensions?.code, JSON.stringify(reply.body)).toBe('BAD_USER_INPUT');
    expect(reply.body.data ?? null).toBeNull();
  };

  it.each([
    ['connector config with "__proto__"', `{"o":"ORG","c":{"__proto__":{"polluted":"yes"}}}`],
    ['connector config with "constructor.prototype"', `{"o":"ORG","c":{"rateLimit":{"constructor":{"prototype":{"polluted":"yes"}}}}}`],
    ['a "__proto__" variable', `{"o":"ORG","__proto__":{"polluted":"yes"}}`],
    ['an escaped "\\u005f_proto__"', `{"o":"ORG","c":{"\\u005f_proto__":{"polluted":"yes"}}}`],
  ])('variables with %s: BAD_USER_INPUT, no connection created', async (_name, variables) => {
    await expectNothingChanged(t, async () => {
      expectBadUserInput(await post(`{"query":${JSON.stringify(CREATE_CONNECTION)},"variables":${variables.replace('ORG', a.organizationId)}}`));
    });
  });

  it('a JSON literal with a "__proto__" field: BAD_USER_INPUT, no connection created', async () => {
    await expectNothingChanged(t, async () => {
      for (const literal of ['{ __proto__: { polluted: "yes" } }', '{ constructor: { prototype: { polluted: "yes" } } }']) {
        const query = `mutation { createDirectoryConnection(input: { organizationId: "${a.organizationId}", provider: "scim", name: "x", config: ${literal} }) { connection { id } } }`;
        expectBadUserInput(await post(JSON.stringify({ query })));
      }
    });
  });
});

describe('the reported payloads against a hub in its own process (npm start flags)', () => {
  let hub: HubProcess;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lh-pollution-'));
    // A fresh embedded database takes minutes to initialize on a loaded 2-core CI machine.
    hub = await spawnHubProcess(hubEnv({ DATA_DIR: dataDir }), { seed: { organizations: [{ slug: 'attacker', users: 1, source: 'scim' }, { slug: 'victim', users: 1, source: 'scim' }] }, timeoutMs: 300_000 });
  }, 360_000);
  afterAll(async () => {
    await hub?.kill();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('each is refused with a SCIM 400, and seconds later the process still serves both organizations', async () => {
    const [attacker, victim] = hub.organizations as [Required<HubProcess['organizations'][number]>, Required<HubProcess['organizations'][number]>];
    const scim = (org: typeof attacker, method: string, path: string, body?: unknown) => scimRequest(org.scim.baseUrl, method, path, { token: org.scim.token, body });
    const reported: Array<[unknown, string]> = [
      [patch({ op: 'add', path: '__proto__.polluted', value: 'yes' }), 'invalidPath'],
      [patch({ op: 'add', value: { '__proto__.polluted': 'yes' } }), 'invalidSyntax'],
      [patch({ op: 'add', path: 'constructor.prototype.polluted', value: 'yes' }), 'invalidPath'],
    ];
    for (const [body, scimType] of reported) {
      expectScimError(await scim(attacker, 'PATCH', `/Users/${attacker.userIds[0]}`, body), 400, scimType);
      expect((await scim(victim, 'GET', `/Users/${victim.userIds[0]}`)).status).toBe(200);
    }
    // The crash came about a second after the request (a GC observer of the metrics): wait past it.
    await new Promise((r) => setTimeout(r, 2500));
    expect(hub.child.exitCode, hub.output()).toBeNull();
    expect((await scim(victim, 'GET', `/Users/${victim.userIds[0]}`)).status).toBe(200);
    expect((await scim(attacker, 'GET', `/Users/${attacker.userIds[0]}`)).status).toBe(200);
    const metrics = await fetch(`${hub.url}/metrics`);
    expect(metrics.status).toBeLessThan(500);
    expect(hub.output()).not.toMatch(/uncaught exception|unhandled promise rejection/);
  }, 60_000);
});
