// `npm run bench` runs every benchmark on PGlite, and again on PostgreSQL when DATABASE_URL is set;
// prints a table and writes bench/results/latest.json.
//   --quick            CI sizes
//   --only <substring> run matching benchmarks only
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchmarks } from './index.ts';
import type { BenchContext } from './types.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const databaseUrl = process.env.DATABASE_URL;

const targets: Array<Pick<BenchContext, 'database' | 'databaseUrl'>> = [{ database: 'pglite' }];
if (databaseUrl) targets.push({ database: 'postgres', databaseUrl });

const results: Array<{ benchmark: string; database: string; metrics?: Record<string, number>; params?: Record<string, unknown>; notes?: string; error?: string; seconds: number }> = [];
const started = Date.now();
for (const target of targets) {
  for (const bench of benchmarks) {
    if (only && !bench.name.includes(only)) continue;
    if (bench.databases && !bench.databases.includes(target.database)) continue;
    const t0 = performance.now();
    process.stdout.write(`\n▶ ${bench.name} [${target.database}]${quick ? ' (quick)' : ''}\n`);
    try {
      const result = await bench.run({ ...target, quick, log: (m) => process.stdout.write(`  ${m}\n`) });
      results.push({ benchmark: bench.name, database: target.database, ...result, seconds: Math.round((performance.now() - t0) / 100) / 10 });
      process.stdout.write(`  ${Object.entries(result.metrics).map(([k, v]) => `${k}=${v}`).join('  ')}\n`);
    } catch (error) {
      results.push({ benchmark: bench.name, database: target.database, error: (error as Error).stack ?? String(error), seconds: Math.round((performance.now() - t0) / 100) / 10 });
      process.stdout.write(`  FAILED: ${(error as Error).message}\n`);
    }
  }
}

const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform };
const report = { startedAt: new Date(started).toISOString(), durationSeconds: Math.round((Date.now() - started) / 1000), quick, machine, results };
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);

const rows = results.flatMap((r) => (r.metrics ? Object.entries(r.metrics).map(([k, v]) => [r.benchmark, r.database, k, String(v)]) : [[r.benchmark, r.database, 'ERROR', r.error?.split('\n')[0] ?? '']]));
const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length), ['benchmark', 'database', 'metric', 'value'][i]!.length));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
process.stdout.write(`\n${line(['benchmark', 'database', 'metric', 'value'])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
for (const row of rows) process.stdout.write(`${line(row)}\n`);
process.stdout.write(`\nWrote bench/results/latest.json (${report.durationSeconds} s, ${machine.cpus} cores, ${machine.cpuModel})\n`);
process.exit(results.some((r) => r.error) ? 1 : 0);
