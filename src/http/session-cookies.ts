// The browser-session cookies (console and setup, src/tenancy/browser-sessions.ts) and the CSRF
// rule for requests they authenticate. Parsing and serializing are the `cookie` package's.
//
// Attributes, per kind:
// - both HttpOnly (no script reads them), Path=/, Secure whenever the browser allows it: an https
//   PUBLIC_URL, or localhost, which browsers treat as a secure origin over plain http too. With
//   https the names carry the __Host- prefix, so no subdomain can set or shadow them.
// - console: SameSite=Strict. The console is the hub's own top-level page; no other site has any
//   reason to send its cookie, so none can (CSRF's first line).
// - setup: SameSite=None; Partitioned. The portal runs embedded in an iframe on the SaaS's own site
//   (a third-party context): Strict or Lax cookies are not sent there, and browsers that block
//   third-party cookies still keep a Partitioned (CHIPS) one, stored per top-level site. None needs
//   Secure: on a plain-http non-localhost hub the setup cookie falls back to Lax, and embedding
//   then does not work (serve the hub over https).
// Either way a cookie is not enough to act: cookie-authenticated requests must carry
// `x-lifecycle-hub-csrf: 1` (a header no other site's page can add without a CORS preflight the hub
// refuses) and, when the browser sends Origin, come from the hub's own origin or a listed one.
import { parse, serialize, type SerializeOptions } from 'cookie';

export type SessionCookieKind = 'console' | 'setup';

export const CSRF_HEADER = 'x-lifecycle-hub-csrf';

const LOCALHOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|.+\.localhost)$/i;

export function cookiePolicy(publicUrl: string) {
  const url = new URL(publicUrl);
  const https = url.protocol === 'https:';
  const secure = https || LOCALHOST.test(url.hostname);
  const prefix = https ? '__Host-' : '';
  return {
    names: { console: `${prefix}lh-console`, setup: `${prefix}lh-setup` } satisfies Record<SessionCookieKind, string>,
    options(kind: SessionCookieKind): SerializeOptions {
      const base: SerializeOptions = { httpOnly: true, path: '/', secure };
      if (kind === 'console') return { ...base, sameSite: 'strict' };
      return secure ? { ...base, sameSite: 'none', partitioned: true } : { ...base, sameSite: 'lax' };
    },
  };
}

/** Set-Cookie for a new session, expiring with it. */
export function sessionCookie(publicUrl: string, kind: SessionCookieKind, value: string, expiresAt: Date): string {
  const policy = cookiePolicy(publicUrl);
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  return serialize(policy.names[kind], value, { ...policy.options(kind), maxAge });
}

/** Set-Cookie that removes the cookie (sign-out, or starting a session of the other kind). */
export function clearedSessionCookie(publicUrl: string, kind: SessionCookieKind): string {
  const policy = cookiePolicy(publicUrl);
  return serialize(policy.names[kind], '', { ...policy.options(kind), maxAge: 0 });
}

/** The session cookies a request carries. */
export function sessionCookiesOf(cookieHeader: string | null | undefined, publicUrl: string): Partial<Record<SessionCookieKind, string>> {
  if (!cookieHeader) return {};
  const { names } = cookiePolicy(publicUrl);
  const cookies = parse(cookieHeader);
  const found: Partial<Record<SessionCookieKind, string>> = {};
  if (cookies[names.console]) found.console = cookies[names.console];
  if (cookies[names.setup]) found.setup = cookies[names.setup];
  return found;
}

/**
 * The cookie that authenticates the request. Both arrive when an operator opened a setup link in
 * the browser they run the console in (starting either session clears the other, but a browser may
 * keep both): the setup one wins, the least privileged.
 */
export function sessionCookieValue(cookies: Partial<Record<SessionCookieKind, string>>): string | undefined {
  return cookies.setup ?? cookies.console;
}

/** The hub's own origin: PUBLIC_URL's, or the address the browser reached this instance at (its pages are served from it). */
export function isOwnOrigin(origin: string, publicUrl: string, host: string | null | undefined): boolean {
  if (origin === new URL(publicUrl).origin) return true;
  try {
    return !!host && new URL(origin).host === host;
  } catch {
    // Not an origin at all ("null" from a sandboxed frame).
    return false;
  }
}

/** Why a cookie-authenticated request is refused as a possible cross-site request, or null to serve it. */
export function csrfRefusal(headers: { get(name: string): string | null }, publicUrl: string, allowedOrigins: readonly string[]): string | null {
  if (headers.get(CSRF_HEADER) !== '1') return `requests authenticated by a session cookie must carry the header ${CSRF_HEADER}: 1`;
  const origin = headers.get('origin');
  if (origin === null || allowedOrigins.includes(origin) || isOwnOrigin(origin, publicUrl, headers.get('host'))) return null;
  return `requests authenticated by a session cookie must come from this hub's own pages, not from ${origin.slice(0, 200)}`;
}

/** What a browser's request (no Authorization header) authenticates with: its session cookie, or why the CSRF rule refuses it. */
export type BrowserCredential = { cookie: string | undefined } | { refusal: string };

/**
 * For the routes a browser of ours calls (/graphql, the audit downloads): null for an API client
 * (Authorization sent, or neither a session cookie nor the CSRF header of a page about to sign
 * in), else the cookie once the CSRF rule passes. One place, so every cookie-authenticated route
 * applies the same rule.
 */
export function browserCredential(headers: { get(name: string): string | null; has(name: string): boolean }, publicUrl: string, allowedOrigins: readonly string[]): BrowserCredential | null {
  if (headers.get('authorization') !== null) return null;
  const cookie = sessionCookieValue(sessionCookiesOf(headers.get('cookie'), publicUrl));
  if (cookie === undefined && !headers.has(CSRF_HEADER)) return null;
  const refusal = csrfRefusal(headers, publicUrl, allowedOrigins);
  return refusal ? { refusal } : { cookie };
}
