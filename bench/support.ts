// Shared by the benchmarks: a fresh PostgreSQL database per benchmark, free ports, process RSS.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
export { freePort } from '../test/support/free-port.ts';


/**
 * A fresh database next to `url` (CREATE DATABASE, dropped afterwards), so a benchmark's figures do
 * not depend on what earlier ones left; `url` itself when the role may not create databases.
 */
export async function benchDatabase(url: string, label = 'bench'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `lh_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch {
    await admin.end().catch(() => {});
    return { url, drop: async () => {} };
  }
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await c.end();
    },
  };
}

/** Resident set size (VmRSS) and its peak (VmHWM) of a process, in MiB, from /proc (Linux). */
export function processMemoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

/** The server version the benchmarks ran against: PostgreSQL's, or PGlite's embedded one. */
export async function databaseVersion(databaseUrl?: string): Promise<string> {
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      return `PostgreSQL ${(await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version}`;
    } finally {
      await client.end();
    }
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite();
  try {
    const { rows } = await db.query<{ server_version: string }>('SHOW server_version');
    const pkg = JSON.parse(readFileSync(new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8')) as { version: string };
    return `PGlite ${pkg.version} (PostgreSQL ${rows[0]!.server_version}, WASM, in the hub's process)`;
  } finally {
    await db.close();
  }
}

/** BENCH_SERVER_ARGS: node flags for the hub process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). */
export function serverArgs(): string[] {
  return process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [];
}
