// PGLITE_SHARED_BUFFERS_MB reaches the embedded database, and leaves its postgresql.conf alone.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/database.ts';

it('starts PGlite with the shared_buffers asked for, on a new and on an existing data directory', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lh-pglite-settings-'));
  const sharedBuffers = async (mb: number | undefined) => {
    const db = await openDatabase({ dataDir, pgliteSharedBuffersMb: mb });
    try {
      return (await db.sql.query<{ setting: string }>("SELECT current_setting('shared_buffers') AS setting"))[0]!.setting;
    } finally {
      await db.close();
    }
  };
  try {
    expect(await sharedBuffers(16)).toBe('16MB');
    const conf = readFileSync(join(dataDir, 'pglite', 'postgresql.conf'), 'utf8');
    expect(await sharedBuffers(undefined)).toBe('128MB');
    expect(readFileSync(join(dataDir, 'pglite', 'postgresql.conf'), 'utf8')).toBe(conf);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
