// Bodies no client should send, on every route that reads one: invalid JSON, JSON of the wrong
// shape, the wrong content type, bodies over the limit, JSON nested thousands deep, and huge
// strings in fields. Each gets the route's own error form (SCIM error schema, GraphQL errors with a
// code, the webhook JSON error), never a 500, and nothing changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/http/app.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../../plugins/scim/config.ts';
import { expectScimError, GROUP_SCHEMA, patch, USER_SCHEMA } from '../scim/support.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { signSvixDelivery } from '../support/vendors/svix.ts';
import { signWorkosDelivery } from '../support/vendors/workos.ts';
import { createTenant, expectNothingChanged, expectWebhookError, type Tenant } from './support.ts';

let t: TestHub;
let a: Tenant;
beforeAll(async () => {
  t = await startTestHub();
  a = await createTenant(t, 'Alpha');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const nestedObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('SCIM routes', () => {
  /** Every SCIM route that reads a body. */
  const writeRoutes = () => [
    { name: 'POST /Users', method: 'POST', path: '/Users' },
    { name: 'PUT /Users/<id>', method: 'PUT', path: `/Users/${a.userId}` },
    { name: 'PATCH /Users/<id>', method: 'PATCH', path: `/Users/${a.userId}` },
    { name: 'POST /Users/.search', method: 'POST', path: '/Users/.search' },
    { name: 'POST /Groups', method: 'POST', path: '/Groups' },
    { name: 'PUT /Groups/<id>', method: 'PUT', path: `/Groups/${a.groupId}` },
    { name: 'PATCH /Groups/<id>', method: 'PATCH', path: `/Groups/${a.groupId}` },
    { name: 'POST /Groups/.search', method: 'POST', path: '/Groups/.search' },
  ];

  const bad: Array<[string, string | Buffer, Record<string, string>, number, string | undefined]> = [
    ['invalid JSON', '{"schemas": [', { 'content-type': 'application/scim+json' }, 400, 'invalidSyntax'],
    ['an empty body', '', { 'content-type': 'application/scim+json' }, 400, 'invalidSyntax'],
    ['a form-encoded body', 'userName=mallory&active=true', { 'content-type': 'application/x-www-form-urlencoded' }, 400, 'invalidSyntax'],
    ['a JSON array', '[]', { 'content-type': 'application/scim+json' }, 400, undefined],
    ['a JSON string', '"x"', { 'content-type': 'application/scim+json' }, 400, undefined],
    ['JSON null', 'null', { 'content-type': 'application/scim+json' }, 400, undefined],
    ['arrays nested 50,000 deep', nested(50_000), { 'content-type': 'application/scim+json' }, 400, undefined],
    ['objects nested 20,000 deep', nestedObject(20_000), { 'content-type': 'application/scim+json' }, 400, undefined],
    ['a body over maxRequestBytes', `{"userName":"${'x'.repeat(DEFAULT_MAX_REQUEST_BYTES)}"}`, { 'content-type': 'application/scim+json' }, 413, undefined],
    ['invalid UTF-8 bytes', Buffer.from([...Buffer.from('{"userName":"'), 0xff, 0xfe, 0xc3, ...Buffer.from('@acme.test"}')]), { 'content-type': 'application/scim+json; charset=utf-8' }, 400, undefined],
  ];

  it.each(bad)('%s: the SCIM error on every write route, nothing changed', async (_name, body, headers, status, scimType) => {
    await expectNothingChanged(t, async () => {
      for (const route of writeRoutes()) {
        const reply = await a.scim.request(route.method, route.path, { rawBody: body as string, headers }); // a Buffer is sent as its bytes
        try {
          expectScimError(reply, status, scimType);
        } catch (error) {
          throw new Error(`${route.name}: ${(error as Error).message}`);
        }
      }
    });
  });

  it('a body over the limit with a lying Content-Length is cut off at the limit: 413', async () => {
    // fetch sets Content-Length itself; a chunked stream (no length) is read only up to the limit.
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (sent > DEFAULT_MAX_REQUEST_BYTES * 4) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    await expectNothingChanged(t, async () => {
      const response = await fetch(`${a.scim.baseUrl}/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.scim.token}`, 'content-type': 'application/scim+json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(response.status).toBe(413);
      expect(((await response.json()) as { schemas: string[] }).schemas[0]).toBe('urn:ietf:params:scim:api:messages:2.0:Error');
    });
  });

  const HUGE = 'x'.repeat(100_000);
  const hugeFields: Array<[string, string, string, unknown]> = [
    ['userName', 'POST', '/Users', { schemas: [USER_SCHEMA], userName: `${HUGE}@acme.test` }],
    ['externalId', 'POST', '/Users', { schemas: [USER_SCHEMA], userName: 'huge-external@acme.test', externalId: HUGE }],
    ['emails[].value', 'POST', '/Users', { schemas: [USER_SCHEMA], userName: 'huge-email@acme.test', emails: [{ value: `${HUGE}@acme.test`, primary: true }] }],
    ['name.givenName', 'POST', '/Users', { schemas: [USER_SCHEMA], userName: 'huge-name@acme.test', name: { givenName: HUGE } }],
    ['group displayName', 'POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: HUGE }],
    ['PATCH value', 'PATCH', '/Users/<A>', patch({ op: 'replace', path: 'userName', value: HUGE })],
    ['filter in .search', 'POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: `userName eq "${HUGE}"` }],
  ];
  it.each(hugeFields)('a 100 kB %s: 400 invalidValue (or invalidFilter), never a 500, nothing changed', async (_name, method, path, body) => {
    await expectNothingChanged(t, async () => {
      const reply = await a.scim.request(method, path.replace('<A>', a.userId), { body });
      expect(reply.status, JSON.stringify(reply.body).slice(0, 300)).toBe(400);
      expectScimError(reply, 400);
      expect(['invalidValue', 'invalidFilter', 'invalidSyntax']).toContain(reply.body.scimType);
    });
  });
});

describe('POST /graphql', () => {
  // The admin key: organization keys may not create organizations, and these bodies try to. The
  // GraphQL-over-HTTP media type, under which request errors are 4xx (application/json keeps 200).
  const post = (body: BodyInit, headers: Record<string, string>) =>
    fetch(`${t.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${t.adminKey}`, accept: 'application/graphql-response+json', ...headers }, body });
  async function expectGraphQLError(response: Response, status: number, code: string) {
    const text = await response.text();
    expect(response.status, text.slice(0, 300)).toBe(status);
    expect(response.headers.get('content-type') ?? '').toMatch(/application\/(graphql-response\+)?json/);
    const body = JSON.parse(text) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe(code);
    expect(body.errors[0]!.message).toBeTruthy();
    return body;
  }
  const mutation = (name: string) => JSON.stringify({ query: 'mutation($n: String!) { createOrganization(input: { name: $n, slug: "abuse-org" }) { organization { id } } }', variables: { n: name } });

  it('invalid JSON: 400 BAD_REQUEST, and the body is not echoed back', async () => {
    await expectNothingChanged(t, async () => {
      const body = await expectGraphQLError(await post('{"query": "{ organizations { id } }", "variables": {"password": "hunter2"', { 'content-type': 'application/json' }), 400, 'BAD_REQUEST');
      expect(JSON.stringify(body)).not.toContain('hunter2');
    });
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['form-encoded (a cross-site form post)', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
  ])('a %s body: refused with a GraphQL error, nothing changed', async (_name, type) => {
    await expectNothingChanged(t, async () => {
      const response = await post(mutation('Mallory'), { 'content-type': type });
      // yoga reads form posts (GraphQL over HTTP allows them); the JSON text is then no operation.
      const body = await expectGraphQLError(response, response.status, response.status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST');
      expect(body).not.toHaveProperty('data.createOrganization');
    });
  });

  it(`a body over ${MAX_BODY_BYTES} bytes: 413 with a GraphQL error`, async () => {
    await expectNothingChanged(t, async () => {
      await expectGraphQLError(await post(mutation('x'.repeat(MAX_BODY_BYTES)), { 'content-type': 'application/json' }), 413, 'PAYLOAD_TOO_LARGE');
    });
  });

  it('variables nested 50,000 deep: a GraphQL error, not a crash', async () => {
    await expectNothingChanged(t, async () => {
      const body = `{"query":"mutation($n: String!) { createOrganization(input: { name: $n, slug: \\"deep\\" }) { organization { id } } }","variables":{"n":${nested(50_000)}}}`;
      const response = await post(body, { 'content-type': 'application/json' });
      const text = await response.text();
      const parsed = JSON.parse(text) as { errors: Array<{ extensions: { code: string } }> };
      expect(parsed.errors?.[0]?.extensions?.code, text.slice(0, 500)).toBeDefined();
      expect(response.status).toBeLessThan(500);
      expect(parsed.errors[0]!.extensions.code).toMatch(/^(BAD_USER_INPUT|BAD_REQUEST|GRAPHQL_VALIDATION_FAILED)$/);
    });
  });

  it('a 500 kB organization name: BAD_USER_INPUT, nothing created', async () => {
    await expectNothingChanged(t, async () => {
      const response = await post(mutation('x'.repeat(500_000)), { 'content-type': 'application/json' });
      await expectGraphQLError(response, response.status, 'BAD_USER_INPUT');
    });
  });
});

describe('POST /webhooks/:connectionId', () => {
  const sendSigned = (vendor: 'clerk' | 'stytch' | 'workos', body: string) =>
    fetch(a[vendor].webhookUrl, { method: 'POST', headers: vendor === 'workos' ? signWorkosDelivery(body, a.workos.secret) : signSvixDelivery(body, a[vendor].secret), body });

  it.each(['clerk', 'workos', 'stytch'] as const)('%s: signed invalid JSON, JSON of the wrong shape, and deep nesting: 400 invalid_payload, nothing changed', async (vendor) => {
    await expectNothingChanged(t, async () => {
      for (const body of ['{"type": "user.created", "data": ', '[]', 'null', '"x"', '{}', '{"type":"user.created","data":{"id":42}}', nested(50_000), nestedObject(20_000)]) {
        const response = await sendSigned(vendor, body);
        await expectWebhookError(response, 400, 'invalid_payload');
      }
    });
  });

  it.each(['clerk', 'workos', 'stytch'] as const)(`%s: a body over ${MAX_BODY_BYTES} bytes: 413 JSON before any verification`, async (vendor) => {
    await expectNothingChanged(t, async () => {
      const body = JSON.stringify({ type: 'user.created', data: { id: 'user_x', padding: 'x'.repeat(MAX_BODY_BYTES) } });
      await expectWebhookError(await sendSigned(vendor, body), 413, 'payload_too_large');
    });
  });
});

