// `npm run demo` keeps working: it is a newcomer's first look.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('npm run demo', () => {
  it('provisions over SCIM, offboards Ada, streams the deprovision to a live subscriber, and shows her revoked access and audit trail', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/demo.ts'], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, DATABASE_URL: '' },
      timeout: 120_000,
    });
    const plain = stdout.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/⛔ deprovisioned ada@acme\.test \(event \d+, via scim connection/);
    expect(plain).toContain('revoked 2 session(s), 1 credential(s); ended 1 membership(s)');
    expect(plain).toContain('state:        DEPROVISIONED');
    expect(plain).toMatch(/session\s+web-session-1\s+revoked 20/);
    expect(plain).toContain('accessCheck:  allowed=false (the user is deprovisioned)');
    expect(plain).toMatch(/user\.deprovisioned\s+by connection/);
  }, 150_000);
});
