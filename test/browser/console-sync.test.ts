// The console's sync (backfill) panel: "Sync now" starts syncConnection, the page follows the run's
// progress while it runs and shows the outcome when it ends (the template connector's export API,
// a stand-in on 127.0.0.1, holding its second page until the test lets it go).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import template from '../../plugins/template/index.ts';
import { startStandIn, type StandIn } from '../support/stand-in.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { randomWebhookSecret } from '../support/svix-signing.ts';
import { describeInBrowser, launchBrowser, offlineContext, screenshot, signIn } from './support.ts';

const TOKEN = 'export-token-0123456789';
const users = Array.from({ length: 6 }, (_, i) => ({ id: `u${i}`, email: `user${i}@export.test`, given_name: 'User', family_name: `${i}`, active: true }));

let hub: TestHub;
let api: StandIn;
let browser: Browser;
let release: () => void = () => undefined;
const held = new Promise<void>((resolve) => (release = resolve));

describeInBrowser('console sync', () => {
  beforeAll(async () => {
    api = await startStandIn(async (req) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return { status: 401, json: { error: 'bad token' } };
      const from = Number(req.query.get('cursor') ?? 0);
      if (req.path === '/export/users') {
        if (from > 0) await held;
        return { json: { data: users.slice(from, from + 2), next_cursor: from + 2 < users.length ? String(from + 2) : null, total: users.length } };
      }
      if (req.path === '/export/groups') return { json: { data: [], next_cursor: null, total: 0 } };
      return undefined;
    });
    hub = await startTestHub({ connectors: [template], sync: { progressEveryMs: 0 } });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    release();
    await browser?.close();
    await hub?.close();
    await api?.close();
  });

  it('starts a sync and shows its progress, then its outcome, without reload', async () => {
    const { createOrganization } = await hub.gqlOk(`mutation { createOrganization(input: { name: "Globex", slug: "globex" }) { organization { id } } }`);
    const organizationId = createOrganization.organization.id as string;
    const { createDirectoryConnection } = await hub.gqlOk(
      `mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "template", name: "HRIS", config: $c }) { connection { id } } }`,
      { o: organizationId, c: { signingSecret: randomWebhookSecret(), exportUrl: `${api.url}/export`, apiToken: TOKEN } },
    );
    const { context } = await offlineContext(browser);
    const page = await context.newPage();
    await signIn(page, hub.url, hub.adminKey);
    await page.goto(`${hub.url}/console/organizations/${organizationId}/connections/${createDirectoryConnection.connection.id}`);
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.getByRole('button', { name: 'Sync running…' }).waitFor();
    await page.getByText(/Latest: running, 2 of 6 users/).waitFor();
    await page.getByRole('progressbar', { name: 'Sync progress' }).waitFor();
    await screenshot(page, 'console-sync-running');
    release();
    await page.getByText(/Latest: succeeded, 6 of 6 users/).waitFor();
    await page.getByRole('button', { name: 'Sync now' }).waitFor();
    expect(await page.getByRole('progressbar').count()).toBe(0);
    await screenshot(page, 'console-sync-done');
    await context.close();
  });
});
