// A thief's key revoked while the thief holds a graphql-ws socket or an SSE stream opened before
// the revocation: both end at once with a clear reason, and nothing more runs under the key:
// no query, no mutation (createApiKey, whose new key would outlive the old one), no subscription.
// Other keys' sockets and streams are untouched.
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTestHub, type TestHub } from '../support/server.ts';
import { LIFECYCLE_QUERY, subscribeSse, subscribeWs, wsClient } from '../streams/support.ts';
import { createTenant, type Tenant } from './support.ts';

let t: TestHub;
/** Each test's own organization, so that its subscriber counts are its own. */
let a: Tenant;
beforeAll(async () => {
  t = await startTestHub();
}, 120_000);
beforeEach(async () => {
  a = await createTenant(t, 'Alpha');
}, 60_000);
afterAll(async () => {
  await t?.close();
});

/** A new key of organization A (the one the thief holds). */
async function stolenKey(): Promise<{ id: string; secret: string }> {
  const { createApiKey } = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "stolen" }) { secret apiKey { id } } }`, { o: a.organizationId });
  return { id: createApiKey.apiKey.id, secret: createApiKey.secret };
}

/** Revoked over HTTP with another key of the organization (A's own). */
async function revokeOverHttp(id: string) {
  await t.gqlOk(`mutation($k: ID!) { revokeApiKey(input: { apiKeyId: $k }) { apiKey { revokedAt } } }`, { k: id }, a.apiKey);
}

const keysOfA = async () => (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM api_key WHERE organization_id = $1', [a.organizationId]))[0]!.n;

const QUERY = `query($o: ID!) { organization(id: $o) { id } }`;
const CREATE_KEY = `mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "persistence" }) { secret } }`;
/** A new subscription replaying the organization's events: answered at once if it runs. */
const replay = () => ({ o: a.organizationId, after: '0' });

type Outcome = { kind: 'next'; value: any } | { kind: 'error'; error: any } | { kind: 'complete' };

/** One operation on the client's socket, until its first answer. */
function once(client: Client, query: string, variables: Record<string, unknown>): Promise<Outcome> {
  return new Promise((resolve) => {
    client.subscribe(
      { query, variables },
      { next: (value) => resolve({ kind: 'next', value }), error: (error) => resolve({ kind: 'error', error }), complete: () => resolve({ kind: 'complete' }) },
    );
  });
}

/** Resolves once the check holds (checked every 10 ms). */
async function until(check: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const provisionSomeone = async (n: string) => {
  const reply = await a.scim.request('POST', '/Users', { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `${n}@alpha.test`, active: true } });
  expect(reply.status).toBe(201);
};

describe('graphql-ws', () => {
  it('revoked over HTTP: its socket is closed with 4401 "API key revoked", its running subscription ends with it, and its client can run nothing more', async () => {
    const key = await stolenKey();
    let closed: { code: number; reason: string } | undefined;
    const thief = wsClient(t.url, key.secret, { onClosed: (event) => (closed ??= event) });
    const bystander = wsClient(t.url, a.apiKey);
    try {
      expect((await once(thief, QUERY, { o: a.organizationId })).kind).toBe('next');
      const before = t.hub.events.subscribersOf(a.organizationId);
      const running = subscribeWs(thief, LIFECYCLE_QUERY, { o: a.organizationId }, 'lifecycleEvents');
      const unaffected = subscribeWs(bystander, LIFECYCLE_QUERY, { o: a.organizationId }, 'lifecycleEvents');
      await until(() => t.hub.events.subscribersOf(a.organizationId) === before + 2, 'both subscriptions to start');

      await revokeOverHttp(key.id);

      const ended = await running.waitForError();
      expect({ code: ended.code, reason: ended.reason }).toEqual({ code: 4401, reason: 'API key revoked' });
      expect(closed).toEqual(expect.objectContaining({ code: 4401, reason: 'API key revoked' }));
      await until(() => t.hub.events.subscribersOf(a.organizationId) === before + 1, 'the revoked subscription to be released');

      // The same client, again: a query, a mutation minting a key for later, a new subscription.
      const keysBefore = await keysOfA();
      const attempts = [await once(thief, QUERY, { o: a.organizationId }), await once(thief, CREATE_KEY, { o: a.organizationId }), await once(thief, LIFECYCLE_QUERY, replay())];
      for (const attempt of attempts) expect(attempt.kind).toBe('error');
      expect(await keysOfA()).toBe(keysBefore);
      // Over HTTP, at once (its cached authentication was dropped).
      expect((await t.gql(QUERY, { o: a.organizationId }, key.secret)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

      // The revoking key's own subscription goes on.
      await provisionSomeone('after-revocation');
      expect((await unaffected.waitFor(1)).at(0)?.type).toBe('user.provisioned');
    } finally {
      await thief.dispose();
      await bystander.dispose();
    }
  });

  it('revoked where no broadcast reaches this instance (here, in SQL): the next operations on its open socket re-authenticate, are refused, and close it with 4401', async () => {
    const key = await stolenKey();
    let closed: { code: number; reason: string } | undefined;
    const thief = wsClient(t.url, key.secret, { onClosed: (event) => (closed ??= event) });
    try {
      expect((await once(thief, QUERY, { o: a.organizationId })).kind).toBe('next');
      await t.db.sql.query('UPDATE api_key SET revoked_at = now() WHERE id = $1', [key.id]);
      const keysBefore = await keysOfA();
      // Past the authenticator's 5 s cache, so only the database can say the key is still good.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 6_000);
      try {
        const attempts = await Promise.all([once(thief, QUERY, { o: a.organizationId }), once(thief, CREATE_KEY, { o: a.organizationId }), once(thief, LIFECYCLE_QUERY, replay())]);
        for (const attempt of attempts) {
          expect(attempt.kind).toBe('error');
          expect((attempt as { error: { code: number } }).error.code).toBe(4401);
        }
      } finally {
        vi.useRealTimers();
      }
      expect(closed).toEqual(expect.objectContaining({ code: 4401, reason: 'API key revoked' }));
      expect(await keysOfA()).toBe(keysBefore);
    } finally {
      await thief.dispose();
    }
  });
});

describe('SSE', () => {
  it('revoked over HTTP: its running subscription stream ends with UNAUTHENTICATED saying the key was revoked, then completes', async () => {
    const key = await stolenKey();
    const before = t.hub.events.subscribersOf(a.organizationId);
    const thief = await subscribeSse(t.url, key.secret, LIFECYCLE_QUERY, { o: a.organizationId }, 'lifecycleEvents');
    const bystander = await subscribeSse(t.url, a.apiKey, LIFECYCLE_QUERY, { o: a.organizationId }, 'lifecycleEvents');
    try {
      expect(thief.status).toBe(200);
      await until(() => t.hub.events.subscribersOf(a.organizationId) === before + 2, 'both streams to start');

      await revokeOverHttp(key.id);

      const [error] = await thief.waitForError();
      expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(error.message).toMatch(/revoked/);
      await until(() => thief.completed, 'the stream to end');
      await until(() => t.hub.events.subscribersOf(a.organizationId) === before + 1, 'the revoked stream to be released');

      await provisionSomeone('after-sse-revocation');
      expect((await bystander.waitFor(1)).at(0)?.type).toBe('user.provisioned');
      expect(thief.items).toEqual([]);
    } finally {
      thief.dispose();
      bystander.dispose();
    }
  });
});
