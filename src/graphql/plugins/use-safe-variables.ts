// Variables are JSON from the client: refused, before anything executes, when they hold a
// "__proto__" key (or `constructor.prototype`), which the first copy or merge would turn into a
// prototype change, or text that is not well-formed Unicode (a lone surrogate), which the database
// cannot store (issue 14, items 1 and 5). The checks are src/http/untrusted-json.ts's, the ones
// SCIM bodies and webhook payloads get. They run in envelop's onExecute/onSubscribe, so over HTTP,
// SSE and graphql-ws alike (server.ts also answers a socket's refusal as the protocol's `error`).
// String literals in the document need no check: graphql-js refuses a lone surrogate escape.
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { checkUntrustedValue, UntrustedJsonError } from '../../http/untrusted-json.ts';

/** BAD_USER_INPUT for a JSON value (variables, a JSON argument) the hub refuses, or null. */
export function untrustedValueError(value: unknown, what: string): GraphQLError | null {
  try {
    checkUntrustedValue(value);
    return null;
  } catch (error) {
    if (!(error instanceof UntrustedJsonError)) throw error;
    return new GraphQLError(`${what}: ${error.message}`, { extensions: { code: 'BAD_USER_INPUT', retryable: false } });
  }
}

export function useSafeVariables(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = untrustedValueError(args.variableValues, 'variables');
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = untrustedValueError(args.variableValues, 'variables');
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
