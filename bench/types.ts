export interface BenchContext {
  /** The database under test: embedded PGlite, or PostgreSQL at `databaseUrl`. */
  database: 'pglite' | 'postgres';
  databaseUrl?: string;
  /** Smaller sizes (CI); full sizes otherwise. */
  quick: boolean;
  log(message: string): void;
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
