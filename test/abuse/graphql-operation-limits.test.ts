// Operations built to be expensive: too deep, too costly, too many aliases, directives or tokens.
// Each is refused before it runs, with GRAPHQL_VALIDATION_FAILED and the limit it hit, over HTTP and
// over graphql-ws alike; the app's own operations (demo, README, GraphiQL's introspection) pass.
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPERATION_LIMITS } from '../../src/graphql/plugins/use-operation-limits.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { wsClient } from '../streams/support.ts';
import { createTenant, expectNothingChanged, type Tenant } from './support.ts';

let t: TestHub;
let a: Tenant;
beforeAll(async () => {
  t = await startTestHub();
  a = await createTenant(t, 'Alpha');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

/** user → groups → members → node, repeated: 11 levels, one past the default depth of 10. */
const tooDeep = `query($u: ID!) { user(id: $u) { groups { members { edges { node { groups { members { edges { node { groups { id } } } } } } } } } } }`;
/** Shallow (depth 9) and short, but 100 users × 100 members of each of their groups: cost ~1,500,000. */
const tooCostly = `query($o: ID!) { organization(id: $o) { users(first: 100) { edges { node { id groups { members(first: 100) { edges { node { id userName email } } } } } } } } }`;
const tooManyAliases = `query { ${Array.from({ length: DEFAULT_OPERATION_LIMITS.maxAliases + 1 }, (_, i) => `a${i}: organizations { id }`).join(' ')} }`;
const tooManyDirectives = `query { organizations { id ${'__typename @include(if: true) '.repeat(DEFAULT_OPERATION_LIMITS.maxDirectives + 1)} } }`;
const tooManyTokens = `query { organizations { ${'id '.repeat(DEFAULT_OPERATION_LIMITS.maxTokens)} } }`;
/** A page of 500 users each listing 500 members of each group, page sizes as variables (Pothos' maximum page is 500). */
const nestedPage = `query($o: ID!, $users: Int, $members: Int) { organization(id: $o) { users(first: $users) { edges { node { id groups { members(first: $members) { edges { node { id userName email } } } } } } } } }`;
const nestedPageLiteral = nestedPage.replace(', $users: Int, $members: Int', '').replace('$users', '500').replace('$members', '500');
/** The same page sizes through variable defaults, and with `last` instead of `first`. */
const nestedPageDefaults = `query($o: ID!, $n: Int = 500) { organization(id: $o) { users(last: $n) { edges { node { id groups { members(first: $n) { edges { node { id userName email } } } } } } } } }`;
/** No page size at all: each connection returns its default page of 50, and is costed so (~400,000). */
const nestedPageDefaultSize = `query($o: ID!) { organization(id: $o) { users { edges { node { id groups { members { edges { node { id userName email } } } } } } } } }`;
/** Fragments that spread each other: each level doubles the work (a "billion laughs" query). */
const fragmentBomb = `query($u: ID!) { user(id: $u) { ...F0 } } ${Array.from({ length: 12 }, (_, i) => `fragment F${i} on User { groups { id } linkedUsers { ...F${i + 1} ...F${i + 1} } }`).join(' ')} fragment F12 on User { id }`;

/** [what, the limit it hits, the operation] */
const abusive: Array<[string, string, string]> = [
  ['nested past the depth limit', 'depth', tooDeep],
  ['within depth and aliases but too costly', 'cost', tooCostly],
  ['with too many aliases', 'aliases', tooManyAliases],
  ['with too many directives', 'directives', tooManyDirectives],
  ['with too many tokens', 'tokens', tooManyTokens],
  ['a fragment bomb', 'depth', fragmentBomb],
  ['a nested 500 x 500 page with its sizes as literals', 'cost', nestedPageLiteral],
  ['a nested 500 x 500 page with its sizes as variables', 'cost', nestedPage],
  ['a nested 500 x 500 page with its sizes as variable defaults and last', 'cost', nestedPageDefaults],
  ['a nested page that asks for no size (each connection costed at its default page of 50)', 'cost', nestedPageDefaultSize],
];

const variables = () => ({ u: a.userId, o: a.organizationId, users: 500, members: 500 });

describe('over HTTP', () => {
  it.each(abusive)('an operation %s: GRAPHQL_VALIDATION_FAILED (%s), nothing ran', async (_name, limit, query) => {
    await expectNothingChanged(t, async () => {
      const { data, errors } = await t.gql(query, variables());
      expect(data ?? null).toBeNull();
      expect(errors).toHaveLength(1);
      expect(errors![0]!.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit, retryable: false });
      expect(errors![0]!.message).toMatch(/limit/i);
    });
  });

  it('the same limits hold for mutations (here, aliased to multiply one write)', async () => {
    const many = `mutation { ${Array.from({ length: DEFAULT_OPERATION_LIMITS.maxAliases + 1 }, (_, i) => `m${i}: createOrganization(input: { name: "Spam", slug: "spam-${i}" }) { organization { id } }`).join(' ')} }`;
    await expectNothingChanged(t, async () => {
      const { errors } = await t.gql(many);
      expect(errors![0]!.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'aliases' });
    });
  });

  it("GraphiQL's full introspection query passes (frontend tooling needs it)", async () => {
    const data = await t.gqlOk(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }));
    expect(data.__schema.queryType.name).toBe('Query');
  });

  it("the app's own operations pass: the demo's and a users page with groups and roles", async () => {
    const demo = await t.gqlOk(
      `query($u: ID!, $s: ID!) {
        user(id: $u) { state deprovisionedAt deprovisionReason roles groups { displayName }
          sessions { externalRef revokedAt } credentials { kind externalRef revokedAt }
          auditTrail { action at actorType hash } }
        accessCheck(sessionId: $s) { allowed reason } }`,
      { u: a.userId, s: a.sessionId },
    );
    expect(demo.user.state).toBe('ACTIVE');
    const page = await t.gqlOk(
      `query($o: ID!) { organization(id: $o) { groups { edges { node { id displayName memberCount } } }
         users(first: 100) { edges { node { id displayName userName state roles groups { id displayName } emails { value primary } } } pageInfo { hasNextPage endCursor } } } }`,
      { o: a.organizationId },
    );
    expect(page.organization.users.edges).toHaveLength(1);
  });

  it('a normal page with its size as a variable passes, and so does the same nesting with small pages', async () => {
    const page = await t.gqlOk(`query($o: ID!, $n: Int) { organization(id: $o) { users(first: $n) { edges { node { id userName groups { id displayName } } } } } }`, { o: a.organizationId, n: 100 });
    expect(page.organization.users.edges).toHaveLength(1);
    const nested = await t.gqlOk(nestedPage, { o: a.organizationId, users: 10, members: 10 });
    expect(nested.organization.users.edges[0].node.groups[0].members.edges).toHaveLength(1);
  });

  it('variables that do not fit their types are refused as bad input, not costed', async () => {
    const { errors } = await t.gql(nestedPage, { o: a.organizationId, users: 'all', members: 500 });
    expect(errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('fragments spread many times over are refused as too costly to count, not walked without end', async () => {
    // Each level spreads the next 40 times, within the depth and token limits: 64,000 selections once expanded.
    const fragments = Array.from({ length: 3 }, (_, i) => `fragment W${i} on User { ${`...W${i + 1} `.repeat(40)} }`).join(' ');
    const query = `query($u: ID!) { user(id: $u) { ...W0 } } ${fragments} fragment W3 on User { id }`;
    const { errors } = await t.gql(query, { u: a.userId });
    expect(errors![0]!.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' });
  });

  it('batched requests (a JSON array of operations) are refused: batching is off', async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${t.adminKey}` },
      body: JSON.stringify(Array.from({ length: 100 }, () => ({ query: '{ organizations { id } }' }))),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
  });
});

describe('over graphql-ws', () => {
  async function runOverWs(query: string, vars: Record<string, unknown>) {
    const client = wsClient(t.url, t.adminKey);
    try {
      return await new Promise<{ kind: 'error' | 'next' | 'complete'; value?: any }>((resolve) => {
        const timer = setTimeout(() => resolve({ kind: 'complete' }), 10_000);
        client.subscribe(
          { query, variables: vars },
          {
            next: (value) => (clearTimeout(timer), resolve({ kind: 'next', value })),
            error: (value) => (clearTimeout(timer), resolve({ kind: 'error', value })),
            complete: () => (clearTimeout(timer), resolve({ kind: 'complete' })),
          },
        );
      });
    } finally {
      await client.dispose();
    }
  }

  it.each(abusive)('an operation %s: refused with the same error (%s)', async (_name, limit, query) => {
    const outcome = await runOverWs(query, variables());
    expect(outcome.kind).toBe('error');
    expect(outcome.value[0].extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit });
  });

  it('a subscription with too many aliases is refused the same way', async () => {
    const query = `subscription($o: ID!) { ${Array.from({ length: DEFAULT_OPERATION_LIMITS.maxAliases + 1 }, (_, i) => `s${i}: lifecycleEvents(organizationId: $o) { id }`).join(' ')} }`;
    const outcome = await runOverWs(query, { o: a.organizationId });
    expect(outcome.kind).toBe('error');
    // graphql-js itself allows one root field per subscription; whichever refuses first, it is a validation error.
    expect(outcome.value[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('a syntax error is answered as an error message with GRAPHQL_PARSE_FAILED, not a closed socket', async () => {
    const outcome = await runOverWs('subscription { lifecycleEvents(', {});
    expect(outcome.kind).toBe('error');
    expect(outcome.value[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('the nested page with small page sizes as variables runs over the socket', async () => {
    const outcome = await runOverWs(nestedPage, { ...variables(), users: 10, members: 10 });
    expect(outcome.kind).toBe('next');
    expect(outcome.value.data.organization.users.edges).toHaveLength(1);
  });

  it('a legitimate subscription still runs', async () => {
    const { latestLifecycleEventId } = await t.gqlOk('query($o: ID!) { latestLifecycleEventId(organizationId: $o) }', { o: a.organizationId });
    expect(latestLifecycleEventId).toBeTruthy();
    const outcome = await runOverWs('subscription($o: ID!) { lifecycleEvents(organizationId: $o, after: "0") { id type } }', { o: a.organizationId });
    expect(outcome.kind).toBe('next');
    expect(outcome.value.data.lifecycleEvents.type).toBeTruthy();
  });
});

describe('configured limits', () => {
  it('GRAPHQL_MAX_DEPTH and GRAPHQL_MAX_ALIASES from the environment apply', async () => {
    const strict = await startTestHub({ env: { GRAPHQL_MAX_DEPTH: '2', GRAPHQL_MAX_ALIASES: '1' } });
    try {
      expect((await strict.gql('{ organizations { id } }')).errors).toBeUndefined();
      expect((await strict.gql('{ organizations { connections { id } } }')).errors![0]!.extensions).toMatchObject({ limit: 'depth' });
      expect((await strict.gql('{ a: organizations { id } b: organizations { id } }')).errors![0]!.extensions).toMatchObject({ limit: 'aliases' });
    } finally {
      await strict.close();
    }
  });
});
