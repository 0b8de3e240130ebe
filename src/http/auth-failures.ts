// Failed authentications per client address: a wrong or missing SCIM token, GraphQL API key (over
// HTTP or when a graphql-ws socket opens) or webhook signature counts against the address it came from; past AUTH_FAILURES_PER_ADDRESS in
// AUTH_FAILURE_WINDOW_SECONDS the address is answered 429 with Retry-After (in each protocol's error
// format) until the window ends, without its credentials being checked, so tokens cannot be probed
// at speed. rate-limiter-flexible's in-memory limiter (as the SCIM per-connection limit): per
// instance, so N instances allow N times the limit, still far too few guesses for a 238-bit token.
//
// The trade-off for a legitimate identity provider sharing an address with an attacker (one NAT,
// one cloud egress): once the address is throttled, a request is refused without looking at its
// credentials, or the 429-versus-200 answer would itself tell a right guess. A token that
// authenticated here within the last hour is the exception: its digest is remembered, and a request
// presenting it is served as usual (presenting it proves having it; a guess never matches). So an
// IdP already syncing keeps working through someone else's failures; only one that has not
// authenticated recently waits out the window. Webhooks carry no token to remember: a throttled
// sender (Svix, WorkOS) retries later with backoff, so its deliveries are delayed, not lost.
//
// Client address (TRUST_PROXY): by default the socket's peer, since X-Forwarded-For is whatever the
// client wrote. Behind N proxies you run, TRUST_PROXY=N takes the address the Nth proxy saw: the
// Nth entry from the right of X-Forwarded-For, each proxy having appended its peer. IPv6 addresses
// count per /64 (one host usually holds a whole /64).
import { isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import ipaddr from 'ipaddr.js';
import { Counter } from 'prom-client';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { ApiKeyAuthenticator } from '../tenancy/principal.ts';
import type { Hub } from '../hub/hub.ts';
import { METRIC_PREFIX, type HubMetrics } from '../observability/metrics.ts';
import { hashSecret } from '../secrets/index.ts';

export interface AuthFailureSettings {
  /** TRUST_PROXY: proxies of yours in front of the hub (0: the socket's address is the client's). */
  trustProxy: number;
  /** AUTH_FAILURES_PER_ADDRESS: failed authentications an address may make per window. */
  failuresPerAddress: number;
  /** AUTH_FAILURE_WINDOW_SECONDS */
  windowSeconds: number;
}

/** Where refused authentications are counted: a fixed set, never a value from the request. */
export type AuthEndpoint = 'scim' | 'graphql' | 'graphql-ws' | 'webhook';

/** How long a token that authenticated keeps its address's throttle from applying to it. */
const REMEMBER_MS = 60 * 60 * 1000;
const REMEMBER_MAX = 10_000;

/** The client's address, as TRUST_PROXY says to read it. */
export function clientAddress(c: Context, trustProxy: number): string {
  return addressBehindProxies(getConnInfo(c).remote.address, c.req.header('x-forwarded-for'), trustProxy);
}

/** The same for a request outside Hono (the graphql-ws upgrade): its socket's peer and X-Forwarded-For. */
export function addressBehindProxies(peer: string | undefined, forwardedFor: string | undefined, trustProxy: number): string {
  const socket = peer ?? 'unknown';
  if (trustProxy <= 0) return socket;
  const chain = [...(forwardedFor ?? '').split(',').map((h) => h.trim()).filter(Boolean), socket];
  const seen = chain[chain.length - 1 - trustProxy] ?? chain[0]!;
  return isIP(seen) ? seen : socket;
}

/** The key an address is limited by: IPv4 (and IPv4-mapped IPv6) as is, IPv6 by its /64. */
export function limitKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(':')}::/64`;
}

export class AuthFailureGuard {
  private readonly limiter: RateLimiterMemory;
  private readonly authenticated = new Map<string, number>();
  private readonly counter: Counter<'endpoint' | 'outcome'>;

  constructor(private readonly settings: AuthFailureSettings, metrics: HubMetrics) {
    this.limiter = new RateLimiterMemory({ points: settings.failuresPerAddress, duration: settings.windowSeconds, keyPrefix: 'auth-failures' });
    this.counter = new Counter({
      name: `${METRIC_PREFIX}auth_failures_total`,
      help: 'Requests refused for their credentials (outcome "refused": wrong or missing token, key or signature) or refused unchecked because their address failed too often (outcome "throttled"), by endpoint.',
      labelNames: ['endpoint', 'outcome'] as const,
      registers: [metrics.registry],
    });
  }

  /** Seconds until the address may try again, or null when it may now. */
  private async throttledFor(key: string): Promise<number | null> {
    const state = await this.limiter.get(key);
    if (!state || state.consumedPoints < this.settings.failuresPerAddress) return null;
    return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
  }

  private recentlyAuthenticated(digest: string): boolean {
    const until = this.authenticated.get(digest);
    return until !== undefined && until > Date.now();
  }

  private remember(digest: string) {
    this.authenticated.delete(digest);
    if (this.authenticated.size >= REMEMBER_MAX) this.authenticated.delete(this.authenticated.keys().next().value!);
    this.authenticated.set(digest, Date.now() + REMEMBER_MS);
  }

  /**
   * Before checking a credential: seconds the address must wait (it failed too often), or null to
   * go on. A token that authenticated recently is let through whatever its address did.
   */
  async refusal(endpoint: AuthEndpoint, address: string, token: string | null | undefined): Promise<number | null> {
    const digest = this.digest(token);
    if (digest && this.recentlyAuthenticated(digest)) return null;
    const wait = await this.throttledFor(limitKey(address));
    if (wait !== null) this.counter.inc({ endpoint, outcome: 'throttled' });
    return wait;
  }

  /** After checking it: a refusal counts against the address; a success remembers the token. */
  async outcome(endpoint: AuthEndpoint, address: string, token: string | null | undefined, authenticated: boolean): Promise<void> {
    if (!authenticated) {
      this.counter.inc({ endpoint, outcome: 'refused' });
      // Rejects once the address is over the limit: the next request finds it throttled.
      await this.limiter.consume(limitKey(address)).catch(() => {});
      return;
    }
    const digest = this.digest(token);
    if (digest) this.remember(digest);
  }

  private digest(token: string | null | undefined): string | null {
    return token && token.length <= 512 ? hashSecret(token) : null;
  }

  /**
   * Middleware for one endpoint: `failed(status)` tells a refused authentication from the answer's
   * status; `answer` writes the 429 in the endpoint's protocol.
   */
  middleware(
    endpoint: AuthEndpoint,
    failed: (status: number) => boolean,
    answer: (c: Context, retryAfterSeconds: number) => Response,
    /** The secret the request presents (default: its bearer token); one that authenticated recently is not throttled. */
    presented: (c: Context) => string | null = (c) => ApiKeyAuthenticator.bearer(c.req.header('authorization')),
  ): MiddlewareHandler {
    return async (c, next) => {
      const address = clientAddress(c, this.settings.trustProxy);
      const token = presented(c);
      const wait = await this.refusal(endpoint, address, token);
      if (wait !== null) {
        const response = answer(c, wait);
        response.headers.set('Retry-After', String(wait));
        return response;
      }
      await next();
      const status = c.res.status;
      if (failed(status)) await this.outcome(endpoint, address, token, false);
      else if (status < 400) await this.outcome(endpoint, address, token, true);
    };
  }
}

// One per hub: the SCIM endpoints (through ConnectorHub) and the app's routes share its counts.
const guards = new WeakMap<Hub, AuthFailureGuard>();

export function authFailureGuard(hub: Hub): AuthFailureGuard {
  let guard = guards.get(hub);
  if (!guard) guards.set(hub, (guard = new AuthFailureGuard(hub.config.authFailures, hub.metrics)));
  return guard;
}
