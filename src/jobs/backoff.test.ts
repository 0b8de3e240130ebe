// backoffDelay: the numbers each caller relies on, with the random factor pinned.
import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

const low = () => 0;
const high = () => 1 - Number.EPSILON;
const mid = () => 0.5;

describe('backoffDelay', () => {
  it('grows by the factor from the base, up to the cap', () => {
    const policy = { baseMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect([1, 2, 3].map((n) => backoffDelay(n, { baseMs: 25, factor: 4 }))).toEqual([25, 100, 400]);
    // Retry 0 or less is treated as the first.
    expect(backoffDelay(0, policy)).toBe(100);
  });

  it('spreads the delay by the jitter range, after the cap', () => {
    const policy = { baseMs: 2_000, maxMs: 900_000, jitter: [0.8, 1.2] as const };
    expect(backoffDelay(1, policy, low)).toBe(1_600);
    expect(backoffDelay(1, policy, mid)).toBe(2_000);
    expect(backoffDelay(1, policy, high)).toBe(2_400);
    expect(backoffDelay(20, policy, high)).toBe(1_080_000);
    expect(backoffDelay(3, { baseMs: 10, jitter: [0, 1] }, low)).toBe(0);
  });

  it("keeps the engine's serialization-retry numbers: min(2 s, 25 ms · 4^n) · [0.5, 1.5)", () => {
    const engine = { baseMs: 25, factor: 4, maxMs: 2_000, jitter: [0.5, 1.5] as const };
    for (const random of [low, mid, high, Math.random]) {
      for (let attempt = 0; attempt < 6; attempt++) {
        const r = random();
        expect(backoffDelay(attempt + 1, engine, () => r)).toBe(Math.round(Math.min(2_000, 25 * 4 ** attempt) * (0.5 + r)));
      }
    }
  });

  it('draws a new random factor each time by default', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(1, { baseMs: 10_000, jitter: [0, 1] })));
    expect(delays.size).toBeGreaterThan(1);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(0);
    for (const d of delays) expect(d).toBeLessThanOrEqual(10_000);
  });

  it("follows an explicit schedule (Svix's webhook retries), repeating its last step, jittered", () => {
    const svix = { baseMs: 0, schedule: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000], jitter: [0.8, 1.2] as const };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, svix, mid))).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000, 36_000_000]);
    expect(backoffDelay(1, svix, low)).toBe(4_000);
    expect(backoffDelay(1, svix, high)).toBe(6_000);
  });
});
