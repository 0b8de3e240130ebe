// One process at a time on an embedded database. PGlite is single-user PostgreSQL in WebAssembly:
// it has no lock across processes, and two of them opening one DATA_DIR each write the same files
// from their own buffers. Tried (issue 14 item 9): the second opens without a word, both
// acknowledge writes, and afterwards whole runs of one process's acknowledged rows are gone —
// while kill -9 alone, at any moment, lost nothing in hundreds of cycles (docs/performance.md).
//
// Hand-written rather than proper-lockfile: that one decides staleness by a heartbeat (the lock's
// mtime, refreshed by a timer), and PGlite runs its statements on the main thread, so a long one
// (a migration, a large transaction) stops the timer and another process would steal a live lock.
// The holder's pid says at once whether it still runs (a lock left by kill -9 is taken over
// without waiting), and its record names the holder in the refusal.
import { hostname } from 'node:os';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the holder took the lock. */
  since: string;
  /** Linux: the holder's start time in clock ticks since boot (/proc/<pid>/stat), so a reused pid is not taken for it. */
  procStart?: string;
}

export class DataDirInUseError extends Error {
  readonly code = 'DATA_DIR_IN_USE';
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
    lockPath: string,
  ) {
    const where = holder.host === hostname() ? `pid ${holder.pid}` : `pid ${holder.pid} on host ${holder.host}`;
    super(
      `DATA_DIR ${dataDir} is in use by ${where} since ${holder.since}; stop that process or set another DATA_DIR.` +
        (holder.host === hostname() ? '' : ` If that host no longer runs the hub, delete ${lockPath}.`),
    );
    this.name = 'DataDirInUseError';
  }
}

/** Lock files held by this process, so a second open inside it is refused too. */
const heldHere = new Set<string>();

/** Takes `<dataDir>/pglite.lock` or throws DataDirInUseError; returns its release (also run at exit). */
export function lockDataDir(dataDir: string): () => void {
  const lockPath = join(dataDir, 'pglite.lock');
  if (heldHere.has(lockPath)) throw new DataDirInUseError(dataDir, readHolder(lockPath) ?? ownRecord(), lockPath);
  const mine = JSON.stringify(ownRecord());
  // Written whole aside and linked in: link() fails if the lock exists, and the lock is never seen half-written.
  const aside = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(aside, mine);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(aside, lockPath);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
      }
      const text = readText(lockPath);
      if (text === null) continue;
      const holder = parseHolder(text);
      if (holder && isRunning(holder)) throw new DataDirInUseError(dataDir, holder, lockPath);
      takeOverStale(lockPath, text);
    }
  } finally {
    unlinkSync(aside);
  }
  heldHere.add(lockPath);
  const release = () => {
    process.off('exit', release);
    if (!heldHere.delete(lockPath)) return;
    // Only our own record: never a lock another process took over after us.
    if (readText(lockPath) === mine) unlinkSync(lockPath);
  };
  process.on('exit', release);
  return release;
}

/**
 * Moves the stale lock aside (rename is atomic: of two processes racing, one gets it) and checks that
 * what it moved is the stale record it read; if it was a fresh lock another process took meanwhile,
 * it puts that back, and the next attempt finds its holder running.
 */
function takeOverStale(lockPath: string, staleText: string) {
  const moved = `${lockPath}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(lockPath, moved);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (readText(moved) !== staleText) {
    try {
      linkSync(moved, lockPath);
    } catch {
      // A third process took the lock in between: its record stands.
    }
  }
  unlinkSync(moved);
}

function ownRecord(): LockHolder {
  const procStart = procStartOf(process.pid);
  return { pid: process.pid, host: hostname(), since: new Date().toISOString(), ...(procStart ? { procStart } : {}) };
}

function isRunning(holder: LockHolder): boolean {
  // Another host's process cannot be checked from here: assume it runs (the message says what to do).
  if (holder.host !== hostname()) return true;
  // Our own pid but not held here: a record from an earlier life (a container's hub is pid 1 every time).
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid runs; on Linux, check it is the same process and not a later one given the same pid.
  const procStart = procStartOf(holder.pid);
  return !(holder.procStart && procStart && procStart !== holder.procStart);
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
function procStartOf(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function readHolder(lockPath: string): LockHolder | null {
  const text = readText(lockPath);
  return text === null ? null : parseHolder(text);
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    return typeof value.pid === 'number' && typeof value.host === 'string' ? { pid: value.pid, host: value.host, since: String(value.since ?? 'an unknown time'), ...(value.procStart ? { procStart: value.procStart } : {}) } : null;
  } catch {
    return null;
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
