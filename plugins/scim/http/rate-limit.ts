// Per-connection rate limit: a steady rate plus a reserve large enough for a first sync (an
// identity provider pushing every user and membership at once), then 429 with Retry-After.
// rate-limiter-flexible's BurstyRateLimiter: the per-second limiter first, the reserve when it is
// spent; the reserve refills over burst / rate seconds. In memory, so per instance.
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateLimitSettings {
  requestsPerSecond: number;
  burst: number;
}

export class ConnectionRateLimits {
  private readonly limiters = new Map<string, { key: string; limiter: BurstyRateLimiter | RateLimiterMemory }>();

  private limiterFor(connectionId: string, settings: RateLimitSettings) {
    const key = `${settings.requestsPerSecond}/${settings.burst}`;
    const existing = this.limiters.get(connectionId);
    if (existing?.key === key) return existing.limiter;
    const steady = new RateLimiterMemory({ points: settings.requestsPerSecond, duration: 1, keyPrefix: `scim-${connectionId}` });
    const limiter = settings.burst > 0
      ? new BurstyRateLimiter(steady, new RateLimiterMemory({ points: settings.burst, duration: Math.max(1, Math.ceil(settings.burst / settings.requestsPerSecond)), keyPrefix: `scim-burst-${connectionId}` }))
      : steady;
    this.limiters.set(connectionId, { key, limiter });
    return limiter;
  }

  /** null when the request may proceed; otherwise the whole seconds to wait (at least 1). */
  async take(connectionId: string, settings: RateLimitSettings): Promise<number | null> {
    try {
      await this.limiterFor(connectionId, settings).consume(connectionId);
      return null;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw rejection;
    }
  }
}
