import { GraphQLError } from 'graphql';
import { ERRORS, knownError, type ErrorAnswer } from '../hub/errors.ts';

/** Codes clients can branch on (the GraphQL column of the hub's error table); `retryable` errors may succeed unchanged later. */
export type ApiErrorCode = ErrorAnswer['graphql'];

const RETRYABLE = new Set<string>(Object.values(ERRORS).filter((e) => e.retryable).map((e) => e.graphql));

export function apiError(code: ApiErrorCode, message: string, extra: { field?: string; retryAfterSeconds?: number } = {}): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code,
      retryable: RETRYABLE.has(code),
      ...(extra.field ? { field: extra.field } : {}),
      ...(extra.retryAfterSeconds ? { retryAfterSeconds: extra.retryAfterSeconds } : {}),
    },
  });
}

export const notFound = (what: string, id: string) => apiError('NOT_FOUND', `${what} ${id} not found`);

/** Maps the hub's errors to GraphQL errors with codes (src/hub/errors.ts); anything else stays masked. */
export function toGraphQLError(error: unknown): unknown {
  const known = knownError(error);
  return known ? apiError(ERRORS[known.code].graphql, known.message, known.details) : error;
}
