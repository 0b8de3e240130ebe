// The hub's one error vocabulary: every failure the hub reports carries one of these codes, and this
// table is the only place that says how each protocol answers it. The GraphQL mapper
// (src/graphql/errors.ts), the SCIM mapper (plugins/scim/errors) and the webhook answer
// (src/http/webhooks.ts) read it; none keeps a mapping of its own. A transient database failure is
// classified once (isTransientDatabaseError in src/storage/sql.ts) and becomes UNAVAILABLE here.
import { DATABASE_RETRY_AFTER_SECONDS, isTransientDatabaseError } from '../storage/sql.ts';

/** How each protocol answers a code. */
export interface ErrorAnswer {
  /** GraphQL `extensions.code`: what API clients branch on. */
  graphql:
    | 'BAD_USER_INPUT' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT' | 'FAILED_PRECONDITION' | 'CONNECTION_PAUSED' | 'UNAVAILABLE'
    | 'SCIM_TOKEN_LIMIT' | 'LINK_USED' | 'LINK_EXPIRED' | 'LINK_REVOKED' | 'CSRF_CHECK_FAILED';
  /**
   * HTTP status of a webhook delivery that failed so (src/http/webhooks.ts): 409 tells the sender
   * its retry will succeed once what the change depends on arrives (reordered deliveries), 422 that
   * retrying the same delivery cannot, 503 to retry later.
   */
  webhook: 401 | 403 | 409 | 422 | 503;
  /** SCIM status and scimType (RFC 7644 §3.12). */
  scim: { status: number; scimType?: 'uniqueness' | 'invalidValue' };
  /** The same request may succeed unchanged later (GraphQL `extensions.retryable`, Retry-After). */
  retryable: boolean;
}

export const ERRORS = {
  /** The request (API input) is malformed or out of range; it says which field. */
  BAD_USER_INPUT: { graphql: 'BAD_USER_INPUT', webhook: 422, scim: { status: 400, scimType: 'invalidValue' }, retryable: false },
  /** A command the engine refuses as written (a connector's or a source's value). */
  INVALID_COMMAND: { graphql: 'BAD_USER_INPUT', webhook: 422, scim: { status: 400, scimType: 'invalidValue' }, retryable: false },
  UNAUTHENTICATED: { graphql: 'UNAUTHENTICATED', webhook: 401, scim: { status: 401 }, retryable: false },
  FORBIDDEN: { graphql: 'FORBIDDEN', webhook: 403, scim: { status: 403 }, retryable: false },
  /** A referenced user, group, connection or organization does not exist (in this organization). */
  NOT_FOUND: { graphql: 'NOT_FOUND', webhook: 409, scim: { status: 404 }, retryable: false },
  /** A user or group with the same unique key exists. */
  CONFLICT: { graphql: 'CONFLICT', webhook: 409, scim: { status: 409, scimType: 'uniqueness' }, retryable: false },
  /** An expected version did not match: re-read and retry. */
  PRECONDITION_FAILED: { graphql: 'CONFLICT', webhook: 409, scim: { status: 412 }, retryable: false },
  /** Not possible in the current state; the message says what would make it possible. */
  FAILED_PRECONDITION: { graphql: 'FAILED_PRECONDITION', webhook: 422, scim: { status: 409 }, retryable: false },
  /** A connection holds two active SCIM tokens already (the rotation pair): revoke one first. */
  SCIM_TOKEN_LIMIT: { graphql: 'SCIM_TOKEN_LIMIT', webhook: 422, scim: { status: 409 }, retryable: false },
  /** The connection is paused: retry after it is resumed. */
  CONNECTION_PAUSED: { graphql: 'CONNECTION_PAUSED', webhook: 503, scim: { status: 503 }, retryable: true },
  /** A setup link already opened once (links are one-time): ask for a new link. */
  LINK_USED: { graphql: 'LINK_USED', webhook: 403, scim: { status: 403 }, retryable: false },
  /** A setup link past its expiresAt: ask for a new link. */
  LINK_EXPIRED: { graphql: 'LINK_EXPIRED', webhook: 403, scim: { status: 403 }, retryable: false },
  /** A setup link its organization revoked. */
  LINK_REVOKED: { graphql: 'LINK_REVOKED', webhook: 403, scim: { status: 403 }, retryable: false },
  /**
   * A request authenticated by a session cookie without the x-lifecycle-hub-csrf header, or from
   * another origin: refused, since a browser sends cookies with requests other sites make too.
   */
  CSRF_CHECK_FAILED: { graphql: 'CSRF_CHECK_FAILED', webhook: 403, scim: { status: 403 }, retryable: false },
  /** The database is unreachable or overloaded, or the hub is stopping: retry. */
  UNAVAILABLE: { graphql: 'UNAVAILABLE', webhook: 503, scim: { status: 503 }, retryable: true },
} as const satisfies Record<string, ErrorAnswer>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorDetails {
  field?: string;
  existingId?: string;
  retryAfterSeconds?: number;
  /** INVALID_COMMAND refusing a value the source itself sent (not a connector's mistake): fixed at the source. */
  sourceValue?: boolean;
}

export class HubError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'HubError';
  }

  get retryable(): boolean {
    return ERRORS[this.code].retryable;
  }
}

/** By name as well as by class: a connector loaded from a path or a package has its own copy of the SDK. */
export function isHubError(error: unknown): error is HubError {
  if (error instanceof HubError) return true;
  const e = error as { name?: unknown; code?: unknown } | null;
  // Own keys only: a foreign error's code "toString" must not pass for one of ours.
  return (e?.name === 'HubError' || e?.name === 'EngineError') && typeof e.code === 'string' && Object.hasOwn(ERRORS, e.code);
}

/** The database is unreachable: nothing was applied, the same request may be sent again shortly. */
export const databaseUnavailable = () => new HubError('UNAVAILABLE', 'the database is unavailable; retry shortly', { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS });

/** The hub's error a failure stands for, or null for an unexpected one (a bug: answered 500, logged). */
export function knownError(error: unknown): HubError | null {
  if (isHubError(error)) return error;
  return isTransientDatabaseError(error) ? databaseUnavailable() : null;
}
