// Fuzzing a running hub from two tenants: Mallory (valid SCIM token, API key and webhook secrets of
// her own) sends generated hostile SCIM bodies, PATCH operations, filters, GraphQL documents and
// signed webhook payloads (test/abuse/hostile-inputs.ts), aimed at her own objects and at the
// victim's. After every request: no 5xx but a 503 with Retry-After, a protocol-correct error, and
// Object / Array / Function prototypes as they were (the hub runs in this process); after every run:
// no uncaught exception, the hub still ready, and the victim's state, read through its own SCIM and
// GraphQL APIs, byte for byte what it was.
//
// Replay: the seed is printed; FC_SEED=<seed> (and FC_PATH=<path> as fast-check prints it on a
// failure, with -t to pick the property) replays a run; PROPERTY_RUNS=<n> runs longer.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.ts';
import { rawFixture } from '../clerk/clerk-objects.ts';
import { ERROR_SCHEMA, type ScimReply } from '../scim/support.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { signSvixDelivery } from '../support/vendors/svix.ts';
import { stytchFixture } from '../support/vendors/stytch.ts';
import { signWorkosDelivery, workosFixture } from '../support/vendors/workos.ts';
import { editPayload, fromValue, graphqlRequest, jsonText, payloadEdits, scimBody, scimListQuery, scimPatchBody, scimSearchBody, type Json } from './hostile-inputs.ts';
import { createTenant, type Tenant } from './support.ts';

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : randomBytes(4).readUInt32BE() >>> 1;
/**
 * By default each property stops after 15 s even on a loaded machine (a failure found by then is
 * reported, shrunk as far as it got); PROPERTY_RUNS asks for that many runs however long they take.
 */
const runs = (n: number) => ({
  seed,
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
  ...(process.env.PROPERTY_RUNS ? { numRuns: Number(process.env.PROPERTY_RUNS) } : { numRuns: n, interruptAfterTimeLimit: 15_000 }),
});

let t: TestHub;
let mallory: Tenant;
let victim: Tenant;
/** Mallory's own connection and key for GraphQL to pause, rotate and revoke (her main ones stay usable). */
let spare: { connectionId: string; apiKeyId: string };
let victimBefore: string;
const crashes: unknown[] = [];
const recordCrash = (error: unknown) => crashes.push(error);

