// Lone surrogates (`"\ud800"`, `"\udfff"` as JSON escapes: valid JSON, not Unicode text, and
// refused by the database) in every input that reaches a write (issue 14, item 5): SCIM bodies
// (values and keys, Users and Groups, PATCH values), SCIM filters (query string and .search),
// vendor webhook payloads, GraphQL variables and JSON arguments, and a command at the engine's
// door. Each is the client's mistake with the route's error (SCIM 400 invalidValue / invalidFilter,
// webhook 400 invalid_payload, GraphQL BAD_USER_INPUT), never a 500; nothing is stored and the
// other organization is served as before. Surrogate pairs (emoji) are text and pass.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/errors.ts';
import { rawFixture } from '../clerk/clerk-objects.ts';
import { expectScimError, GROUP_SCHEMA, USER_SCHEMA } from '../scim/support.ts';
import type { TestHub } from '../support/server.ts';
import { signSvixDelivery } from '../support/vendors/svix.ts';
import { stytchFixture } from '../support/vendors/stytch.ts';
import { signWorkosDelivery, workosFixture } from '../support/vendors/workos.ts';
import { expectNothingChanged, expectStillServed, expectWebhookError, startTwoTenantHub, type Tenant } from './support.ts';

let t: TestHub;
let a: Tenant;
let b: Tenant;
beforeAll(async () => {
  ({ t, a, b } = await startTwoTenantHub());
}, 120_000);
afterAll(async () => {
  await t?.close();
});

afterEach(async () => {
  await expectStillServed(t, b);
});

/** The escapes as they appear in JSON text (the test sends raw bodies: JSON.stringify would send them escaped anyway). */
const LONE = ['\\ud800', '\\udfff', 'x\\udbffy'];
const json = { 'content-type': 'application/scim+json' };

