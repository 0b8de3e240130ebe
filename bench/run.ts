// `npm run bench` runs every benchmark on PGlite, and again on PostgreSQL when DATABASE_URL is set;
// prints a table (each figure with the issue's target and whether it is met) and writes
// bench/results/latest.json.
//   --quick            CI sizes (BENCH_QUICK=1 too)
//   --only <substring> run matching benchmarks only
//   --all              also the extra benchmarks (engine baseline, Clerk backfill)
// Each benchmark has a time limit (per database, set for full sizes on a quiet 2-core machine);
// past it the benchmark is aborted and reported as failed, and the run goes on with the next one.
// BENCH_TIME_SCALE=3 triples every limit (a slower or shared machine).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchmarks } from './index.ts';
import { databaseVersion } from './support.ts';
import { BenchAborted, type BenchContext, type Target } from './types.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const all = args.includes('--all');
const databaseUrl = process.env.DATABASE_URL || undefined;
const timeScale = Number(process.env.BENCH_TIME_SCALE ?? 1);
if (!(timeScale > 0)) throw new Error(`BENCH_TIME_SCALE must be a positive number, not ${process.env.BENCH_TIME_SCALE}`);

const onlyDatabase = args.includes('--database') ? args[args.indexOf('--database') + 1] : undefined;
if (onlyDatabase && !['pglite', 'postgres'].includes(onlyDatabase)) throw new Error(`--database takes pglite or postgres, not ${onlyDatabase}`);
if (onlyDatabase === 'postgres' && !databaseUrl) throw new Error('--database postgres needs DATABASE_URL=postgres://…');
const targets: Array<Pick<BenchContext, 'database' | 'databaseUrl'>> = [{ database: 'pglite' }];
if (databaseUrl) targets.push({ database: 'postgres', databaseUrl });
if (onlyDatabase) targets.splice(0, targets.length, ...targets.filter((t) => t.database === onlyDatabase));

interface TargetResult extends Target {
  actual: number | null;
  met: boolean | null;
}
interface Row {
  benchmark: string;
  database: string;
  metrics?: Record<string, number>;
  params?: Record<string, unknown>;
  notes?: string;
  targets: TargetResult[];
  error?: string;
  /** Figures measured before the time limit stopped the benchmark (sizes smaller than asked). */
  partial?: { metrics: Record<string, number>; params?: Record<string, unknown> };
  seconds: number;
}

function evaluate(list: Target[] | undefined, database: string, metrics: Record<string, number> | undefined): TargetResult[] {
  return (list ?? [])
    .filter((t) => !t.databases || t.databases.includes(database as BenchContext['database']))
    .map((t) => {
      const actual = metrics?.[t.metric];
      if (actual === undefined || Number.isNaN(actual)) return { ...t, actual: null, met: null };
      return { ...t, actual, met: t.op === '<=' ? actual <= t.value : actual >= t.value };
    });
}

