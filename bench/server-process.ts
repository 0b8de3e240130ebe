// A Lifecycle Hub in a child process, run as `npm start` runs it (the bundle scripts/build.ts
// writes), so a benchmark's load comes from another process over 127.0.0.1, as in production.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCommand } from '../scripts/build.ts';
import { serverArgs } from './support.ts';

export interface ServerProcess {
  url: string;
  adminKey: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** The server's output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export async function startServerProcess(options: { databaseUrl?: string; env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lh-bench-server-'));
  const adminKey = `bench-admin-${randomBytes(12).toString('hex')}`;
  const child = spawn(process.execPath, [...serverArgs(), ...(await startCommand())], {
    cwd: join(import.meta.dirname, '..'),
    env: {
      ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ADMIN_API_KEY: adminKey, LOG_LEVEL: 'warn',
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : { DATABASE_URL: '' }), ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      const match = /Lifecycle Hub\s+(http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`the server exited (${code}) before serving:\n${output}`)));
  });
  return {
    url,
    adminKey,
    output: () => output,
    async gql(query, variables) {
      const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` }, body: JSON.stringify({ query, variables }) });
      const body = (await response.json()) as { data: any; errors?: unknown[] };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
