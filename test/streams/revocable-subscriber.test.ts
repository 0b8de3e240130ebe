// A subscription opened with a revocable API key runs for days and receives events by the million:
// what ends it on revocation (src/graphql/plugins/use-credential-revocation.ts) must hold nothing
// per event, and still end it at once when the key is revoked. Run through yoga's envelop with the
// hub's own plugin and revocation registry; only the subscription's source is this file's.
import { parse, type ExecutionResult } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { expect, it } from 'vitest';
import { CredentialRevocations } from '../../src/tenancy/credential-revocations.ts';
import type { ApiKeyAuthenticator } from '../../src/tenancy/principal.ts';
import { InProcessEventBus } from '../../src/events/bus.ts';
import { useCredentialRevocation } from '../../src/graphql/plugins/use-credential-revocation.ts';
import { createLogger } from '../../src/hub/logger.ts';
import { heapAfterGc } from './support.ts';


const EVENTS = 200_000;
const KEY = { kind: 'api_key', id: '00000000-0000-4000-8000-000000000001' } as const;

function revocableSubscriptions() {
  const bus = new InProcessEventBus();
  const credentials = new CredentialRevocations({
    bus,
    // Neither is reached: no revocation comes from the database here (re-checks far apart).
    sql: undefined as never,
    auth: { forgetApiKey: () => {} } as unknown as ApiKeyAuthenticator,
    logger: createLogger('silent'),
    recheckIntervalMs: 3_600_000,
  });
  // Ticks as fast as they are read; after EVENTS, waits for an event that never comes.
  const schema = createSchema({
    typeDefs: 'type Query { ok: Boolean } type Subscription { ticks: Int }',
    resolvers: {
      Subscription: {
        ticks: {
          subscribe: async function* () {
            for (let i = 0; i < EVENTS; i++) yield { ticks: i };
            await new Promise(() => {});
          },
        },
      },
    },
  });
  const yoga = createYoga({ schema, plugins: [useCredentialRevocation(credentials)] });
  const open = async () => {
    const { subscribe, contextFactory } = yoga.getEnveloped({ principal: { kind: 'organization', organizationId: 'o', apiKeyId: KEY.id } });
    const stream = await subscribe({ schema, document: parse('subscription { ticks }'), contextValue: await contextFactory() });
    return (stream as AsyncIterableIterator<ExecutionResult>)[Symbol.asyncIterator]();
  };
  return { credentials, open };
}

it('a subscription under a revocable key keeps no memory per event it delivers, and its key revoked ends it with UNAUTHENTICATED', async () => {
  const { credentials, open } = revocableSubscriptions();
  const stream = await open();
  expect((await stream.next()).value).toEqual({ data: { ticks: 0 } });
  const before = heapAfterGc();
  for (let i = 1; i < EVENTS; i++) await stream.next();
  const growthMiB = (heapAfterGc() - before) / 2 ** 20;
  // About 100 MiB when each event left something behind (a reaction on a promise pending for the stream's life).
  expect(growthMiB).toBeLessThan(20);

  // Waiting for the next event, which never comes: revoking the key ends the wait.
  const waiting = stream.next();
  credentials.revoked(KEY);
  const last = await waiting;
  expect(last.done).toBe(false);
  expect(last.value?.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
  expect(await stream.next()).toEqual({ value: undefined, done: true });
  await credentials.stop();
}, 120_000);