const results: Row[] = [];
const databases: Record<string, string> = {};
const secondsPerDatabase: Record<string, number> = {};
const started = Date.now();
for (const target of targets) {
  const databaseStarted = Date.now();
  databases[target.database] = await databaseVersion(target.databaseUrl).catch((error: Error) => `unknown (${error.message})`);
  for (const bench of benchmarks) {
    if (only && !bench.name.includes(only)) continue;
    if (bench.extra && !all && !only) continue;
    if (bench.databases && !bench.databases.includes(target.database)) continue;
    const t0 = performance.now();
    const limitSeconds = Math.round(bench.timeLimitSeconds * timeScale);
    process.stdout.write(`\n▶ ${bench.name} [${target.database}]${quick ? ' (quick)' : ''} (limit ${limitSeconds} s)\n`);
    const controller = new AbortController();
    const running = bench.run({ ...target, quick, signal: controller.signal, log: (m) => process.stdout.write(`  ${m}\n`) });
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const message = `exceeded its time limit of ${limitSeconds} s: aborted (a slower or busy machine: BENCH_TIME_SCALE=2 doubles the limits; see docs/performance.md)`;
        controller.abort(message);
        reject(new Error(message));
      }, limitSeconds * 1000);
    });
    try {
      const result = await Promise.race([running, overrun]);
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      results.push({ benchmark: bench.name, database: target.database, ...result, targets: evaluate(bench.targets, target.database, result.metrics), seconds });
      process.stdout.write(`  ${Object.entries(result.metrics).map(([k, v]) => `${k}=${v}`).join('  ')}\n`);
    } catch (error) {
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      // undici's "fetch failed" keeps the reason (ECONNRESET, ECONNREFUSED…) in `cause`.
      const cause = (error as Error).cause ? ` (cause: ${String((error as Error).cause)})` : '';
      results.push({ benchmark: bench.name, database: target.database, targets: evaluate(bench.targets, target.database, undefined), error: `${(error as Error).stack ?? String(error)}${cause}`, seconds });
      process.stdout.write(`  FAILED: ${(error as Error).message}${cause}\n`);
      // Let an aborted benchmark stop its load and its hub before the next one starts (bounded),
      // and keep what it measured until then.
      const settled = await Promise.race([running.then(() => null, (e: unknown) => e), new Promise((r) => setTimeout(r, 60_000).unref())]);
      if (settled instanceof BenchAborted) {
        results.at(-1)!.partial = { metrics: settled.partial.metrics, params: settled.partial.params };
        process.stdout.write(`  partial (until the limit): ${Object.entries(settled.partial.metrics).map(([k, v]) => `${k}=${v}`).join('  ')}\n`);
      }
    } finally {
      clearTimeout(timer);
    }
  }
  secondsPerDatabase[target.database] = Math.round((Date.now() - databaseStarted) / 1000);
}

function memoryInfo(): string {
  try {
    const kb = Number(/MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    return `${(kb / 2 ** 20).toFixed(1)} GiB`;
  } catch {
    return `${(totalmem() / 2 ** 30).toFixed(1)} GiB`;
  }
}
function os(): string {
  try {
    return /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? process.platform;
  } catch {
    return process.platform;
  }
}
function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: import.meta.dirname, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const machine = { cpuModel: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory: memoryInfo(), os: os(), node: process.version, databases };
const allTargets = results.flatMap((r) => r.targets.map((t) => ({ benchmark: r.benchmark, database: r.database, ...t })));
const report = {
  startedAt: new Date(started).toISOString(),
  durationSeconds: Math.round((Date.now() - started) / 1000),
  secondsPerDatabase,
  quick,
  timeScale,
  commit: gitCommit(),
  machine,
  targets: allTargets,
  results,
};
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);

// The table: every figure; a figure the issue sets a target for shows it and whether it is met.
const verdict = (t: TargetResult) => `${t.op === '<=' ? '≤' : '≥'} ${t.value}: ${t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED'}`;
const rows = results.flatMap((r) =>
  r.metrics
    ? Object.entries(r.metrics).map(([k, v]) => {
        const t = r.targets.find((x) => x.metric === k);
        return [r.benchmark, r.database, k, String(v), t ? verdict(t) : ''];
      })
    : [
        [r.benchmark, r.database, 'ERROR', r.error?.split('\n')[0] ?? '', ''],
        ...Object.entries(r.partial?.metrics ?? {}).map(([k, v]) => [r.benchmark, r.database, `${k} (partial)`, String(v), '']),
      ],
);
const headers = ['benchmark', 'database', 'metric', 'value', 'target'];
const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd();
process.stdout.write(`\n${line(headers)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
for (const row of rows) process.stdout.write(`${line(row)}\n`);
process.stdout.write('\nTargets (issue 6):\n');
for (const t of allTargets) process.stdout.write(`  ${t.met === null ? '?' : t.met ? '✓' : '✗'} ${t.label} [${t.database}]: ${t.actual ?? 'not measured'}\n`);
process.stdout.write(
  `\nMachine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memory} RAM, ${machine.os}, Node ${machine.node}; ${Object.entries(databases).map(([k, v]) => `${k}: ${v}`).join('; ')}\n`,
);
process.stdout.write(
  `Duration: ${Object.entries(secondsPerDatabase).map(([k, v]) => `${k} ${v} s`).join(', ')} (issue: the whole run under 10 minutes on a 2-core machine, full sizes)\n`,
);
process.stdout.write(`Wrote bench/results/latest.json (${report.durationSeconds} s)\n`);
// A missed target is a figure, not a failure; a benchmark that failed or overran is.
process.exit(results.some((r) => r.error) ? 1 : 0);
