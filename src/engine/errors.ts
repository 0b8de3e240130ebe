// The engine's errors are the hub's (src/hub/errors.ts: one vocabulary, one table of how each
// protocol answers each code); EngineError names the ones the engine throws, for logs and for
// connectors that tell them apart.
import { HubError, isHubError, type ErrorCode, type ErrorDetails } from '../hub/errors.ts';

export type EngineErrorCode = Extract<ErrorCode, 'NOT_FOUND' | 'CONFLICT' | 'PRECONDITION_FAILED' | 'FAILED_PRECONDITION' | 'INVALID_COMMAND' | 'CONNECTION_PAUSED' | 'UNAVAILABLE'>;

export class EngineError extends HubError {
  constructor(code: EngineErrorCode, message: string, details: ErrorDetails = {}) {
    super(code, message, details);
    this.name = 'EngineError';
  }
}

/** Any of the hub's errors, by name as well as by class (a connector loaded from a path has its own SDK copy). */
export const isEngineError = isHubError;

export { databaseUnavailable } from '../hub/errors.ts';
