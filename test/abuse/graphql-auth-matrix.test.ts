// Every Query, Mutation and Subscription field of the built schema, generated from the schema (a
// field added later is covered without touching this file), called with no key, with wrong keys
// and with organization B's valid key against organization A's objects. Each call must fail with
// the right code, hand back none of A's data and change nothing. The same runs with browser
// sessions (cookies): organization B's setup session and console session against A, A's own setup
// session outside what it may do (use-setup-restrictions.ts), and cookies without the CSRF header.
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { schema } from '../../src/graphql/schema.ts';
import { SETUP_ALLOWED } from '../../src/graphql/plugins/use-setup-restrictions.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { wsClient, wsUrl } from '../streams/support.ts';
import { createTenant, expectNothingChanged, type Tenant } from './support.ts';

let t: TestHub;
let a: Tenant;
let b: Tenant;
let revokedKeyOfA: string;
let setupLinkIdOfA: string;
/** Cookie headers of browser sessions: B's setup and console sessions, A's own setup session. */
let setupCookieOfB: string;
let consoleCookieOfB: string;
let setupCookieOfA: string;

async function signIn(mutation: string, variables: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-lifecycle-hub-csrf': '1' },
    body: JSON.stringify({ query: mutation, variables }),
  });
  const set = response.headers.getSetCookie().find((c) => !/Max-Age=0/i.test(c));
  if (!set) throw new Error(`no session cookie: ${await response.text()}`);
  return set.split(';')[0]!;
}

async function setupLinkToken(organizationId: string): Promise<{ id: string; token: string }> {
  const { createSetupLink } = await t.gqlOk('mutation($o: ID!) { createSetupLink(input: { organizationId: $o }) { setupLink { id } url } }', { o: organizationId });
  return { id: createSetupLink.setupLink.id, token: (createSetupLink.url as string).split('#')[1]! };
}

const START_SETUP = 'mutation($t: String!) { startSetupSession(input: { token: $t }) { viewer { kind } } }';

beforeAll(async () => {
  t = await startTestHub();
  a = await createTenant(t, 'Alpha');
  b = await createTenant(t, 'Bravo');
  const { createApiKey } = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "old" }) { secret apiKey { id } } }`, { o: a.organizationId });
  await t.gqlOk(`mutation($k: ID!) { revokeApiKey(input: { apiKeyId: $k }) { apiKey { id } } }`, { k: createApiKey.apiKey.id });
  revokedKeyOfA = createApiKey.secret;
  setupLinkIdOfA = (await setupLinkToken(a.organizationId)).id;
  setupCookieOfB = await signIn(START_SETUP, { t: (await setupLinkToken(b.organizationId)).token });
  setupCookieOfA = await signIn(START_SETUP, { t: (await setupLinkToken(a.organizationId)).token });
  consoleCookieOfB = await signIn('mutation($k: String!) { startConsoleSession(input: { apiKey: $k }) { viewer { kind } } }', { k: b.apiKey });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

/** Which of organization A's objects an ID argument names, by its name (and the field's, for `id`). */
type ObjectOfA = 'organizationId' | 'userId' | 'groupId' | 'connectionId' | 'apiKeyId' | 'sessionId' | 'setupLinkId' | 'scimTokenId' | 'webhookEndpointId' | 'webhookDeliveryId';
function objectOfA(field: string, arg: string): ObjectOfA {
  if (arg === 'id') {
    const byField: Record<string, ObjectOfA> = { organization: 'organizationId', user: 'userId', group: 'groupId', connection: 'connectionId', webhookEndpoint: 'webhookEndpointId' };
    if (byField[field]) return byField[field];
  }
  const byName: Record<string, ObjectOfA> = {
    organizationId: 'organizationId', userId: 'userId', groupId: 'groupId', connectionId: 'connectionId',
    authoritativeConnectionId: 'connectionId', apiKeyId: 'apiKeyId', sessionId: 'sessionId', setupLinkId: 'setupLinkId', tokenId: 'scimTokenId',
    endpointId: 'webhookEndpointId', deliveryId: 'webhookDeliveryId',
  };
  if (byName[arg]) return byName[arg];
  throw new Error(`${field}(${arg}: ID): say which of organization A's objects it names, in objectOfA`);
}
// Operations are generated when the file loads; A's ids exist once beforeAll ran.
const idOfA = (field: string, arg: string) => `<<A.${objectOfA(field, arg)}>>`;
const withIdsOfA = (variables: Record<string, unknown>) =>
  JSON.parse(JSON.stringify(variables).replace(/<<A\.(\w+)>>/g, (_m, key: ObjectOfA) => ({
    organizationId: a.organizationId, userId: a.userId, groupId: a.groupId, connectionId: a.scim.connectionId, apiKeyId: a.apiKeyId, sessionId: a.sessionId,
    setupLinkId: setupLinkIdOfA, scimTokenId: a.scimTokenId, webhookEndpointId: a.webhookEndpointId, webhookDeliveryId: a.webhookDeliveryId,
  })[key])) as Record<string, unknown>;

/** A plausible value for an input type; ID fields get A's objects (every ID, required or not). */
function valueFor(field: string, name: string, type: GraphQLInputType, required: boolean): { value: unknown; namesA: boolean } | undefined {
  const named = getNamedType(type);
  const inner = getNullableType(type);
  if (isListType(inner)) {
    const element = valueFor(field, name, inner.ofType, true);
    return element && { value: [element.value], namesA: element.namesA };
  }
  // Event cursors (`after`, `afterEventId`) name no object; the organization or endpoint argument beside them does.
  if (named.name === 'ID' && name === 'after') return undefined;
  if (named.name === 'ID' && name === 'afterEventId') return { value: '0', namesA: false };
  if (named.name === 'ID') return { value: idOfA(field, name), namesA: true };
  if (!required) return undefined;
  if (isInputObjectType(named)) {
    const value: Record<string, unknown> = {};
    let namesA = false;
    for (const f of Object.values(named.getFields())) {
      const v = valueFor(field, f.name, f.type, isNonNullType(f.type));
      if (v) {
        value[f.name] = v.value;
        namesA ||= v.namesA;
      }
    }
    return { value, namesA };
  }
  if (isEnumType(named)) return { value: named.getValues()[0]!.value, namesA: false };
  switch (named.name) {
    case 'String':
      return { value: `abuse-${name}`, namesA: false };
    case 'Boolean':
      return { value: true, namesA: false };
    case 'Int':
    case 'Float':
      return { value: 1, namesA: false };
    case 'JSON':
      return { value: {}, namesA: false };
    case 'DateTime':
      return { value: new Date().toISOString(), namesA: false };
  }
  throw new Error(`no plausible value for ${name}: ${named.name}`);
}

/** Scalars of the type, and scalars of its object fields: enough for any of A's data to show. */
function selectionOf(type: GraphQLObjectType, depth = 0): string {
  const parts = ['__typename'];
  for (const f of Object.values(type.getFields())) {
    if (f.args.some((arg) => isNonNullType(arg.type))) continue;
    const named = getNamedType(f.type);
    if (isScalarType(named) || isEnumType(named)) parts.push(f.name);
    else if (isObjectType(named) && depth < 1) parts.push(`${f.name} { ${selectionOf(named, depth + 1)} }`);
  }
  return parts.join(' ');
}

interface Operation {
  root: 'query' | 'mutation' | 'subscription';
  field: string;
  query: string;
  variables: Record<string, unknown>;
  /** Whether an argument names one of A's objects (else the field is unscoped, like `organizations`). */
  namesA: boolean;
}

