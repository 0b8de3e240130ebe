// `npm start` as a real process: it serves on the embedded database (or DATABASE_URL), prints a
// generated admin key once and keeps only its hash, keeps its data across restarts, and on SIGTERM
// finishes in-flight requests and exits cleanly. It runs the bundle `prestart` builds, with the
// command line of package.json's `start` script.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCommand } from '../../scripts/build.ts';
import { createTestDatabaseUrl } from '../support/db.ts';

const root = join(import.meta.dirname, '..', '..');
const dataDir = mkdtempSync(join(tmpdir(), 'lh-start-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
// `node <flags> dist/main.js`, run here by this test's node (no npm in between to forward signals).
let startArgs: string[] = [];

async function start(databaseUrl: string | undefined): Promise<Started> {
  const child = spawn(process.execPath, startArgs, {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ADMIN_API_KEY: '', DATABASE_URL: databaseUrl ?? '', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
    const check = () => {
      const m = /Lifecycle Hub\s+(http:\/\/\S+)\/graphql/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
  return { child, url, output: () => out, exited };
}

const gql = (url: string, key: string, query: string) =>
  fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query }) });

beforeAll(async () => {
  startArgs = await startCommand();
  expect(startArgs.at(-1)).toBe(join(root, 'dist', 'main.js'));
}, 60_000);

describe('npm start', () => {
  it('builds the bundle it serves before every start', async () => {
    expect(scripts.prestart).toBe(scripts.build);
    expect(scripts.start).toMatch(/^node (--\S+ )*dist\/main\.js$/);
  });

  it('prints a generated admin key once, keeps data across restarts, and stops cleanly on SIGTERM', async () => {
    const databaseUrl = await createTestDatabaseUrl();
    const first = await start(databaseUrl);
    const key = /Admin API key[^\n]*\n\s*\n\s*(lhk_\S+)/.exec(first.output())?.[1];
    expect(key, first.output()).toBeDefined();
    const created = await (await gql(first.url, key!, 'mutation { createOrganization(input: { name: "Kept", slug: "kept" }) { organization { id } } }')).json();
    expect(created.data.createOrganization.organization.id).toBeTruthy();

    // A request in flight when SIGTERM arrives (headers received, body still arriving) still gets its answer.
    const body = JSON.stringify({ query: '{ organizations { slug } }' });
    let push!: (chunk: string | null) => void;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (chunk) => (chunk === null ? controller.close() : controller.enqueue(new TextEncoder().encode(chunk)));
      },
    });
    const inFlight = fetch(`${first.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    push(body.slice(0, 10));
    // A fixed sleep on purpose: the server tells nothing when a request's headers arrive, so this
    // gives them time to arrive before the signal.
    await new Promise((r) => setTimeout(r, 500));
    first.child.kill('SIGTERM');
    // The rest of the body arrives only once the server is shutting down.
    await vi.waitFor(() => expect(first.output()).toContain('shutting down'), { timeout: 5_000, interval: 20 });
    push(body.slice(10));
    push(null);
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect((await answered.json()).data.organizations).toEqual([{ slug: 'kept' }]);
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('shutting down');

    const second = await start(databaseUrl);
    expect(second.output()).not.toContain('Admin API key');
    expect(second.output()).not.toContain(key!);
    const listed = await (await gql(second.url, key!, '{ organizations { slug } }')).json();
    expect(listed.data.organizations.map((o: { slug: string }) => o.slug)).toContain('kept');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 180_000);

  // Issue 12's "npm start, then open /console": the bundle `npm start` serves carries the console and
  // every asset it names, from the hub itself (this test process may reach 127.0.0.1 only).
  it('serves the console and every asset its page names, from the bundle it runs', async () => {
    const hub = await start(undefined);
    try {
      const page = await fetch(`${hub.url}/console`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await page.text();
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), html).toBe(true);
      for (const asset of assets) {
        expect(asset, 'assets are served by the hub, not a CDN').toMatch(/^\/ui\/assets\//);
        const answer = await fetch(`${hub.url}${asset}`);
        expect(answer.status, asset).toBe(200);
        expect(answer.headers.get('content-type'), asset).toMatch(asset.endsWith('.css') ? /^text\/css/ : /javascript/);
        expect((await answer.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
      }
    } finally {
      hub.child.kill('SIGTERM');
      await hub.exited;
    }
  }, 120_000);
});
