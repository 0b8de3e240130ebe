// A throwaway PostgreSQL cluster the fault tests own: initdb into a temp directory, started and
// stopped with pg_ctl on a random 127.0.0.1 port, so a test can kill its database without touching
// the shared one. As root, the server runs as the postgres OS user (PostgreSQL refuses root).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/free-port.ts';

export interface PostgresCluster {
  url: string;
  port: number;
  /** pg_ctl stop -m immediate: the server dies without a checkpoint, as in a crash. */
  crash(): void;
  start(): void;
  destroy(): void;
  log(): string;
}

/** The newest /usr/lib/postgresql/<version>/bin holding initdb, or why there is none. */
export function findPostgresBin(): { bin: string } | { missing: string } {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (!versions.length) return { missing: `no PostgreSQL server binaries under ${root} (apt-get install -y postgresql; .ci/run installs it)` };
  versions.sort((a, b) => Number(a) - Number(b));
  return { bin: join(root, versions.at(-1)!, 'bin') };
}


function ownerOf(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export async function createPostgresCluster(bin: string): Promise<PostgresCluster> {
  const owner = ownerOf();
  const dir = mkdtempSync(join(tmpdir(), 'lh-faults-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  const run = (program: string, args: string[]) => {
    const command = owner ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] as const : [join(bin, program), args] as const;
    const result = spawnSync(command[0], command[1] as string[], { encoding: 'utf8', timeout: 120_000 });
    if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}${result.error ? ` ${result.error.message}` : ''}`);
    return result.stdout;
  };
  if (owner) chownSync(dir, owner.uid, owner.gid);
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const start = () => {
    run('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', logFile, '-o', `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=60 -c fsync=on`]);
  };
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    crash: () => void run('pg_ctl', ['stop', '-m', 'immediate', '-w', '-D', data]),
    start,
    destroy() {
      try {
        run('pg_ctl', ['stop', '-m', 'immediate', '-w', '-D', data]);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => (existsSync(logFile) ? execFileSync('tail', ['-n', '30', logFile]).toString() : ''),
  };
}
