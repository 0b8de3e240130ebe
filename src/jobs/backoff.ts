// The one backoff formula: how long to wait before retry n. Used by the revocation job (persisted as
// next_attempt_at), the webhook deliveries (a schedule), the engine's serialization retries, a
// backfill page's retries and SCIM PATCH version races; each names its numbers where it calls this.
//
// Hand-written (a few lines): the retry libraries wrap a function in their own retry loop
// (p-retry, exponential-backoff), which the revocation job cannot use (its retries are rows due
// later, across restarts and instances), and their jitter is fixed to one shape (`retry`, under
// p-retry: a factor in [1, 2); exponential-backoff: full jitter), while the engine's retry keeps
// its ±50 % and the revocation job its ±20 %.

export interface BackoffPolicy {
  /** Delay before the first retry. */
  baseMs: number;
  /** Growth per further retry (default 2: doubling). */
  factor?: number;
  /** Most delay, before jitter (default none). */
  maxMs?: number;
  /**
   * The delay is multiplied by a random number in [low, high) so that many retries at once spread
   * out: [0.8, 1.2] is ±20 %, [0, 1] is "full jitter". Default none.
   */
  jitter?: readonly [low: number, high: number];
  /**
   * Explicit delays before retries 1, 2, … (the last repeats), instead of baseMs · factor^(n-1): for
   * a published schedule such as Svix's webhook retries (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
   */
  schedule?: readonly number[];
}

/** Milliseconds (whole) to wait before retry `retry` (1: the first retry, after the first failure). */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const { baseMs, factor = 2, maxMs = Infinity, jitter, schedule } = policy;
  const n = Math.max(1, retry);
  const delay = Math.min(maxMs, schedule?.length ? schedule[Math.min(n, schedule.length) - 1]! : baseMs * factor ** (n - 1));
  const spread = jitter ? jitter[0] + random() * (jitter[1] - jitter[0]) : 1;
  return Math.round(delay * spread);
}

/** Resolves after the backoff delay of retry `retry`. */
export const backoffSleep = (retry: number, policy: BackoffPolicy): Promise<void> => new Promise((resolve) => setTimeout(resolve, backoffDelay(retry, policy)));