function operationFor(root: Operation['root'], field: GraphQLField<unknown, unknown>): Operation {
  const variables: Record<string, unknown> = {};
  const declarations: string[] = [];
  const args: string[] = [];
  let namesA = false;
  for (const arg of field.args as readonly GraphQLArgument[]) {
    const v = valueFor(field.name, arg.name, arg.type, isNonNullType(arg.type));
    if (!v) continue;
    variables[arg.name] = v.value;
    namesA ||= v.namesA;
    declarations.push(`$${arg.name}: ${String(arg.type)}`);
    args.push(`${arg.name}: $${arg.name}`);
  }
  const named = getNamedType(field.type);
  const selection = isObjectType(named) ? ` { ${selectionOf(named)} }` : '';
  const query = `${root} Probe${declarations.length ? `(${declarations.join(', ')})` : ''} { ${field.name}${args.length ? `(${args.join(', ')})` : ''}${selection} }`;
  return { root, field: field.name, query, variables, namesA };
}

const operations: Operation[] = [
  ...Object.values(schema.getQueryType()!.getFields()).map((f) => operationFor('query', f)),
  ...Object.values(schema.getMutationType()!.getFields()).map((f) => operationFor('mutation', f)),
];
const subscriptions: Operation[] = Object.values(schema.getSubscriptionType()!.getFields()).map((f) => operationFor('subscription', f));

/** Everything of A that must never show up in an answer to another key. */
const secretsOfA = () => [a.organizationId, a.userId, a.groupId, a.scim.connectionId, a.apiKeyId, a.sessionId, a.credentialId, setupLinkIdOfA, a.scimTokenId, a.webhookEndpointId, 'Alpha'];

/**
 * B's answer to an operation: none of A in it; a field naming A refused (NOT_FOUND or FORBIDDEN)
 * with no data; an unscoped field (organizations, auditSigningKey, createOrganization) answers
 * for B or refuses.
 */
function expectNoneOfA(op: Operation, body: { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: string } }> }) {
  const code = codeOf(body);
  const data = JSON.stringify(body.data ?? null);
  for (const secret of secretsOfA()) expect(data, `${op.field} answered with A's ${secret}`).not.toContain(secret);
  if (op.namesA) {
    expect([op.field, code]).toEqual([op.field, expect.stringMatching(/^(NOT_FOUND|FORBIDDEN)$/)]);
    expect(body.data?.[op.field] ?? null, op.field).toBeNull();
  } else {
    expect([op.field, code ?? 'ok']).toEqual([op.field, expect.stringMatching(/^(ok|FORBIDDEN)$/)]);
  }
}

async function post(op: Operation, authorization: string | null, browser: { cookie?: string; csrf?: boolean } = {}) {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(authorization !== null ? { authorization } : {}),
      ...(browser.cookie ? { cookie: browser.cookie } : {}),
      ...(browser.csrf ? { 'x-lifecycle-hub-csrf': '1' } : {}),
    },
    body: JSON.stringify({ query: op.query, variables: withIdsOfA(op.variables) }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  return { status: response.status, body };
}

describe('every GraphQL field refuses callers without a valid key', () => {
  it('covers every root field of the schema', () => {
    expect(operations.length).toBeGreaterThanOrEqual(25);
    expect(subscriptions.length).toBeGreaterThanOrEqual(2);
  });

  const callers: Array<[string, () => string | null]> = [
    ['no Authorization header', () => null],
    ['an empty bearer', () => 'Bearer '],
    ['a made-up key', () => 'Bearer lh_this_is_not_a_key_0123456789abcdef'],
    ['a non-Bearer scheme with a valid key', () => `Basic ${Buffer.from(`x:${a.apiKey}`).toString('base64')}`],
    ["organization A's SCIM bearer token (a secret, but not an API key)", () => `Bearer ${a.scim.token}`],
    ["a revoked key of organization A", () => `Bearer ${revokedKeyOfA}`],
    ['an oversized key', () => `Bearer ${'k'.repeat(4096)}`],
  ];
  it.each(callers)('%s: UNAUTHENTICATED (401) on every field, nothing changed', async (_name, authorization) => {
    await expectNothingChanged(t, async () => {
      for (const op of operations) {
        const { status, body } = await post(op, authorization());
        expect({ field: op.field, status, code: body.errors?.[0]?.extensions?.code, data: body.data ?? null }).toEqual({ field: op.field, status: 401, code: 'UNAUTHENTICATED', data: null });
      }
    });
  });
});

