export interface BenchContext {
  /** The database under test: embedded PGlite, or PostgreSQL at `databaseUrl`. */
  database: 'pglite' | 'postgres';
  databaseUrl?: string;
  /** Smaller sizes (CI); full sizes otherwise. */
  quick: boolean;
  log(message: string): void;
  /** Aborted when the benchmark exceeds its time limit: stop sending load and clean up. */
  signal: AbortSignal;
}

/** A figure the issue sets: `metric` `op` `value`, on the listed databases (default all). */
export interface Target {
  metric: string;
  op: '<=' | '>=';
  value: number;
  databases?: Array<BenchContext['database']>;
  /** How the issue words it, e.g. "deprovision p99 ≤ 20 ms on PostgreSQL". */
  label: string;
}

export interface BenchResult {
  /** Figures, named with their unit: { "writes_per_s": 2150, "p99_ms": 41 }. */
  metrics: Record<string, number>;
  /** Sizes actually used, and anything a reader needs to interpret the figures. */
  params?: Record<string, number | string | boolean>;
  notes?: string;
}

export interface Benchmark {
  name: string;
  /** Which databases it runs on (default both). */
  databases?: Array<BenchContext['database']>;
  /** Not one of the figures: runs with `--all` or a matching `--only`, so the default run stays short. */
  extra?: boolean;
  /** Wall-clock cap per database (full sizes); the run fails clearly beyond it. */
  timeLimitSeconds: number;
  /** The targets for this benchmark's figures. */
  targets?: Target[];
  run(ctx: BenchContext): Promise<BenchResult>;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function summarize(latenciesMs: number[]) {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return { p50_ms: round(percentile(sorted, 50)), p95_ms: round(percentile(sorted, 95)), p99_ms: round(percentile(sorted, 99)), max_ms: round(sorted.at(-1) ?? Number.NaN) };
}

/** A benchmark stopped at its time limit, with the figures of what it measured until then. */
export class BenchAborted extends Error {
  constructor(message: string, readonly partial: BenchResult) {
    super(message);
  }
}

/** Throws once the benchmark's time limit has passed (call it inside load loops). */
export function checkTime(signal: AbortSignal): void {
  if (signal.aborted) throw new Error(String(signal.reason ?? 'time limit exceeded'));
}
