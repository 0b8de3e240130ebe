// GraphQL error codes (src/hub/errors.ts) in words for a person, with what to do next. The hub's
// message is shown too: it names the field or value at fault.
import type { CombinedError } from 'urql';

const SENTENCES: Record<string, string> = {
  UNAUTHENTICATED: 'You are signed out (the session expired or the key was revoked). Sign in again.',
  FORBIDDEN: 'This key or session may not do that. Ask an administrator, or sign in with a key that can.',
  NOT_FOUND: 'It does not exist, or belongs to another organization. Check the link, or go back to the list.',
  BAD_USER_INPUT: 'Something in the form is not valid. Correct it and try again.',
  FAILED_PRECONDITION: 'Not possible in the current state (see the details). Change that first, then try again.',
  CONNECTION_PAUSED: 'The connection is paused. Resume it first.',
  UNAVAILABLE: 'The hub is busy or its database unreachable for a moment. Try again shortly.',
  CONFLICT: 'Someone changed this at the same time. Reload the page and try again.',
  RATE_LIMITED: 'Too many attempts from this address. Wait a minute, then try again.',
  PAYLOAD_TOO_LARGE: 'That is too much at once. Send less, or in parts.',
  GRAPHQL_VALIDATION_FAILED: 'This page asked the hub something it does not understand: the hub may be older or newer than this page. Reload the page.',
  INTERNAL_SERVER_ERROR: 'The hub failed unexpectedly. Try again; if it keeps failing, the hub\'s log has the details.',
  SCIM_TOKEN_LIMIT: 'This connection already has two active SCIM tokens, the most it may hold (one in use, one to rotate to). Revoke the one the identity provider no longer uses, then create the new one.',
  LINK_USED: 'This setup link was already opened once, and a link works only once. Ask whoever sent it for a new link.',
  LINK_EXPIRED: 'This setup link has expired. Ask whoever sent it for a new link.',
  LINK_REVOKED: 'This setup link was revoked by the organization that sent it. Ask them for a new link.',
  CSRF_CHECK_FAILED: 'The hub refused this request because it did not come from this page as expected (a cross-site check). Reload the page and try again; if it persists, open the page from its own address rather than through another site.',
};

export interface ReadableError {
  code: string;
  sentence: string;
  detail?: string;
}

export function readableError(error: CombinedError): ReadableError {
  if (error.networkError && !error.graphQLErrors.length) {
    return { code: 'NETWORK', sentence: 'The hub could not be reached. Check your connection (or that the hub is running), then try again.', detail: error.networkError.message };
  }
  const first = error.graphQLErrors[0];
  const code = typeof first?.extensions?.code === 'string' ? first.extensions.code : 'INTERNAL_SERVER_ERROR';
  return { code, sentence: SENTENCES[code] ?? 'The hub refused this. Read the details below, correct what they name, and try again.', detail: first?.message };
}

export function errorCode(error: CombinedError | undefined): string | undefined {
  return error ? readableError(error).code : undefined;
}
