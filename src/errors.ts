/** Errors the API reports to clients, with a stable machine-readable code (GraphQL `extensions.code`). */
export type HubErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE';

export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
    readonly details: { field?: string; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'HubError';
  }
}
