// useSharedSubscriptionResults: subscribers running the same operation share one execution per
// event; different operations or variables are executed apart; stream errors reach the client.
import { GraphQLError, parse } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { useSharedSubscriptionResults } from './use-shared-subscription-results.ts';

function setup() {
  let resolved = 0;
  const feeds: Array<(event: object | Error) => void> = [];
  const schema = createSchema({
    typeDefs: 'type Query { ok: Boolean } type Event { id: ID! label(suffix: String): String! } type Subscription { events: Event! }',
    resolvers: {
      Event: { label: (e: { id: string }, args: { suffix?: string }) => (resolved++, `event ${e.id}${args.suffix ?? ''}`) },
      Subscription: {
        events: {
          subscribe: () => {
            const queue: Array<object | Error> = [];
            let wake: (() => void) | null = null;
            feeds.push((event) => {
              queue.push(event);
              wake?.();
            });
            return {
              async next() {
                while (!queue.length) await new Promise<void>((r) => (wake = r));
                const item = queue.shift()!;
                if (item instanceof Error) throw item;
                return { value: item, done: false };
              },
              async return() {
                return { value: undefined, done: true };
              },
              [Symbol.asyncIterator]() {
                return this;
              },
            };
          },
          resolve: (e: object) => e,
        },
      },
    },
  });
  const yoga = createYoga({ schema, plugins: [useSharedSubscriptionResults()] });
  const open = async (query: string) => {
    const { subscribe, contextFactory } = yoga.getEnveloped({});
    const result = (await subscribe({ schema: yoga.getEnveloped({}).schema, document: parse(query), contextValue: await contextFactory() })) as AsyncIterableIterator<any>;
    return result;
  };
  return { open, publish: (e: object | Error) => feeds.forEach((f) => f(e)), resolved: () => resolved };
}

describe('useSharedSubscriptionResults', () => {
  it('executes each event once per distinct operation, whatever the number of subscribers', async () => {
    const s = setup();
    const same = 'subscription { events { id label } }';
    const subscribers = await Promise.all(Array.from({ length: 50 }, () => s.open(same)));
    const other = await s.open('subscription { events { id label(suffix: "!") } }');
    const pending = [...subscribers, other].map((it) => it.next());
    s.publish({ id: '1' });
    const results = await Promise.all(pending);
    expect(results.slice(0, 50).every((r) => r.value.data.events.label === 'event 1')).toBe(true);
    expect(results[50]!.value.data.events.label).toBe('event 1!');
    expect(s.resolved()).toBe(2);
  });

  it('ends the stream with its error as a last result', async () => {
    const s = setup();
    const it = await s.open('subscription { events { id } }');
    const next = it.next();
    s.publish(new GraphQLError('too slow', { extensions: { code: 'SUBSCRIBER_TOO_SLOW', resumeAfter: '7' } }));
    const { value } = await next;
    expect(value.errors[0].extensions).toMatchObject({ code: 'SUBSCRIBER_TOO_SLOW', resumeAfter: '7' });
    expect((await it.next()).done).toBe(true);
  });
});
