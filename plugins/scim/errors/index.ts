// SCIM errors (RFC 7644 §3.12): every failure on a SCIM route is answered in this form, never
// with a stack trace. Engine errors map to the status an identity provider acts on correctly.
import { ERRORS, type HubError } from 'lifecycle-hub/connector';
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

/** The SCIM answer to one of the hub's errors: status and scimType from the hub's error table. */
export function fromHubError(error: HubError, notFoundDetail?: string): ScimError {
  const { status, scimType } = ERRORS[error.code].scim as { status: number; scimType?: ScimType };
  switch (error.code) {
    case 'NOT_FOUND':
      return new ScimError(status, scimType, notFoundDetail ?? error.message);
    case 'PRECONDITION_FAILED':
      return new ScimError(status, scimType, `${error.message}: read the resource again and retry with its current version`);
    case 'INVALID_COMMAND':
      return new ScimError(status, scimType, error.message.replace(/^command \d+ \([^)]*\): /, ''));
    case 'CONNECTION_PAUSED':
      return new ScimError(status, scimType, 'this connection is paused in Lifecycle Hub; changes are accepted again once an administrator resumes it', {
        'Retry-After': String(error.details.retryAfterSeconds ?? 60),
      });
    case 'UNAVAILABLE':
      return new ScimError(status, scimType, 'Lifecycle Hub is temporarily unavailable; retry shortly', { 'Retry-After': String(error.details.retryAfterSeconds ?? 5) });
    default:
      return new ScimError(status, scimType, error.message);
  }
}
