// `npm run demo` keeps working: it is a newcomer's first look.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
// `node <flags> src/hub/demo.ts`, as package.json's `demo` script runs it (its --disable-proto=throw included).
const [node, ...demoArgs] = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.demo as string).split(/\s+/);

describe('npm run demo', () => {
  it('provisions over SCIM, offboards Ada, streams the deprovision to a live subscriber, and shows her revoked access and audit trail', async () => {
    expect(node).toBe('node');
    const { stdout } = await promisify(execFile)(process.execPath, demoArgs, {
      cwd: root,
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