beforeAll(async () => {
  console.log(`[property] hostile inputs: seed ${seed} (replay with FC_SEED=${seed})`);
  // No audit anchor is signed and no scheduled pull runs during the file: an anchor, or a failed pull
  // of the victim's vendor connections (their APIs point nowhere) setting lastError, is a change to
  // the victim's state that no attack made (the file runs past a minute on a loaded machine).
  t = await startTestHub({ env: { AUDIT_ANCHOR_INTERVAL_MS: '86400000', PULL_INTERVAL_SECONDS: '86400' } });
  victim = await createTenant(t, 'Victim');
  mallory = await createTenant(t, 'Mallory');
  const { createDirectoryConnection } = await t.gqlOk(`mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "scim", name: "spare" }) { connection { id } } }`, { o: mallory.organizationId });
  const { createApiKey } = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "spare" }) { apiKey { id } } }`, { o: mallory.organizationId });
  spare = { connectionId: createDirectoryConnection.connection.id, apiKeyId: createApiKey.apiKey.id };
  victimBefore = await victimState();
  process.on('uncaughtException', recordCrash);
  process.on('unhandledRejection', recordCrash);
}, 120_000);
afterAll(async () => {
  process.off('uncaughtException', recordCrash);
  process.off('unhandledRejection', recordCrash);
  await t?.close();
});

// ---- what must hold ----------------------------------------------------------------------------

const PROTOTYPES = { 'Object.prototype': Object.prototype, 'Array.prototype': Array.prototype, 'Function.prototype': Function.prototype } as const;
type Descriptors = Map<PropertyKey, PropertyDescriptor>;
const descriptorsOf = (proto: object): Descriptors => new Map(Reflect.ownKeys(proto).map((key) => [key, Reflect.getOwnPropertyDescriptor(proto, key)!]));
const pristine = new Map(Object.entries(PROTOTYPES).map(([name, proto]) => [name, descriptorsOf(proto)]));
const sameDescriptor = (a: PropertyDescriptor, b: PropertyDescriptor) =>
  a.value === b.value && a.get === b.get && a.set === b.set && a.writable === b.writable && a.enumerable === b.enumerable && a.configurable === b.configurable;

/** Throws if a prototype gained, lost or changed a property, after putting it back (so later runs and shrinking start clean). */
function expectPrototypesUntouched(after: string) {
  const changes: string[] = [];
  for (const [name, proto] of Object.entries(PROTOTYPES)) {
    const before = pristine.get(name)!;
    const now = descriptorsOf(proto);
    for (const [key, descriptor] of now) {
      if (before.has(key)) continue;
      changes.push(`${name}.${String(key)} added (${String(descriptor.value ?? 'accessor')})`);
      Reflect.deleteProperty(proto, key);
    }
    for (const [key, descriptor] of before) {
      const current = now.get(key);
      if (current && sameDescriptor(descriptor, current)) continue;
      changes.push(`${name}.${String(key)} ${current ? 'changed' : 'removed'}`);
      Reflect.defineProperty(proto, key, descriptor);
    }
  }
  if (changes.length) throw new Error(`prototype pollution after ${after}\n${changes.join('; ')}`);
}

/** Checks the prototypes after a request even when it failed: a polluted prototype breaks this process's own fetch too. */
async function checkingPrototypes<T>(request: string, send: () => Promise<T>): Promise<T> {
  let failure: unknown;
  try {
    return await send();
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    try {
      expectPrototypesUntouched(request);
    } catch (pollution) {
      if (failure) (pollution as Error).message += `\n(and the request failed: ${String(failure)})`;
      throw pollution; // the pollution is the cause of any failure
    }
  }
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

const describeExchange = (request: string, reply: Reply) => `${request}\n→ ${reply.status} ${reply.headers.get('retry-after') ? `Retry-After: ${reply.headers.get('retry-after')} ` : ''}${reply.text.slice(0, 2000)}`;

/** No 5xx but a 503 that says when to come back. */
function expectNoServerError(request: string, reply: Reply) {
  if (reply.status < 500) return;
  if (reply.status === 503 && reply.headers.get('retry-after')) return;
  throw new Error(`server error: ${describeExchange(request, reply)}`);
}

function expectScimAnswer(request: string, reply: Reply) {
  expectNoServerError(request, reply);
  // Node refuses a request line over its header-size limit itself, before the hub sees it.
  if (reply.status < 400 || (reply.status === 431 && request.length > 16 * 1024)) return;
  let body: any;
  try {
    body = JSON.parse(reply.text);
  } catch {
    throw new Error(`SCIM error that is not JSON: ${describeExchange(request, reply)}`);
  }
  if (body?.schemas?.[0] !== ERROR_SCHEMA || body.status !== String(reply.status)) throw new Error(`not the SCIM error form: ${describeExchange(request, reply)}`);
}

function expectGraphQLAnswer(request: string, reply: Reply) {
  expectNoServerError(request, reply);
  const body = JSON.parse(reply.text) as { errors?: Array<{ extensions?: { code?: string } }> };
  // A masked unexpected error is GraphQL's form of a 500.
  const bad = (body.errors ?? []).filter((e) => !e.extensions?.code || e.extensions.code === 'INTERNAL_SERVER_ERROR');
  if (bad.length) throw new Error(`GraphQL error without a code or unexpected: ${describeExchange(request, reply)}`);
}

function expectWebhookAnswer(request: string, reply: Reply) {
  expectNoServerError(request, reply);
  if (!/application\/json/.test(reply.headers.get('content-type') ?? '')) throw new Error(`webhook answer that is not JSON: ${describeExchange(request, reply)}`);
}

/** The victim as it sees itself: SCIM Users and Groups (every attribute) and its organization over GraphQL, as one string. */
async function victimState(): Promise<string> {
  const scim = async (path: string) => {
    const reply: ScimReply = await victim.scim.request('GET', path);
    expect(reply.status, `victim's GET ${path}: ${JSON.stringify(reply.body)}`).toBe(200);
    return reply.body;
  };
  const users = await scim('/Users?count=1000');
  const groups = await scim('/Groups?count=1000');
  const each = await Promise.all([...users.Resources.map((u: any) => scim(`/Users/${u.id}`)), ...groups.Resources.map((g: any) => scim(`/Groups/${g.id}`))]);
  const graphql = await t.gql(
    `query($o: ID!) {
       organization(id: $o) {
         id name slug defaultRole roleRanking identityLinking authoritativeConnectionId
         connections { id name provider status testMode config secretFields deprovisionPolicy deniedAttributes deprovisionOnDrift scimBaseUrl webhookUrl lastError lastErrorAt sync { id status } }
         users(first: 10, state: null) { totalCount edges { node {
           id sourceId state userName displayName email externalId givenName familyName title department employeeNumber manager customAttributes roles isAdmin
           deprovisionedAt deprovisionReason createdAt updatedAt emails { value type primary verified } groups { id displayName }
           sessions { id externalRef revokedAt revocationStatus } credentials { id externalRef kind revokedAt revocationStatus } roleAssignments { role workspace }
           auditTrail(first: 50) { seq hash action targetId } } } }
         groups(first: 10) { totalCount edges { node { id sourceId externalId displayName deletedAt memberCount mappings { id role workspace } members(first: 10) { edges { node { id } } } } } }
       }
       latestLifecycleEventId(organizationId: $o)
       verifyAuditChain(organizationId: $o) { ok headSeq checked firstBrokenId }
     }`,
    { o: victim.organizationId },
    victim.apiKey,
  );
  expect(graphql.errors, JSON.stringify(graphql.errors)).toBeUndefined();
  return JSON.stringify({ users, groups, each, graphql: graphql.data });
}

