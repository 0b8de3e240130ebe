// Spawns test/support/serve-hub.ts as a separate process (multi-instance tests, HTTP benchmarks), bundled
// and run the way `npm start` runs the hub (scripts/build.ts), so what they measure is what ships.
import { spawn, type ChildProcess } from 'node:child_process';
import { startCommand } from '../../scripts/build.ts';
import type { SeededOrganization } from './serve-hub.ts';

let built: Promise<string[]> | undefined;
/** Built once per process: every hub it spawns runs the same bundle. */
const serveHubCommand = () => (built ??= startCommand({ entry: 'test/support/serve-hub.ts', outfile: 'dist/serve-hub.js' }));

export interface HubProcess {
  url: string;
  pid: number;
  /** With BENCH_STATS=1: a 127.0.0.1 URL answering { statements, rssBytes, recent } (benchmarks only). */
  statsUrl?: string;
  organizations: SeededOrganization[];
  child: ChildProcess;
  /** Output so far (for failure messages). */
  output(): string;
  /** SIGTERM and wait for exit (graceful). */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

export async function spawnHubProcess(env: Record<string, string>, options: { seed?: unknown; timeoutMs?: number; nodeArgs?: string[] } = {}): Promise<HubProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...(await serveHubCommand())], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env, SEED_JSON: JSON.stringify(options.seed ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string; pid: number; statsUrl?: string; organizations: SeededOrganization[] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub process not ready within ${options.timeoutMs ?? 120_000} ms:\n${out}`)), options.timeoutMs ?? 120_000);
    let buffer = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      out += d.toString();
      // Only a complete line: a large seed's HUB_READY arrives in several chunks.
      const line = buffer.split('\n').slice(0, -1).find((l) => l.startsWith('HUB_READY '));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice('HUB_READY '.length)));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub process exited (${code}) before it was ready:\n${out}`));
    });
  });
  return {
    ...ready,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
