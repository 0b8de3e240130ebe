// PeriodicTask on fake timers: one run at a time, wake, stop that awaits, errors logged.
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeriodicTask, type PeriodicTaskOptions } from './periodic.ts';

/** A task whose runs each wait for release(), counted, with the log lines it wrote. */
function task(options: Partial<PeriodicTaskOptions> & { fail?: (n: number) => boolean } = {}) {
  const lines: Array<Record<string, any>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const state = { runs: 0, inFlight: 0, maxInFlight: 0, signals: [] as AbortSignal[], releases: [] as Array<() => void> };
  const periodic = new PeriodicTask({
    name: 'test job',
    logger,
    intervalMs: 1_000,
    async run(signal) {
      const n = ++state.runs;
      state.signals.push(signal);
      state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
      try {
        await new Promise<void>((resolve) => state.releases.push(resolve));
        if (options.fail?.(n)) throw new Error(`run ${n} broke`);
      } finally {
        state.inFlight--;
      }
    },
    ...options,
  });
  const release = () => state.releases.shift()!();
  return { periodic, state, lines, release };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('PeriodicTask', () => {
  it('runs at start, then every interval after a run ends', async () => {
    const { periodic, state, release } = task({ firstRunAfterMs: 500 });
    periodic.start();
    await vi.advanceTimersByTimeAsync(499);
    expect(state.runs).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(state.runs).toBe(1);
    // A run that takes long delays the next: the interval counts from its end.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(state.runs).toBe(1);
    release();
    await vi.advanceTimersByTimeAsync(999);
    expect(state.runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(state.runs).toBe(2);
    release();
    await periodic.stop();
  });

  it('sleeps for what a run returns', async () => {
    const runs: number[] = [];
    const periodic = new PeriodicTask({ name: 'returns', logger: pino({ level: 'silent' }), intervalMs: 10_000, run: async () => {
        runs.push(Date.now());
        return 50;
      },
    });
    periodic.start();
    await vi.advanceTimersByTimeAsync(160);
    expect(runs.map((at) => at - runs[0]!)).toEqual([0, 50, 100, 150]);
    await periodic.stop();
  });

  it('single flight: wakes during a run cause exactly one more run, right after it', async () => {
    const { periodic, state, release } = task();
    periodic.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(state.runs).toBe(1);
    periodic.wake();
    periodic.wake();
    periodic.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(state.runs).toBe(1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(state.runs).toBe(2);
    release();
    // The three wakes were one: the next run is the interval's.
    await vi.advanceTimersByTimeAsync(999);
    expect(state.runs).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(state.runs).toBe(3);
    expect(state.maxInFlight).toBe(1);
    release();
    await periodic.stop();
  });

  it('a wake while idle runs at once instead of at the interval', async () => {
    const { periodic, state, release } = task();
    periodic.start();
    await vi.advanceTimersByTimeAsync(0);
    release();
    await vi.advanceTimersByTimeAsync(100);
    expect(state.runs).toBe(1);
    periodic.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(state.runs).toBe(2);
    release();
    await periodic.stop();
  });

  it('stop() aborts the run signal and resolves only when the run in progress has finished', async () => {
    const { periodic, state, release } = task();
    periodic.start();
    await vi.advanceTimersByTimeAsync(0);
    let stopped = false;
    const stopping = periodic.stop().then(() => (stopped = true));
    expect(state.signals[0]!.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    expect(state.inFlight).toBe(0);
  });

  it('logs a run that throws and carries on at the next interval', async () => {
    const { periodic, state, lines, release } = task({ fail: (n) => n === 1 });
    periodic.start();
    await vi.advanceTimersByTimeAsync(0);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, job: 'test job', err: { message: 'run 1 broke' } });
    expect(lines[0]!.msg).toMatch(/^test job: the run failed; trying again in 1000 ms/);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(state.runs).toBe(2);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(lines).toHaveLength(1);
    await periodic.stop();
  });

  it('never runs after stop: not at the interval, not on a wake, not for a wake during the last run', async () => {
    const { periodic, state, release } = task();
    periodic.start();
    await vi.advanceTimersByTimeAsync(0);
    periodic.wake();
    const stopping = periodic.stop();
    release();
    await stopping;
    periodic.wake();
    periodic.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(state.runs).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does nothing before start', async () => {
    const { periodic, state } = task();
    periodic.wake();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(state.runs).toBe(0);
    await periodic.stop();
  });
});
