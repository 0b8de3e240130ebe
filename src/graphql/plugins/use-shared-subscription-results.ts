// Fan-out without re-executing: when many subscribers run the same subscription operation (same
// document, operation name and variables), each event is executed once and the result shared.
//
// graphql-js executes a subscription's selection set once per event per subscriber; with thousands
// of subscribers on one organization, that execution was most of the server's fan-out cost. Our
// subscription events are plain objects shared by every local subscriber (src/events), and their
// resolvers read only the event, so the result depends on the operation alone. Errors are still
// masked by yoga (envelop's result hooks run on what this returns).
import { createSourceEventStream, execute, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

type Results = Map<string, ExecutionResult | Promise<ExecutionResult>>;

export function useSharedSubscriptionResults(): Plugin {
  // Per event object: results by operation. Entries go with the event when it is collected.
  const byEvent = new WeakMap<object, Results>();

  const executeShared = (args: ExecutionArgs, key: string, event: unknown): ExecutionResult | Promise<ExecutionResult> => {
    if (!event || typeof event !== 'object') return execute({ ...args, rootValue: event });
    let results = byEvent.get(event);
    if (!results) byEvent.set(event, (results = new Map()));
    let result = results.get(key);
    if (!result) {
      result = execute({ ...args, rootValue: event });
      results.set(key, result);
    }
    return result;
  };

  const subscribe = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
    const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const key = `${args.operationName ?? ''}\u0000${args.document.loc?.source.body ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
    // A plain iterator, not an async generator: return() reaches the source at once, even while
    // it is waiting for the next event.
    let ended = false;
    const mapped: AsyncIterableIterator<ExecutionResult> = {
      async next() {
        if (ended) return { value: undefined, done: true };
        let step: IteratorResult<unknown>;
        try {
          step = await iterator.next();
        } catch (error) {
          // The stream ended with an error (SUBSCRIBER_TOO_SLOW, STREAM_CLOSED): a last result
          // carrying it, as graphql-tools' own subscribe does, so every transport delivers it.
          ended = true;
          const graphqlError = error instanceof GraphQLError ? error : new GraphQLError((error as Error)?.message ?? String(error), { originalError: error as Error });
          return { value: { errors: [graphqlError] }, done: false };
        }
        if (step.done) return { value: undefined, done: true };
        return { value: await executeShared(args, key, step.value), done: false };
      },
      async return() {
        ended = true;
        await iterator.return?.();
        return { value: undefined, done: true };
      },
      async throw(error?: unknown) {
        await iterator.return?.();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return mapped;
  };

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as never);
    },
  };
}
