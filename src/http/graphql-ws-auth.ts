// graphql-ws authentication: when the socket opens (connectionParams.authorization, or for a
// browser of ours its session cookie on the upgrade request, whose Origin server.ts checked), again
// on every operation (each `subscribe` message), and the socket is closed the moment its key is
// revoked or its session ends, on whichever instance that happened (src/tenancy/credential-revocations.ts).
//
// Close codes, chosen for how graphql-ws clients react:
// - 4403 "Forbidden": the key was refused when the socket opened (graphql-ws's code for a refused
//   connection_init; its client may retry, which a mistyped key gets refused again for);
// - 4401 "API key revoked" (or "session ended": signed out, its setup link revoked or expired, its
//   console key revoked): the credential stopped being valid on an open socket. graphql-ws's client
//   treats 4401 as fatal: it does not reconnect with the dead key, and hands the close event to
//   every operation still running (their error callback) and to `on.closed`.
// - 4429 "too many failed authentications…": the address failed AUTH_FAILURES_PER_ADDRESS times
//   (over HTTP or here) and this key has not authenticated recently; it was not checked. Fatal for
//   graphql-ws's client too, so it does not hammer the limit; the reason says when to retry.
// An operation that arrives on a socket whose key is revoked closes it the same way.
import { GraphQLError } from 'graphql';
import type { Context } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import { ApiKeyAuthenticator, type Principal } from '../tenancy/principal.ts';
import { credentialsOf, type Credential } from '../tenancy/live-operations.ts';
import { apiError, toGraphQLError } from '../graphql/errors.ts';
import type { Hub } from '../hub/hub.ts';
import { addressBehindProxies, authFailureGuard } from './auth-failures.ts';
import { isOwnOrigin, sessionCookiesOf, sessionCookieValue } from './session-cookies.ts';

const REVOKED_CLOSE_CODE = 4401;
const REVOKED_CLOSE_REASON = 'API key revoked';
const SESSION_ENDED_CLOSE_REASON = 'session ended';
const closeReason = (credential: Credential) => (credential.kind === 'browser_session' ? SESSION_ENDED_CLOSE_REASON : REVOKED_CLOSE_REASON);
const THROTTLED_CLOSE_CODE = 4429;

/** What a socket keeps about its authentication. */
export type SocketAuth = {
  /** The key it opened with, re-checked on each operation (through the authenticator's cache). */
  token?: string | null;
  /** Or the browser-session cookie it opened with (no key sent), re-resolved on each operation. */
  sessionCookie?: string;
  stopTracking?: () => void;
};

type SocketContext = Context<Record<string, unknown>, Extra & SocketAuth>;

const sessionEndedError = () => apiError('UNAUTHENTICATED', 'the session of this connection ended (signed out, or its setup link revoked or expired): sign in again');
const revokedError = () => apiError('UNAUTHENTICATED', 'the API key of this connection was revoked: connect again with a valid key');

/** onConnect: true when the key is valid; the socket is then closed if the key is revoked later. */
export async function authenticateSocket(hub: Hub, ctx: SocketContext): Promise<boolean> {
  const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
  const token = typeof raw === 'string' ? (ApiKeyAuthenticator.bearer(raw) ?? raw) : null;
  const { socket, request } = ctx.extra;
  const cookie = token === null ? sessionCookieValue(sessionCookiesOf(request.headers.cookie, hub.publicUrl)) : undefined;
  // A cookie authenticates only the hub's own pages. The upgrade's Origin check (server.ts) also
  // lets CORS_ALLOWED_ORIGINS in, but those pages hold keys of their own and are never given
  // credentials (src/http/cors.ts); browsers apply no CORS to WebSockets, so it is refused here.
  const origin = request.headers.origin;
  if (cookie !== undefined && origin !== undefined && !isOwnOrigin(origin, hub.publicUrl, request.headers.host)) return false;
  // The same per-address limit as HTTP: a socket is one more way to try keys.
  const guard = authFailureGuard(hub);
  const forwardedFor = request.headers['x-forwarded-for'];
  const address = addressBehindProxies(request.socket.remoteAddress, Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor, hub.config.authFailures.trustProxy);
  const wait = await guard.refusal('graphql-ws', address, token ?? cookie);
  if (wait !== null) {
    socket.close(THROTTLED_CLOSE_CODE, `too many failed authentications from this address; retry after ${wait} s`);
    return false;
  }
  const principal = cookie !== undefined ? await hub.browserSessions.resolve(cookie) : await hub.auth.authenticate(token);
  await guard.outcome('graphql-ws', address, token ?? cookie, principal !== null);
  // Closed while the key was looked up: nothing to track (its close event has passed).
  if (socket.readyState !== socket.OPEN) return false;
  ctx.extra.token = token;
  ctx.extra.sessionCookie = cookie;
  const credentials = credentialsOf(principal);
  if (credentials.length) {
    const stops = credentials.map((credential) => hub.credentials.track(credential, (ended) => socket.close(REVOKED_CLOSE_CODE, closeReason(ended))));
    ctx.extra.stopTracking = () => stops.forEach((stop) => stop());
    socket.once('close', () => ctx.extra.stopTracking?.());
  }
  return principal !== null;
}

/**
 * onSubscribe: the socket's key checked again before the operation runs. Returns the principal,
 * or errors for this operation (the socket is closed with 4401 when the key is no longer valid).
 */
export async function reauthenticateSocket(hub: Hub, ctx: SocketContext): Promise<{ principal: Principal } | { errors: GraphQLError[] }> {
  let principal: Principal | null;
  try {
    const cookie = ctx.extra.sessionCookie;
    principal = cookie !== undefined ? await hub.browserSessions.resolve(cookie) : await hub.auth.authenticate(ctx.extra.token ?? null);
  } catch (error) {
    // The database is unreachable (and the key not cached): this operation fails with UNAVAILABLE
    // as any other would; the socket stays open.
    const mapped = toGraphQLError(error);
    if (mapped instanceof GraphQLError) return { errors: [mapped] };
    throw error;
  }
  if (!principal) {
    const session = ctx.extra.sessionCookie !== undefined;
    ctx.extra.socket.close(REVOKED_CLOSE_CODE, session ? SESSION_ENDED_CLOSE_REASON : REVOKED_CLOSE_REASON);
    return { errors: [session ? sessionEndedError() : revokedError()] };
  }
  return { principal };
}
