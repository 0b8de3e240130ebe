// The operator console in a real browser against a real hub: sign-in, the directory (search and
// paging on the server), a user's page where a deprovision arrives live, the audit log's
// verification and CSV export, no key kept by the browser, and the narrow (360 px) layout.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../support/server.ts';
import { seedConsoleDirectory, type ConsoleDirectory } from './console-fixture.ts';
import { describeInBrowser, launchBrowser, offlineContext, readmeScreenshot, screenshot, signIn } from './support.ts';

let hub: TestHub;
let dir: ConsoleDirectory;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let leftLocalhost: string[];

describeInBrowser('operator console', () => {
  beforeAll(async () => {
    hub = await startTestHub();
    dir = await seedConsoleDirectory(hub, 120);
    browser = await launchBrowser();
    ({ context, leftLocalhost } = await offlineContext(browser, { acceptDownloads: true }));
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('shows a browser without a session the sign-in page, its field labelled and focusable', async () => {
    const fresh = await browser.newContext();
    const signInPage = await fresh.newPage();
    await signInPage.goto(`${hub.url}/console/organizations/${dir.organizationId}/users`);
    await signInPage.getByRole('heading', { name: 'Lifecycle Hub console' }).waitFor();
    await signInPage.keyboard.press('Tab');
    expect(await signInPage.evaluate(() => document.activeElement?.id)).toBe('api-key');
    await screenshot(signInPage, 'console-sign-in', { fullPage: false });
    await fresh.close();
  });

  it('refuses a key the hub does not know, in words, on the sign-in page', async () => {
    await page.goto(`${hub.url}/console`);
    await page.getByLabel('API key').fill('not-a-key-of-this-hub-0000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not valid|does not accept/i);
    await screenshot(page, 'console-sign-in-refused');
  });

  it('shows the organization, its connection and its request log', async () => {
    await signIn(page, hub.url, dir.orgKey);
    await page.getByRole('link', { name: 'Acme Corp' }).waitFor();
    await screenshot(page, 'console-organizations');
    await page.getByRole('link', { name: 'Acme Corp' }).click();
    await page.getByRole('heading', { name: /Acme Corp/ }).waitFor();
    await page.getByRole('link', { name: 'IdP' }).waitFor();
    await screenshot(page, 'console-organization');
    await page.getByRole('link', { name: 'IdP' }).click();
    await page.getByRole('heading', { name: 'Request log' }).waitFor();
    // The SCIM pushes of the fixture, each with its outcome and the IdP recognized from its User-Agent.
    await expect.poll(() => page.locator('#request-log + .table-wrap tbody tr').count()).toBeGreaterThan(10);
    await page.getByRole('cell', { name: 'okta' }).first().waitFor();
    await screenshot(page, 'console-connection');
  });

  it('searches and pages the users on the server', async () => {
    await page.goto(`${hub.url}/console/organizations/${dir.organizationId}/users`);
    await page.getByRole('status').filter({ hasText: 'shown of 120 users' }).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(100);
    const firstPage = await page.locator('tbody tr td:first-child a').allTextContents();
    await page.getByRole('button', { name: 'Next →' }).click();
    await expect.poll(() => page.locator('tbody tr td:first-child a').first().textContent()).not.toBe(firstPage[0]);
    const secondPage = await page.locator('tbody tr td:first-child a').allTextContents();
    expect(secondPage).toHaveLength(20);
    expect(secondPage.filter((name) => firstPage.includes(name))).toEqual([]);
    await page.getByRole('button', { name: '← Previous' }).click();
    await expect.poll(() => page.locator('tbody tr td:first-child a').allTextContents()).toEqual(firstPage);

    await page.getByLabel('Search').fill('user-042');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('tbody tr td:first-child a').allTextContents()).toEqual(['Person 042']);
    await page.getByLabel('Search').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByLabel('State').selectOption('DEPROVISIONED');
    await page.getByText('No user matches').waitFor();
    await page.getByLabel('State').selectOption('');
    await page.getByRole('status').filter({ hasText: 'shown of 120 users' }).waitFor();
    await screenshot(page, 'console-users');

    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Groups' }).click();
    await page.getByRole('heading', { name: 'Groups' }).waitFor();
    const engineering = page.getByRole('row').filter({ hasText: 'Engineering' });
    await expect.poll(() => engineering.getByRole('cell').nth(1).textContent()).toBe('10');
    await screenshot(page, 'console-groups');
  });

  it("shows a deprovision on the user's page live, with the revocations and the evidence download", async () => {
    await page.goto(`${hub.url}/console/users/${dir.leaverId}`);
    await page.getByRole('heading', { name: /Person 007/ }).waitFor();
    await page.getByText('web-session-1').waitFor();
    await page.getByText('Live: changes appear as they happen').waitFor();
    await screenshot(page, 'console-user-active');

    // From outside the page: the identity provider deletes the user.
    expect((await dir.scim.request('DELETE', `/Users/${dir.leaverId}`)).status).toBe(204);

    await page.getByText(/^Deprovisioned/).waitFor();
    await expect.poll(() => page.locator('#sessions + .table-wrap').textContent()).toMatch(/revoked/);
    await expect.poll(() => page.locator('#credentials + .table-wrap').textContent()).toMatch(/revoked/);
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download deprovision evidence (JSON)' }).click();
    const download = await downloading;
    const evidence = JSON.parse(readFileSync(await download.path(), 'utf8'));
    expect(evidence.user.id).toBe(dir.leaverId);
    expect(evidence.deprovisions).toHaveLength(1);
    await screenshot(page, 'console-user-deprovisioned');
  });

  it('verifies the audit chain and downloads the log as CSV', async () => {
    await page.goto(`${hub.url}/console/organizations/${dir.organizationId}/audit`);
    await page.getByRole('button', { name: 'Verify the audit chain' }).click();
    await page.getByText('The chain verifies.').waitFor();
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download CSV' }).click();
    const csv = readFileSync(await (await downloading).path(), 'utf8');
    expect(csv.split('\n')[0]).toMatch(/^seq,id,at,action/);
    expect(csv).toContain('user.deprovisioned');
    // The rows, newest first, 50 a page, paged back by seq.
    const firstSeq = async () => page.locator('section[aria-labelledby="rows-title"] tbody tr td:first-child').first().textContent();
    const newest = Number(await firstSeq());
    expect(csv.trim().split('\n')).toHaveLength(newest + 1);
    await page.getByRole('button', { name: 'Older →' }).click();
    await expect.poll(firstSeq).toBe(String(newest - 50));
    await page.getByRole('button', { name: '← Newer' }).click();
    await expect.poll(firstSeq).toBe(String(newest));
    await screenshot(page, 'console-audit');
  });

  it('creates a setup link and shows it once, with a copy button', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hub.url });
    await page.goto(`${hub.url}/console/organizations/${dir.organizationId}`);
    await page.getByRole('button', { name: 'Create setup link' }).click();
    const shown = page.getByLabel('Setup link URL');
    await shown.waitFor();
    const url = await shown.textContent();
    expect(url).toMatch(/\/setup#.+/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Setup link URL copied to the clipboard').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
    await screenshot(page, 'console-setup-link');
    await page.reload();
    await page.getByRole('button', { name: 'Create setup link' }).waitFor();
    expect(await page.getByLabel('Setup link URL').count()).toBe(0);
  });

  it('answers a missing user or organization in words, and is keyboard navigable', async () => {
    await page.goto(`${hub.url}/console/users/00000000-0000-7000-8000-000000000000`);
    await page.getByRole('alert').filter({ hasText: /No such user|does not exist/ }).waitFor();
    await screenshot(page, 'console-user-not-found', { fullPage: false });
    await page.goto(`${hub.url}/console/organizations/00000000-0000-7000-8000-000000000000/users`);
    await page.getByRole('alert').filter({ hasText: /No such organization|does not exist/ }).first().waitFor();
    await screenshot(page, 'console-organization-not-found', { fullPage: false });
    await page.goto(`${hub.url}/console/nowhere`);
    await page.getByRole('heading', { name: 'No such page' }).waitFor();
    // The first Tab lands on the skip link, which moves focus to the content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // Then into the content: its link is followed with Enter.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Go to the organizations');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Organizations' }).waitFor();
    // From the top: skip link, home, sign out, then the navigation, in reading order.
    await page.reload();
    await page.getByRole('heading', { name: 'Organizations' }).waitFor();
    // The heading paints before the session's organizations arrive; the organization's links join
    // the navigation when they do, so the walk starts once they are there.
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Connections' }).waitFor();
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ''));
    }
    expect(order).toEqual(['Skip to content', 'Lifecycle Hub', 'Sign out', 'Organizations', 'Connections']);
  });

  it('keeps no API key where page scripts can read it', async () => {
    const stored = await page.evaluate(() => ({
      local: Object.entries(localStorage),
      session: Object.entries(sessionStorage),
      cookie: document.cookie,
    }));
    expect(JSON.stringify(stored)).not.toContain(dir.orgKey);
    expect(stored.local).toEqual([]);
    expect(stored.session).toEqual([]);
    // The session cookie is HttpOnly: invisible to document.cookie.
    expect(stored.cookie).toBe('');
    expect(leftLocalhost).toEqual([]);
  });

  it('is usable 360 px wide', async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    await page.goto(`${hub.url}/console/organizations/${dir.organizationId}/users`);
    await page.getByRole('status').filter({ hasText: 'shown of 120 users' }).waitFor();
    // Nothing but the table (which scrolls in its own frame) is wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot(page, 'console-users-360px', { fullPage: false });
    await page.goto(`${hub.url}/console/users/${dir.leaverId}`);
    await page.getByRole('button', { name: 'Download deprovision evidence (JSON)' }).waitFor();
    await page.getByText('Live: changes appear as they happen').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot(page, 'console-user-360px', { fullPage: false });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('shows lifecycle events live on the events page, and takes the README screenshot', async () => {
    await page.goto(`${hub.url}/console/organizations/${dir.organizationId}/events`);
    await page.getByText('Live: changes appear as they happen').waitFor();
    const reply = await dir.scim.request('PATCH', `/Users/${dir.userIds[3]}`, { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] } });
    expect(reply.status).toBe(200);
    await page.getByRole('list', { name: /Lifecycle events/ }).getByText('user.deprovisioned').waitFor();
    await screenshot(page, 'console-events');

    // The socket drops; a deprovision is committed while it is down. After graphql-ws reconnects,
    // the feed resumes after the last event it showed: the missed one arrives, none twice.
    for (const socket of hub.server.wsServer.clients) socket.terminate();
    const whileDown = await dir.scim.request('PATCH', `/Users/${dir.userIds[4]}`, { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] } });
    expect(whileDown.status).toBe(200);
    const feed = page.getByRole('list', { name: /Lifecycle events/ });
    await feed.getByRole('listitem').filter({ hasText: 'user.deprovisioned' }).filter({ hasText: 'Person 004' }).waitFor({ timeout: 30_000 });
    await page.getByText('Live: changes appear as they happen').waitFor();
    expect(await feed.getByRole('listitem').filter({ hasText: 'user.deprovisioned' }).filter({ hasText: 'Person 003' }).count()).toBe(1);
    await page.goto(`${hub.url}/console/users/${dir.leaverId}`);
    await page.getByRole('button', { name: 'Download deprovision evidence (JSON)' }).waitFor();
    await page.getByText('Live: changes appear as they happen').waitFor();
    await screenshot(page, 'console-user-page', { fullPage: false });
    await readmeScreenshot(page, 'console.png');
  });
});