/** Ids in generated text (`<<victim.userId>>`) made real. */
function withIds(text: string): string {
  return text.replace(/<<(victim|mallory|attacker)\.(\w+)>>/g, (_m, who: string, key: string) => {
    const tenant = who === 'victim' ? victim : mallory;
    const ids: Record<string, string> = { userId: tenant.userId, groupId: tenant.groupId, organizationId: tenant.organizationId, connectionId: tenant.scim.connectionId };
    return ids[key] ?? `<<${who}.${key}>>`;
  });
}

async function send(url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<Reply> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Runs the requests of one generated case, checking each answer and the prototypes, then the process and the victim. */
async function attack(requests: Array<() => Promise<void>>) {
  for (const request of requests) await request();
  await new Promise((r) => setTimeout(r, 10)); // an asynchronous failure of the last request surfaces
  const uncaught = crashes.splice(0); // each run answers for its own
  expect(uncaught, `uncaught in the hub: ${uncaught.map((e) => (e as Error)?.stack ?? String(e)).join('\n')}`).toEqual([]);
  expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
  const victimAfter = await victimState();
  if (victimAfter !== victimBefore) {
    const before = victimBefore;
    victimBefore = victimAfter; // the next run compares with what is there now
    // Parsed for a readable diff; the strings differ even if only the order of keys or rows did.
    expect(JSON.parse(victimAfter), "the victim's state changed").toEqual(JSON.parse(before));
    expect(victimAfter, "the victim's state changed (order)").toBe(before);
  }
}

// ---- the requests ------------------------------------------------------------------------------

type Target = 'own' | 'victim' | 'made-up';
const target = fc.constantFrom<Target>('own', 'own', 'victim', 'made-up');
const idOf = (kind: 'User' | 'Group', who: Target) =>
  who === 'made-up' ? '00000000-0000-4000-8000-000000000000' : (who === 'own' ? mallory : victim)[kind === 'User' ? 'userId' : 'groupId'];

/** A SCIM request as Mallory: her token, on her base URL (now and then on the victim's). */
function scim(method: string, path: string, body?: Json, onVictimsUrl = false) {
  return async () => {
    const base = onVictimsUrl ? victim.scim.baseUrl : mallory.scim.baseUrl;
    const text = body ? withIds(jsonText(body)) : undefined;
    const url = `${base}${withIds(path)}`;
    const described = `${method} ${url}${text ? `\n${text.slice(0, 4000)}` : ''}`;
    const reply = await checkingPrototypes(described, () => send(url, { method, headers: { authorization: `Bearer ${mallory.scim.token}`, 'content-type': 'application/scim+json', accept: 'application/scim+json' }, body: text }));
    expectScimAnswer(described, reply);
  };
}

const kind = fc.constantFrom<'User' | 'Group'>('User', 'Group');
const resourcePath = (k: 'User' | 'Group') => (k === 'User' ? '/Users' : '/Groups');

describe('hostile input from one tenant', () => {
  it('SCIM POST and PUT bodies', async () => {
    const request = fc.tuple(kind, target, fc.constantFrom('POST', 'PUT'), fc.boolean()).chain(([k, who, method, victimsUrl]) =>
      scimBody(k).map((body) => ({ k, who, method, victimsUrl, body })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 4 }), (requests) =>
        attack(requests.map((r) => scim(r.method, r.method === 'POST' ? resourcePath(r.k) : `${resourcePath(r.k)}/${idOf(r.k, r.who)}`, r.body, r.victimsUrl && r.who === 'victim'))),
      ),
      runs(25),
    );
  }, 300_000);

  it('SCIM PATCH operations with hostile paths and values', async () => {
    const request = fc.record({ k: kind, who: target, body: scimPatchBody });
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 4 }), (requests) => attack(requests.map((r) => scim('PATCH', `${resourcePath(r.k)}/${idOf(r.k, r.who)}`, r.body)))),
      runs(25),
    );
  }, 300_000);

  it('SCIM filters and list parameters, on GET and POST /.search', async () => {
    const request = fc.record({ k: kind, search: fc.boolean(), query: scimListQuery, body: scimSearchBody });
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 4 }), (requests) =>
        attack(requests.map((r) => (r.search ? scim('POST', `${resourcePath(r.k)}/.search`, r.body) : scim('GET', `${resourcePath(r.k)}?${r.query}`)))),
      ),
      runs(25),
    );
  }, 300_000);

  it('GraphQL documents from the schema with hostile arguments and variables', async () => {
    // Every id but Mallory's main key and connections, which her other requests need.
    const pool = () => ({
      ids: [
        victim.organizationId, victim.userId, victim.groupId, victim.sessionId, victim.credentialId, victim.apiKeyId,
        victim.scim.connectionId, victim.clerk.connectionId, victim.workos.connectionId, victim.stytch.connectionId,
        mallory.organizationId, mallory.userId, mallory.groupId, mallory.sessionId, mallory.credentialId, spare.connectionId, spare.apiKeyId,
      ],
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.gen(), { minLength: 1, maxLength: 4 }), (gens) =>
        attack(
          gens.map((g) => async () => {
            const { body, query } = graphqlRequest(g, schema, pool());
            const described = `POST /graphql\n${query}\n${body.slice(0, 4000)}`;
            const reply = await checkingPrototypes(described, () => send(`${t.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${mallory.apiKey}`, 'content-type': 'application/json' }, body }));
          }),
        ),
      ),
      runs(25),
    );
  }, 300_000);

  it('signed webhook deliveries with hostile payloads, for every vendor connector', async () => {
    let deliveries = 0;
    const vendors = {
      clerk: { fixtures: ['user.created', 'user.updated', 'user.deleted', 'session.revoked', 'organizationMembership.created'].map((f) => JSON.parse(rawFixture(`${f}.json`))), sign: (body: string, secret: string) => signSvixDelivery(body, secret) },
      workos: { fixtures: ['dsync.user.created', 'dsync.user.updated', 'dsync.group.created', 'dsync.group.user_added', 'dsync.user.deleted'].map(workosFixture), sign: (body: string, secret: string) => signWorkosDelivery(body, secret) },
      stytch: { fixtures: ['scim.member.create', 'scim.member.update', 'scim.idp_group.create', 'scim.idp_group.member_add', 'direct.member.delete'].map(stytchFixture), sign: (body: string, secret: string) => signSvixDelivery(body, secret) },
    };
    const request = fc.record({ vendor: fc.constantFrom<keyof typeof vendors>('clerk', 'workos', 'stytch'), fixture: fc.nat(4), edits: payloadEdits });
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 4 }), (requests) =>
        attack(
          requests.map((r) => async () => {
            const vendor = vendors[r.vendor];
            // A fresh event id, so a payload is processed rather than answered as a duplicate.
            const recorded = { ...vendor.fixtures[r.fixture]!, ...(r.vendor === 'workos' ? { id: `event_fuzz${++deliveries}` } : {}) };
            const body = withIds(jsonText(editPayload(fromValue(recorded), r.edits)));
            const connection = mallory[r.vendor];
            const described = `POST ${r.vendor} webhook\n${body.slice(0, 4000)}`;
            const reply = await checkingPrototypes(described, () => send(connection.webhookUrl, { method: 'POST', headers: vendor.sign(body, connection.secret), body }));
          }),
        ),
      ),
      runs(25),
    );
  }, 300_000);
});
