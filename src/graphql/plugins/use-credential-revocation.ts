// A subscription ends the moment the credential it was opened with is revoked, on either transport:
// its last message is an UNAUTHENTICATED error saying so, then the stream completes (SSE: the
// response ends; graphql-ws: its socket is closed with 4401 as well, src/http/graphql-ws-auth.ts).
// Every subscription field gets this here, without each resolver having to remember it.
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { credentialsOf, type Credential } from '../../tenancy/live-operations.ts';
import type { CredentialRevocations } from '../../tenancy/credential-revocations.ts';
import type { GraphQLContext } from '../context.ts';
import { apiError } from '../errors.ts';

const revokedError = (held: Credential[]) =>
  held.some((c) => c.kind === 'browser_session') && !held.some((c) => c.kind === 'api_key')
    ? apiError('UNAUTHENTICATED', 'the session this subscription was opened in ended (signed out, or its setup link revoked or expired): sign in again')
    : apiError('UNAUTHENTICATED', 'the API key this subscription was opened with was revoked: subscribe again with a valid key');

export function useCredentialRevocation(credentials: CredentialRevocations): Plugin<GraphQLContext> {
  return {
    onSubscribe({ args }) {
      const held = credentialsOf(args.contextValue.principal);
      if (!held.length) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (Symbol.asyncIterator in result) setResult(endedOnRevocation(result, held, credentials));
        },
      };
    },
  };
}

type Results = AsyncIterableIterator<ExecutionResult> | AsyncGenerator<ExecutionResult>;

/** The results of `source` until one of the credentials is revoked; then one error result, and done. */
function endedOnRevocation(source: Results, held: Credential[], credentials: CredentialRevocations): AsyncIterableIterator<ExecutionResult> {
  let state: 'running' | 'revoked' | 'done' = 'running';
  // Wakes the next() waiting for an event. A new promise per next(): racing every event against
  // one promise pending for the stream's whole life would add a reaction to it per event (race
  // subscribes to each of its inputs), none freed before the stream ends.
  let interrupt: (() => void) | null = null;
  const finish = () => {
    state = 'done';
    stopTracking();
    return source.return?.(undefined);
  };
  const onRevoked = () => {
    if (state !== 'running') return;
    state = 'revoked';
    interrupt?.();
    // Releases what the stream holds now, not at the client's next read.
    void source.return?.(undefined);
  };
  const stops = held.map((credential) => credentials.track(credential, onRevoked));
  const stopTracking = () => stops.forEach((stop) => stop());
  return {
    async next() {
      if (state === 'running') {
        const interrupted = new Promise<null>((resolve) => (interrupt = () => resolve(null)));
        const step = await Promise.race([source.next(), interrupted]).finally(() => (interrupt = null));
        // Revoked while waiting, or while this event was being executed: it is not delivered.
        if (state === 'running' && step && !step.done) return step;
        if (state === 'running') await finish();
      }
      if (state === 'revoked') {
        state = 'done';
        stopTracking();
        return { value: { errors: [revokedError(held)] }, done: false };
      }
      return { value: undefined, done: true };
    },
    async return() {
      await finish();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