describe("organization B's valid key against organization A's objects", () => {
  it('answers NOT_FOUND or FORBIDDEN on every field that names A, shows none of A, and changes nothing', async () => {
    const seen: Record<string, string> = {};
    await expectNothingChanged(t, async () => {
      for (const op of operations) {
        const { body } = await post(op, `Bearer ${b.apiKey}`);
        seen[op.field] = codeOf(body) ?? 'ok';
        expectNoneOfA(op, body);
      }
    });
    // The unscoped ones, stated: an organization key sees only its organization and cannot create one.
    expect(seen).toMatchObject({ organizations: 'ok', createOrganization: 'FORBIDDEN' });
  });

  it('answers NOT_FOUND on every field that names an object, when the id is not an id at all, and changes nothing', async () => {
    for (const badId of ['not-a-uuid', 'a'.repeat(3000), "1' OR '1'='1"]) {
      await expectNothingChanged(t, async () => {
        for (const op of operations.filter((o) => o.namesA)) {
          const variables = JSON.parse(JSON.stringify(op.variables).replace(/<<A\.\w+>>/g, badId)) as Record<string, unknown>;
          const response = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${b.apiKey}` }, body: JSON.stringify({ query: op.query, variables }) });
          const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
          expect([op.field, badId.slice(0, 20), body.errors?.[0]?.extensions?.code]).toEqual([op.field, badId.slice(0, 20), 'NOT_FOUND']);
        }
      });
    }
  });

  it("lists only B's organization", async () => {
    const { organizations } = await t.gqlOk('{ organizations { id } }', {}, b.apiKey);
    expect(organizations).toEqual([{ id: b.organizationId }]);
  });
});

/** Signing in and out: covered in test/sessions; here they would end the session the loop runs in. */
const SESSION_FIELDS = new Set(['startSetupSession', 'startConsoleSession', 'endSession']);
const codeOf = (body: { errors?: Array<{ extensions?: { code?: string } }> }) => body.errors?.[0]?.extensions?.code;

describe('browser sessions (cookies)', () => {
  it.each([
    ["organization B's setup session", () => setupCookieOfB],
    ["organization B's console session", () => consoleCookieOfB],
  ] as Array<[string, () => string]>)("%s against A's objects: NOT_FOUND or FORBIDDEN on every field that names A, none of A shown, nothing changed", async (_name, cookie) => {
    await expectNothingChanged(t, async () => {
      for (const op of operations.filter((o) => !SESSION_FIELDS.has(o.field))) {
        const { body } = await post(op, null, { cookie: cookie(), csrf: true });
        expectNoneOfA(op, body);
      }
    });
  });

  it("A's own setup session: every field outside what it may do is FORBIDDEN, answers no data and changes nothing", async () => {
    let refused = 0;
    await expectNothingChanged(t, async () => {
      for (const op of operations) {
        const allowed = SETUP_ALLOWED[op.root === 'query' ? 'Query' : 'Mutation'];
        if (SESSION_FIELDS.has(op.field) || (allowed !== '*' && allowed?.includes(op.field))) continue;
        const { body } = await post(op, null, { cookie: setupCookieOfA, csrf: true });
        expect([op.field, codeOf(body)]).toEqual([op.field, 'FORBIDDEN']);
        expect(body.data ?? null, op.field).toBeNull();
        refused++;
      }
    });
    expect(refused).toBeGreaterThanOrEqual(20);
  });

  it('a valid session cookie without the CSRF header: 403 CSRF_CHECK_FAILED on every field, nothing changed', async () => {
    await expectNothingChanged(t, async () => {
      for (const op of operations) {
        const { status, body } = await post(op, null, { cookie: setupCookieOfA });
        expect({ field: op.field, status, code: codeOf(body), data: body.data ?? null }).toEqual({ field: op.field, status: 403, code: 'CSRF_CHECK_FAILED', data: null });
      }
    });
  });

  it('a browser not signed in (the CSRF header, no cookie): 401 UNAUTHENTICATED on every field but signing in and viewer', async () => {
    await expectNothingChanged(t, async () => {
      for (const op of operations.filter((o) => !SESSION_FIELDS.has(o.field) && o.field !== 'viewer')) {
        const { status, body } = await post(op, null, { csrf: true });
        expect({ field: op.field, status, code: codeOf(body), data: body.data ?? null }).toEqual({ field: op.field, status: 401, code: 'UNAUTHENTICATED', data: null });
      }
    });
  });
});

describe('subscriptions over graphql-ws', () => {
  async function subscribeOnce(key: string | null, op: Operation) {
    let closed: { code: number; reason: string } | undefined;
    const client = wsClient(t.url, key, { onClosed: (event) => (closed = event) });
    try {
      const outcome = await new Promise<{ kind: 'error'; error: unknown } | { kind: 'next'; value: unknown } | { kind: 'complete' }>((resolve) => {
        const timer = setTimeout(() => resolve({ kind: 'complete' }), 10_000);
        client.subscribe(
          { query: op.query, variables: withIdsOfA(op.variables) },
          {
            next: (value) => (clearTimeout(timer), resolve({ kind: 'next', value })),
            error: (error) => (clearTimeout(timer), resolve({ kind: 'error', error })),
            complete: () => (clearTimeout(timer), resolve({ kind: 'complete' })),
          },
        );
      });
      return { outcome, closed };
    } finally {
      await client.dispose();
    }
  }

  it.each([
    ['no key', () => null],
    ['a made-up key', () => 'lh_this_is_not_a_key_0123456789abcdef'],
    ["A's SCIM token", () => a.scim.token],
    ['a revoked key', () => revokedKeyOfA],
  ] as Array<[string, () => string | null]>)('%s: the socket is closed with 4403 before any subscription runs', async (_name, key) => {
    await expectNothingChanged(t, async () => {
      for (const op of subscriptions) {
        const { outcome, closed } = await subscribeOnce(key(), op);
        expect(outcome.kind, op.field).toBe('error');
        expect(closed?.code, op.field).toBe(4403);
      }
    });
  });

  it("B's key subscribing to A's organization: NOT_FOUND, no event of A", async () => {
    for (const op of subscriptions) {
      const { outcome } = await subscribeOnce(b.apiKey, op);
      // graphql-ws sends a refused subscribe as one `next` carrying the errors, then `complete`.
      expect(outcome.kind, op.field).toBe('next');
      const result = (outcome as { value: { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> } }).value;
      expect(result.data ?? null, op.field).toBeNull();
      expect(result.errors?.[0]?.extensions?.code, op.field).toBe('NOT_FOUND');
    }
  });
});

describe('subscriptions over graphql-ws with a session cookie', () => {
  it.each([
    ["B's setup session", () => setupCookieOfB],
    ["B's console session", () => consoleCookieOfB],
  ] as Array<[string, () => string]>)("%s subscribing to A's organization: NOT_FOUND or FORBIDDEN, no event of A", async (_name, cookie) => {
    const headers = { cookie: cookie(), origin: t.url };
    class CookieWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers });
      }
    }
    const client = createClient({ url: wsUrl(t.url), webSocketImpl: CookieWebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => {} });
    try {
      for (const op of subscriptions) {
        const result = await new Promise<{ data?: unknown; errors?: Array<{ extensions?: { code?: string } }> }>((resolve, reject) => {
          client.subscribe({ query: op.query, variables: withIdsOfA(op.variables) }, { next: (value) => resolve(value as never), error: reject, complete: () => {} });
        });
        expect(result.data ?? null, op.field).toBeNull();
        expect([op.field, result.errors?.[0]?.extensions?.code]).toEqual([op.field, expect.stringMatching(/^(NOT_FOUND|FORBIDDEN)$/)]);
      }
    } finally {
      await client.dispose();
    }
  });
});
