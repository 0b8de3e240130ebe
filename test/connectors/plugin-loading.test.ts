// Plugins load at startup from LIFECYCLE_PLUGINS, checked by starting the real server process:
// a plugin that cannot be loaded stops startup with a message naming it; a good one is served.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCommand } from '../../scripts/build.ts';
import { loadConnectors } from '../../src/connectors/loader.ts';
import { createTestDatabaseUrl } from '../support/db.ts';

const ROOT = join(import.meta.dirname, '../..');
const ADMIN_KEY = 'plugin-loading-admin-key-0123456789';

let startArgs: string[] = [];
beforeAll(async () => {
  startArgs = await startCommand();
}, 60_000);

interface Started {
  exitCode: Promise<number | null>;
  output: () => string;
  url: Promise<string>;
  stop(): void;
}

function startServer(env: Record<string, string>): Started {
  const dataDir = mkdtempSync(join(tmpdir(), 'lh-plugins-'));
  // As `npm start` runs it: the bundle, which loads TypeScript plugins through tsx on demand.
  const child = spawn(process.execPath, startArgs, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN_KEY, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let resolveUrl: (url: string) => void;
  const url = new Promise<string>((r) => (resolveUrl = r));
  const collect = (chunk: Buffer) => {
    out += chunk.toString();
    const match = /Lifecycle Hub\s+(http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(out);
    if (match) resolveUrl(match[1]!);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exitCode = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  return { exitCode, output: () => out, url, stop: () => child.kill('SIGTERM') };
}

describe('LIFECYCLE_PLUGINS', () => {
  const cases: Array<[string, RegExp]> = [
    ['./test/connectors/bad-plugins/missing.ts', /plugin "\.\/test\/connectors\/bad-plugins\/missing\.ts" \(LIFECYCLE_PLUGINS\) could not be loaded: .*Cannot find module.*give a path starting with \.\/ or \//s],
    ['@acme/lifecycle-hris-not-installed', /plugin "@acme\/lifecycle-hris-not-installed" \(LIFECYCLE_PLUGINS\) could not be loaded: .*Cannot find package.*install it next to the hub/s],
    ['./test/connectors/bad-plugins/throws-on-import.ts', /plugin "\.\/test\/connectors\/bad-plugins\/throws-on-import\.ts" \(LIFECYCLE_PLUGINS\) could not be loaded: HRIS_API_TOKEN is not set/],
    ['./test/connectors/bad-plugins/not-a-connector.ts', /plugin "\.\/test\/connectors\/bad-plugins\/not-a-connector\.ts" \(LIFECYCLE_PLUGINS\) does not export a connector: export default defineConnector/],
    ['./test/connectors/bad-plugins/invalid-connector.ts', /plugin "\.\/test\/connectors\/bad-plugins\/invalid-connector\.ts" \(LIFECYCLE_PLUGINS\) is not a valid connector: id "Bad Id" must be/],
    ['./plugins/clerk/index.ts', /plugin "\.\/plugins\/clerk\/index\.ts" \(LIFECYCLE_PLUGINS\): two connectors claim the id "clerk"/],
  ];

  for (const [specifier, message] of cases) {
    it(`refuses ${specifier} with a message naming it and why`, async () => {
      const error = await loadConnectors(['./plugins/template/index.ts', specifier]).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(message);
    });
  }

  it('stops the real server process at startup, naming the plugin', async () => {
    const run = startServer({ LIFECYCLE_PLUGINS: './plugins/template/index.ts, @acme/lifecycle-hris-not-installed' });
    expect(await run.exitCode, run.output()).toBe(1);
    expect(run.output()).toMatch(/Lifecycle Hub could not start: plugin "@acme\/lifecycle-hris-not-installed" \(LIFECYCLE_PLUGINS\) could not be loaded/);
  });

  it('serves a plugin given by path next to the built-in connectors', async () => {
    const databaseUrl = await createTestDatabaseUrl();
    const run = startServer({ LIFECYCLE_PLUGINS: './plugins/template/index.ts', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
    try {
      const url = await Promise.race([run.url, run.exitCode.then((code) => Promise.reject(new Error(`exited ${code}: ${run.output()}`)))]);
      const gql = async (query: string, variables: Record<string, unknown> = {}) => {
        const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` }, body: JSON.stringify({ query, variables }) });
        return (await response.json()) as { data: any; errors?: unknown[] };
      };
      const org = await gql(`mutation { createOrganization(input: { name: "P", slug: "plugins" }) { organization { id } } }`);
      const created = await gql(
        `mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "template", name: "HRIS", config: { signingSecret: "whsec_dGVtcGxhdGUtc2VjcmV0LTAxMjM0NTY3" } }) { connection { provider webhookUrl secretFields } } }`,
        { o: org.data.createOrganization.organization.id },
      );
      expect(created.errors).toBeUndefined();
      expect(created.data.createDirectoryConnection.connection).toMatchObject({ provider: 'template', webhookUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/webhooks\//), secretFields: ['signingSecret', 'apiToken'] });
    } finally {
      run.stop();
      expect(await run.exitCode).toBe(0);
    }
  });
});
