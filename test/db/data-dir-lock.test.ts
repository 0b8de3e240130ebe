// One process at a time on an embedded database (issue 14 item 9): a second opening of a DATA_DIR,
// from this process or another, is refused naming the holder; a lock left by a holder that died
// (kill -9, a container's earlier life) is taken over at once; a damaged database is reported with
// what to do, not as a WebAssembly abort. Two hub processes on one DATA_DIR: test/faults/crash-loop-soak.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from '../../src/storage/data-dir-lock.ts';
import { DatabaseDamagedError, openDatabase } from '../../src/storage/database.ts';

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'lh-lock-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A separate process that takes the lock and holds it until killed. */
async function holderProcess(dataDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', `const { lockDataDir } = await import(${JSON.stringify(new URL('../../src/storage/data-dir-lock.ts', import.meta.url).href)}); lockDataDir(${JSON.stringify(dataDir)}); console.log('HELD'); setInterval(() => {}, 1000);`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('HELD') && resolve());
    child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
  return child;
}

describe('the DATA_DIR lock', () => {
  it('refuses a second holder in this process, and frees the directory on release', () => {
    const dir = freshDir();
    const release = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
    release();
    expect(existsSync(join(dir, 'pglite.lock'))).toBe(false);
    lockDataDir(dir)();
  });

  it('refuses while another process holds it, naming that process, and takes it over once that process is killed -9', async () => {
    const dir = freshDir();
    const holder = await holderProcess(dir);
    try {
      let refusal: unknown;
      try {
        lockDataDir(dir);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(DataDirInUseError);
      expect((refusal as Error).message).toMatch(new RegExp(`^DATA_DIR ${dir} is in use by pid ${holder.pid} since \\d{4}-\\d\\d-\\d\\dT.*; stop that process or set another DATA_DIR\\.$`));
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
    // The dead holder's record is still there: taken over without waiting.
    expect(JSON.parse(readFileSync(join(dir, 'pglite.lock'), 'utf8')).pid).toBe(holder.pid);
    const release = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, 'pglite.lock'), 'utf8')).pid).toBe(process.pid);
    release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('takes over a record of a dead pid, of its own pid from an earlier life, of a reused pid, and an unreadable one', () => {
    const dir = freshDir();
    const lock = join(dir, 'pglite.lock');
    const stale = [
      { pid: 2 ** 22 + 17, host: hostname(), since: '2026-01-01T00:00:00.000Z' },
      { pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' },
      // The parent process runs, but started at another time than this record says.
      { pid: process.ppid, host: hostname(), since: '2026-01-01T00:00:00.000Z', procStart: '1' },
    ];
    for (const record of [...stale.map((r) => JSON.stringify(r)), '{"pid":']) {
      writeFileSync(lock, record);
      lockDataDir(dir)();
      expect(existsSync(lock), record).toBe(false);
    }
  });

  it('refuses a record of a live pid, and one from another host it cannot check', () => {
    const dir = freshDir();
    const lock = join(dir, 'pglite.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: hostname(), since: 'then' }));
    expect(() => lockDataDir(dir)).toThrow(`is in use by pid ${process.ppid} since then`);
    writeFileSync(lock, JSON.stringify({ pid: 1234, host: 'elsewhere.example', since: 'then' }));
    expect(() => lockDataDir(dir)).toThrow(`is in use by pid 1234 on host elsewhere.example since then; stop that process or set another DATA_DIR. If that host no longer runs the hub, delete ${lock}.`);
    unlinkSync(lock);
  });
});

describe('opening the embedded database', () => {
  it('holds the lock while open: a second openDatabase on the same DATA_DIR is refused before PGlite opens', async () => {
    const dir = freshDir();
    const db = await openDatabase({ dataDir: dir, migrate: false });
    try {
      await expect(openDatabase({ dataDir: dir, migrate: false })).rejects.toThrow(DataDirInUseError);
      expect((await db.sql.query<{ one: number }>('SELECT 1 AS one'))[0]!.one).toBe(1);
    } finally {
      await db.close();
    }
    expect(existsSync(join(dir, 'pglite.lock'))).toBe(false);
  });

  it('reports a damaged database (its WAL gone) with where it is and what to do, not a WebAssembly abort', async () => {
    const dir = freshDir();
    await (await openDatabase({ dataDir: dir, migrate: false })).close();
    const wal = join(dir, 'pglite', 'pg_wal');
    for (const segment of readdirSync(wal).filter((f) => /^[0-9A-F]{24}$/.test(f))) unlinkSync(join(wal, segment));
    for (let attempt = 0; attempt < 2; attempt++) {
      // Twice: a failed open leaves the lock free, so the second attempt is told the same, not "in use".
      const failure = await openDatabase({ dataDir: dir, migrate: false }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(DatabaseDamagedError);
      expect((failure as Error).message).toContain(`the embedded database in ${join(dir, 'pglite')} could not be opened (PGlite: `);
      expect((failure as Error).message).toContain('restore DATA_DIR from a backup taken while the hub was stopped');
      expect((failure as Error).message).toContain(`or move ${join(dir, 'pglite')} aside`);
    }
  });
});
