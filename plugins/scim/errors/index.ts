// SCIM errors (RFC 7644 §3.12): every failure on a SCIM route is answered in this form, never
// with a stack trace. Engine errors map to the status an identity provider acts on correctly.
import { DATABASE_RETRY_AFTER_SECONDS } from '../../../src/db/sql.ts';
import { EngineError } from '../../../src/engine/errors.ts';
import { ERROR } from '../schemas/urns.ts';

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: ScimType | undefined,
    detail: string,
    /** Extra response headers (Retry-After, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'ScimError';
  }

  get detail(): string {
    return this.message;
  }

  body(): Record<string, unknown> {
    return { schemas: [ERROR], status: String(this.status), ...(this.scimType ? { scimType: this.scimType } : {}), detail: this.message };
  }
}

export const invalidValue = (detail: string) => new ScimError(400, 'invalidValue', detail);
export const invalidSyntax = (detail: string) => new ScimError(400, 'invalidSyntax', detail);
export const invalidFilter = (detail: string) => new ScimError(400, 'invalidFilter', detail);
export const invalidPath = (detail: string) => new ScimError(400, 'invalidPath', detail);
export const notFound = (what: string, id: string) => new ScimError(404, undefined, `${what} ${id} not found`);

/** 503 with Retry-After: the database is unreachable for now. Retrying is safe (SCIM writes are idempotent here). */
export const databaseUnavailable = () =>
  new ScimError(503, undefined, 'Lifecycle Hub is temporarily unavailable (its database cannot be reached); retry shortly', {
    'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS),
  });

/** The SCIM answer to a lifecycle engine error. */
export function fromEngineError(error: EngineError, notFoundDetail?: string): ScimError {
  switch (error.code) {
    case 'CONFLICT':
      return new ScimError(409, 'uniqueness', error.message);
    case 'NOT_FOUND':
      return new ScimError(404, undefined, notFoundDetail ?? error.message);
    case 'PRECONDITION_FAILED':
      return new ScimError(412, undefined, `${error.message}: read the resource again and retry with its current version`);
    case 'FAILED_PRECONDITION':
      return new ScimError(409, undefined, error.message);
    case 'INVALID_COMMAND':
      return new ScimError(400, 'invalidValue', error.message.replace(/^command \d+ \([^)]*\): /, ''));
    case 'CONNECTION_PAUSED':
      return new ScimError(503, undefined, 'this connection is paused in Lifecycle Hub; changes are accepted again once an administrator resumes it', {
        'Retry-After': String(error.details.retryAfterSeconds ?? 60),
      });
    case 'UNAVAILABLE':
      return new ScimError(503, undefined, 'Lifecycle Hub is temporarily unavailable; retry shortly', { 'Retry-After': String(error.details.retryAfterSeconds ?? 5) });
  }
}
