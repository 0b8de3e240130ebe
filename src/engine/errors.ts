import { DATABASE_RETRY_AFTER_SECONDS } from '../db/sql.ts';

export type EngineErrorCode =
  /** A referenced user, group or connection does not exist (in this organization). */
  | 'NOT_FOUND'
  /** A user or group with the same unique key exists. */
  | 'CONFLICT'
  /** expectedVersion did not match: re-read and retry. */
  | 'PRECONDITION_FAILED'
  /** The request cannot be done in the current state (it says what would make it possible). */
  | 'FAILED_PRECONDITION'
  | 'INVALID_COMMAND'
  /** The connection is paused: retry after it is resumed. */
  | 'CONNECTION_PAUSED'
  /** The database is unreachable or overloaded: retry. */
  | 'UNAVAILABLE';

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly details: {
      field?: string;
      existingId?: string;
      retryAfterSeconds?: number;
      /** INVALID_COMMAND refusing a value the source itself sent (not a connector's mistake): fixed at the source. */
      sourceValue?: boolean;
    } = {},
  ) {
    super(message);
    this.name = 'EngineError';
  }

  get retryable(): boolean {
    return this.code === 'CONNECTION_PAUSED' || this.code === 'UNAVAILABLE';
  }
}

/** The database is unreachable: nothing was applied, the same delivery may be sent again shortly. */
export const databaseUnavailable = () => new EngineError('UNAVAILABLE', 'the database is unavailable; retry shortly', { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS });
