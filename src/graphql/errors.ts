import { GraphQLError } from 'graphql';
import { DATABASE_RETRY_AFTER_SECONDS, isTransientDatabaseError } from '../db/sql.ts';
import { EngineError } from '../engine/errors.ts';
import { HubError } from '../errors.ts';

/** Codes clients can branch on; `retryable` errors may succeed unchanged later. */
export type ApiErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'FAILED_PRECONDITION'
  | 'CONNECTION_PAUSED'
  | 'UNAVAILABLE';

export function apiError(code: ApiErrorCode, message: string, extra: { field?: string; retryAfterSeconds?: number } = {}): GraphQLError {
  const retryable = code === 'CONNECTION_PAUSED' || code === 'UNAVAILABLE';
  return new GraphQLError(message, {
    extensions: {
      code,
      retryable,
      ...(extra.field ? { field: extra.field } : {}),
      ...(extra.retryAfterSeconds ? { retryAfterSeconds: extra.retryAfterSeconds } : {}),
    },
  });
}

export const notFound = (what: string, id: string) => apiError('NOT_FOUND', `${what} ${id} not found`);

/** Maps the engine's and services' errors to GraphQL errors with codes; anything else stays masked. */
export function toGraphQLError(error: unknown): unknown {
  if (error instanceof EngineError) {
    const code: ApiErrorCode =
      error.code === 'INVALID_COMMAND' ? 'BAD_USER_INPUT'
        : error.code === 'PRECONDITION_FAILED' ? 'CONFLICT'
          : error.code;
    return apiError(code, error.message, error.details);
  }
  if (error instanceof HubError) return apiError(error.code, error.message, error.details);
  if (isTransientDatabaseError(error)) return apiError('UNAVAILABLE', 'the database is unavailable; retry shortly', { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS });
  return error;
}
