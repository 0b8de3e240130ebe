// Which browser origins may call the GraphQL API from another origin (CORS_ALLOWED_ORIGINS).
//
// Default: none. Same-origin pages (GraphiQL at /graphql) need no CORS headers, and no other origin
// gets any: its page cannot read an answer. A listed origin may send GET and POST (queries,
// mutations, SSE subscriptions) with any request header, Authorization included; credentials
// (cookies, HTTP auth) are never allowed: the hub authenticates with API keys in a header only, so
// a listed page holds a key of its own and nothing ambient is ever sent for it.
//
// Browsers apply no CORS to WebSockets: they send Origin, and the upgrade is refused unless it is
// the hub's own origin, a listed one, or absent (server-side clients send none).
import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/** True for an origin written the way a browser sends it: scheme://host[:port], lower case, no path. */
export function isExactOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

/** CORS for /graphql: hono's middleware for listed origins, nothing at all for the others. */
export function graphqlCors(allowedOrigins: readonly string[]): MiddlewareHandler {
  const allowed = new Set(allowedOrigins);
  const forListed = cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: ['GET', 'POST'],
    // Empty: the headers a preflight asks for are allowed (the origin is trusted).
    allowHeaders: [],
    exposeHeaders: ['X-Request-Id', 'Retry-After'],
    maxAge: 600,
    credentials: false,
  });
  return async (c, next) => {
    if (allowed.has(c.req.header('origin') ?? '')) return forListed(c, next);
    await next();
    // The answer depends on Origin (only listed ones get CORS headers): caches must not mix them.
    if (allowed.size) c.header('Vary', 'Origin', { append: true });
  };
}

/** For a WebSocket upgrade: no Origin (not a browser), the hub's own origin, or a listed one. */
export function allowsWebSocketOrigin(request: IncomingMessage, allowedOrigins: readonly string[], publicUrl: string): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowedOrigins.includes(origin) || origin === new URL(publicUrl).origin) return true;
  // Same origin as the address the browser connected to (GraphiQL served by this instance).
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