describe('SCIM bodies', () => {
  const user = (field: string) => `{"schemas":["${USER_SCHEMA}"],"userName":"mallory@example.test",${field}}`;
  const group = (field: string) => `{"schemas":["${GROUP_SCHEMA}"],"displayName":"Mallory",${field}}`;
  const fields = (s: string) => [`"externalId":"${s}"`, `"name":{"givenName":"${s}"}`, `"emails":[{"value":"${s}@example.test"}]`, `"custom${s}":"x"`, `"urn:example:custom":{"note":["${s}"]}`];

  it.each(LONE)('%s in a value or a key of POST / PUT Users and Groups: 400 invalidValue, nothing changed', async (s) => {
    await expectNothingChanged(t, async () => {
      for (const field of fields(s)) {
        for (const [method, path, body] of [
          ['POST', '/Users', user(field)],
          ['PUT', `/Users/${a.userId}`, user(field)],
          ['POST', '/Groups', group(field)],
          ['PUT', `/Groups/${a.groupId}`, group(field)],
        ] as const) {
          const reply = await a.scim.request(method, path, { rawBody: body, headers: json });
          try {
            expectScimError(reply, 400, 'invalidValue');
          } catch (error) {
            throw new Error(`${method} ${path} with ${field}: ${(error as Error).message}`);
          }
        }
      }
    });
  });

  it.each(LONE)('%s in a PATCH value or path: 400, nothing changed', async (s) => {
    await expectNothingChanged(t, async () => {
      for (const operation of [`{"op":"replace","path":"displayName","value":"${s}"}`, `{"op":"add","value":{"title":"${s}"}}`, `{"op":"add","path":"title${s}","value":"x"}`]) {
        for (const path of [`/Users/${a.userId}`, `/Groups/${a.groupId}`]) {
          const body = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[${operation}]}`;
          expectScimError(await a.scim.request('PATCH', path, { rawBody: body, headers: json }), 400, 'invalidValue');
        }
      }
    });
  });

  it.each(LONE)('%s in a filter (query string and POST .search): 400, not a 500', async (s) => {
    await expectNothingChanged(t, async () => {
      for (const resource of ['/Users', '/Groups']) {
        const attribute = resource === '/Users' ? 'userName' : 'displayName';
        expectScimError(await a.scim.request('GET', `${resource}?filter=${encodeURIComponent(`${attribute} eq "${s}"`)}`), 400, 'invalidFilter');
        // In a body, the escape is the body's (a JSON string holding the filter text holding a JSON string).
        expectScimError(await a.scim.request('POST', `${resource}/.search`, { rawBody: `{"filter":"${attribute} eq \\"${s}\\""}`, headers: json }), 400, 'invalidValue');
        expectScimError(await a.scim.request('POST', `${resource}/.search`, { rawBody: `{"filter":"${attribute} eq \\"${s.replace('\\', '\\\\')}\\""}`, headers: json }), 400, 'invalidFilter');
      }
    });
  });

  it('a surrogate pair (an emoji) is text: stored and served back', async () => {
    const reply = await a.scim.request('POST', '/Users', { rawBody: user('"displayName":"Ada \\ud83d\\ude80"').replace('mallory', 'rocket'), headers: json });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    expect(reply.body.displayName).toBe('Ada 🚀');
    expect((await a.scim.request('GET', `/Users?filter=${encodeURIComponent('displayName eq "Ada \\ud83d\\ude80"')}`)).body.totalResults).toBe(1);
  });
});

describe('vendor webhooks', () => {
  const vendors = [
    { name: 'clerk', body: () => rawFixture('user.created.json'), sign: signSvixDelivery },
    { name: 'workos', body: () => JSON.stringify(workosFixture('dsync.user.created')), sign: signWorkosDelivery },
    { name: 'stytch', body: () => JSON.stringify(stytchFixture('scim.member.create')), sign: signSvixDelivery },
  ] as const;
  it.each(vendors)('$name: a signed delivery with a lone surrogate in the user\'s name: 400 invalid_payload, nothing changed', async (vendor) => {
    const body = vendor.body().replaceAll('"Priya', '"\\ud800Priya');
    expect(body).toContain('\\ud800');
    await expectNothingChanged(t, async () => {
      const response = await fetch(a[vendor.name].webhookUrl, { method: 'POST', headers: vendor.sign(body, a[vendor.name].secret), body });
      const error = await expectWebhookError(response, 400, 'invalid_payload');
      expect(error.message).toMatch(/well-formed/);
    });
  });
});

describe('GraphQL', () => {
  async function post(body: string) {
    const response = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` }, body });
    return (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  }

  it.each(LONE)('%s in a String variable or a JSON variable: BAD_USER_INPUT, nothing created', async (s) => {
    await expectNothingChanged(t, async () => {
      const create = JSON.stringify('mutation($n: String!) { createOrganization(input: { name: $n, slug: "lone-surrogate" }) { organization { id } } }');
      const connection = JSON.stringify('mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "scim", name: "x", config: $c }) { connection { id } } }');
      for (const body of [`{"query":${create},"variables":{"n":"${s}"}}`, `{"query":${connection},"variables":{"o":"${a.organizationId}","c":{"note":"${s}"}}}`]) {
        const reply = await post(body);
        expect(reply.errors?.[0]?.extensions?.code, JSON.stringify(reply)).toBe('BAD_USER_INPUT');
        expect(reply.data ?? null).toBeNull();
      }
    });
  });

  it('a lone surrogate escape in a string literal of the document: a parse error with a code', async () => {
    await expectNothingChanged(t, async () => {
      const reply = await post(JSON.stringify({ query: 'mutation { createOrganization(input: { name: "\\ud800", slug: "lone-literal" }) { organization { id } } }' }));
      expect(reply.errors?.[0]?.extensions?.code, JSON.stringify(reply)).toMatch(/^(GRAPHQL_PARSE_FAILED|BAD_USER_INPUT)$/);
    });
  });
});

describe("the engine's door", () => {
  it('a command with a lone surrogate (from any connector) is INVALID_COMMAND, the source\'s value to fix; nothing stored', async () => {
    await expectNothingChanged(t, async () => {
      const error = await t.hub.engine
        .execute({ connectionId: a.scim.connectionId, actor: { type: 'connection', connectionId: a.scim.connectionId }, commands: [{ type: 'upsertUser', sourceId: 'lone', profile: { userName: 'lone@example.test', givenName: '\ud800' } }] })
        .then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect(error).toMatchObject({ code: 'INVALID_COMMAND', details: { field: 'profile.givenName', sourceValue: true } });
    });
  });
});
