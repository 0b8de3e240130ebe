// The setup portal in a real browser against a real hub (issue 12's main acceptance): an IT admin
// opens a setup link, picks Okta, copies the SCIM base URL and token from the page, a SCIM client
// replays Okta's recorded requests with them, the page turns "Connected" with the counts without a
// reload, the admin maps the group to admin and the member's roles change in GraphQL. Also refused
// links, another organization's ids, token rotation in the page, 360 px and embedding.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../support/server.ts';
import { freePort } from '../support/free-port.ts';
import { createScimConnection, scimRequest, user, type ScimConnection } from '../scim/support.ts';
import { loadFixtures, replay } from '../scim/fixtures.ts';
import { describeInBrowser, launchBrowser, offlineContext, readmeScreenshot, screenshot } from './support.ts';

let hub: TestHub;
let browser: Browser;
let parentPort: number;
let parent: Server;
const a = { id: '', key: '' };
const b = { id: '', key: '', scim: null as ScimConnection | null };
const OKTA = 'Okta SCIM Client 1.0.0';

async function organization(name: string, slug: string) {
  const { createOrganization } = await hub.gqlOk(`mutation($n: String!, $s: String!) { createOrganization(input: { name: $n, slug: $s }) { organization { id } } }`, { n: name, s: slug });
  const id = createOrganization.organization.id as string;
  const { createApiKey } = await hub.gqlOk(`mutation($o: ID!) { createApiKey(input: { organizationId: $o, name: "app" }) { secret } }`, { o: id });
  return { id, key: createApiKey.secret as string };
}

/** A setup link, made as the SaaS's backend would: createSetupLink with its organization key. */
async function setupLink(org: { id: string; key: string }, expiresInSeconds?: number) {
  const { createSetupLink } = await hub.gqlOk(
    `mutation($o: ID!, $e: Int) { createSetupLink(input: { organizationId: $o, expiresInSeconds: $e }) { setupLink { id expiresAt } url } }`,
    { o: org.id, e: expiresInSeconds }, org.key);
  return createSetupLink as { url: string; setupLink: { id: string } };
}

async function newContext(options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const { context } = await offlineContext(browser, options);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hub.url });
  return context;
}

/** GraphQL from inside the page, as the portal's own code sends it (its session cookie, the CSRF header). */
const gqlFromPage = (page: Page, query: string, variables: Record<string, unknown> = {}) =>
  page.evaluate(async ([q, v]) => {
    const r = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', 'x-lifecycle-hub-csrf': '1' }, body: JSON.stringify({ query: q, variables: v }) });
    return (await r.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> };
  }, [query, variables] as const);

async function copied(page: Page, label: string): Promise<string> {
  await page.locator(`[aria-label="${label}"] + button`).click();
  await page.getByText(`${label} copied to the clipboard`).waitFor();
  return page.evaluate(() => navigator.clipboard.readText());
}

describeInBrowser('setup portal', () => {
  beforeAll(async () => {
    const port = await freePort();
    parentPort = await freePort();
    hub = await startTestHub({
      env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, FIRST_SYNC_QUIET_SECONDS: '1', SETUP_FRAME_ANCESTORS: `'self' http://127.0.0.1:${parentPort}` },
    });
    Object.assign(a, await organization('Acme Corp', 'acme'));
    Object.assign(b, await organization('Beta Ltd', 'beta'));
    b.scim = await createScimConnection(hub, { organizationId: b.id });
    // The SaaS's settings page, on another origin, embedding the portal.
    parent = createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><title>Acme settings</title><h1>Settings</h1><iframe title="Directory setup" src="${decodeURIComponent(req.url!.slice(1))}" width="900" height="700"></iframe>`);
    }).listen(parentPort, '127.0.0.1');
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    parent?.close();
    await browser?.close();
    await hub?.close();
  });

  it('an IT admin connects Okta: copies URL and token from the page, sees Connected live, maps a group to admin', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const link = await setupLink(a);
    await page.goto(link.url);
    const choose = page.getByRole('heading', { name: 'Which identity provider do you use?' });
    await choose.waitFor();
    // The secret left the address bar (and history) as soon as the page read it.
    expect(page.url()).toBe(`${hub.url}/setup`);
    await expect.poll(() => choose.evaluate((h) => h === document.activeElement)).toBe(true);
    await screenshot(page, 'setup-1-choose-idp');

    await page.getByRole('button', { name: /^Okta/ }).click();
    await page.getByRole('heading', { name: 'Connect Okta' }).waitFor();
    await page.locator('[aria-label="SCIM token"]').waitFor();
    await page.getByText('You will not see this token again.').waitFor();
    // Okta's own instructions, from docs/scim/okta.md.
    await page.getByText('SCIM connector base URL').first().waitFor();
    const baseUrl = await copied(page, 'SCIM base URL');
    const token = await copied(page, 'SCIM token');
    expect(baseUrl).toMatch(new RegExp(`^${hub.url}/scim/v2/`));
    expect(token.length).toBeGreaterThan(20);
    await screenshot(page, 'setup-2-instructions');
    await readmeScreenshot(page, 'setup-portal.png');

    await page.getByRole('button', { name: 'I saved the settings in Okta' }).click();
    await page.getByRole('heading', { name: 'Waiting for Okta' }).waitFor();
    await page.getByText('Waiting for the first request from Okta…').waitFor();
    await screenshot(page, 'setup-3-waiting');

    const idp = { baseUrl, token } as ScimConnection;
    const okta = Object.fromEntries(loadFixtures('okta').map((f) => [f.scenario, f]));
    // The admin pasted the token wrong: Okta's connection test is refused, and the page says why (a
    // wrong token is not in the request log, only its time), until a request with the right one works.
    const mistyped = { baseUrl, token: `${token.slice(0, -4)}XXXX` } as ScimConnection;
    expect((await replay(mistyped, okta['test-connection-list-users-count-2']!)).status).toBe(401);
    await page.getByText("Okta's last request was refused: the token was wrong, expired or revoked.").waitFor();
    await page.getByText('A request with a token this connection does not accept').waitFor();
    await screenshot(page, 'setup-3-wrong-token');
    // Okta with the copied values: the connection test, a user looked up then created, a pushed group and its member.
    expect((await replay(idp, okta['test-connection-list-users-count-2']!)).status).toBe(200);
    expect((await replay(idp, okta['get-user-by-username-existence-check']!)).status).toBe(200);
    const created = await replay(idp, okta['create-user']!);
    expect(created.status).toBe(201);
    expect((await scimRequest(baseUrl, 'POST', '/Users', { token, body: user('second.user@okta.local'), headers: { 'user-agent': OKTA } })).status).toBe(201);
    const group = await replay(idp, okta['create-group']!);
    expect(group.status).toBe(201);
    expect((await replay(idp, okta['group-members-add']!, { userId: created.body.id, groupId: group.body.id })).status).toBe(204);
    await page.getByRole('heading', { name: 'Connected to your Okta' }).waitFor();
    await page.getByText('Connected to your Okta. Synced 2 users, 1 group.').waitFor();
    await expect.poll(() => page.getByText('the token was wrong').count(), { timeout: 10_000 }).toBe(0);
    expect(page.url()).toBe(`${hub.url}/setup`);
    await screenshot(page, 'setup-3-connected');
    // Okta creating a user that exists (its recorded duplicate): the refusal is said in words, until a later request succeeds.
    expect((await replay(idp, okta['create-user']!)).status).toBe(409);
    await page.getByText("Okta's last request was refused: a user or group with the same name already exists here.").waitFor();
    await screenshot(page, 'setup-3-refused');
    expect((await replay(idp, okta['get-user-by-id']!, { userId: created.body.id })).status).toBe(200);
    await expect.poll(() => page.getByText("Okta's last request was refused").count(), { timeout: 10_000 }).toBe(0);

    await page.getByRole('button', { name: 'Map groups to roles' }).click();
    await page.getByRole('heading', { name: 'Give your groups roles' }).waitFor();
    await page.getByText('Highest role wins.').waitFor();
    await page.getByRole('combobox', { name: 'Role' }).selectOption('admin');
    // Before saving, the page says whose roles Save would change (groupMappingPreview), and nothing is saved yet.
    await page.getByText('If you save: 1 person of 1 member gets new roles.').waitFor();
    await page.getByText(/: member → admin$/).waitFor();
    await screenshot(page, 'setup-4-preview');
    expect((await hub.gqlOk(`query($u: ID!) { user(id: $u) { roles } }`, { u: created.body.id }, a.key)).user.roles).toEqual(['member']);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved: admin').waitFor();
    await page.getByRole('cell', { name: 'admin' }).waitFor();
    await screenshot(page, 'setup-4-mapping');
    const roles = await hub.gqlOk(`query($u: ID!) { user(id: $u) { roles } }`, { u: created.body.id }, a.key);
    expect(roles.user.roles).toEqual(['admin']);

    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Test mode, pause and resume' }).waitFor();
    await page.getByRole('checkbox', { name: /Test mode/ }).check();
    await expect.poll(async () => (await gqlFromPage(page, `query($c: ID!) { connection(id: $c) { testMode } }`, { c: baseUrl.split('/').at(-1) })).data?.connection.testMode, { timeout: 10_000 }).toBe(true);
    await page.getByRole('checkbox', { name: /Test mode/ }).uncheck();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    expect((await scimRequest(baseUrl, 'GET', '/Users', { token })).status).toBe(503);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();

    // Rotation in the page: a second token works beside the first; revoking the first leaves Okta on the new one.
    await page.getByRole('button', { name: 'Create a new token' }).click();
    const fresh = await copied(page, 'New SCIM token');
    expect((await scimRequest(baseUrl, 'GET', '/Users', { token: fresh })).status).toBe(200);
    expect((await scimRequest(baseUrl, 'GET', '/Users', { token })).status).toBe(200);
    await screenshot(page, 'setup-5-settings');
    await page.getByRole('button', { name: /^Revoke / }).first().click();
    await expect.poll(async () => (await scimRequest(baseUrl, 'GET', '/Users', { token })).status, { timeout: 10_000 }).toBe(401);
    expect((await scimRequest(baseUrl, 'GET', '/Users', { token: fresh })).status).toBe(200);

    await page.getByRole('button', { name: 'Finish' }).click();
    await page.getByRole('heading', { name: "You're all set" }).waitFor();
    await screenshot(page, 'setup-6-done');
    await context.close();
  });

  it("a link of organization A cannot read B's objects: NOT_FOUND from the portal's session", async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto((await setupLink(a)).url);
    await page.getByRole('heading', { name: 'Which identity provider do you use?' }).waitFor();
    const groups = await hub.gqlOk(`query($o: ID!) { organization(id: $o) { id } }`, { o: b.id }, b.key);
    expect(groups.organization.id).toBe(b.id);
    for (const [query, id] of [
      ['query($id: ID!) { connection(id: $id) { id scimBaseUrl } }', b.scim!.connectionId],
      ['query($id: ID!) { organization(id: $id) { id name } }', b.id],
    ] as const) {
      const answer = await gqlFromPage(page, query, { id });
      expect(answer.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(JSON.stringify(answer.data ?? {})).not.toContain('Beta');
    }
    const token = await gqlFromPage(page, 'mutation($c: ID!) { createScimToken(input: { connectionId: $c }) { secret } }', { c: b.scim!.connectionId });
    expect(token.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    await context.close();
  });

  it.each([
    ['expired', async (id: string) => hub.db.sql.query("UPDATE setup_link SET expires_at = now() - interval '1 second' WHERE id = $1", [id]), /has expired/],
    ['revoked', async (id: string) => hub.gqlOk('mutation($l: ID!) { revokeSetupLink(input: { setupLinkId: $l }) { setupLink { id } } }', { l: id }, a.key), /withdrawn/],
  ] as const)('a link that is %s gets a clear page: what happened, what to do', async (name, spoil, sentence) => {
    const link = await setupLink(a, 3600);
    await spoil(link.setupLink.id);
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(link.url);
    await page.getByRole('heading', { name: 'This setup link can no longer be used' }).waitFor();
    await page.getByText(sentence).waitFor();
    await page.getByText(/ask the person who sent you the link/i).waitFor();
    expect((await gqlFromPage(page, '{ viewer { kind } }')).data?.viewer).toBeNull();
    await screenshot(page, `setup-refused-${name}`);
    await context.close();
  });

  it('a link opened a second time, in another browser, is refused; the first browser keeps its session', async () => {
    const link = await setupLink(a);
    const first = await newContext();
    const firstPage = await first.newPage();
    await firstPage.goto(link.url);
    await firstPage.getByRole('heading', { name: 'Which identity provider do you use?' }).waitFor();
    const second = await newContext();
    const secondPage = await second.newPage();
    await secondPage.goto(link.url);
    await secondPage.getByText(/already opened/).waitFor();
    await firstPage.reload();
    await firstPage.getByRole('heading', { name: 'Which identity provider do you use?' }).waitFor();
    await first.close();
    await second.close();
  });

  it('at 360 px wide: every step fits without sideways scrolling', async () => {
    const context = await newContext({ viewport: { width: 360, height: 780 } });
    const page = await context.newPage();
    await page.goto((await setupLink(a)).url);
    await page.getByRole('heading', { name: 'Which identity provider do you use?' }).waitFor();
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    expect(await fits()).toBe(true);
    await screenshot(page, 'setup-360-1-choose-idp');
    await page.keyboard.press('Tab');
    await page.getByRole('button', { name: /^Microsoft Entra ID/ }).click();
    await page.locator('[aria-label="SCIM token"]').waitFor();
    expect(await fits()).toBe(true);
    await screenshot(page, 'setup-360-2-instructions');
    await page.getByRole('button', { name: /I saved the settings/ }).click();
    await page.getByText('Waiting for the first request from Entra ID…').waitFor();
    expect(await fits()).toBe(true);
    await screenshot(page, 'setup-360-3-waiting');
    await context.close();
  });

  it("embeds in the SaaS's settings page (an origin SETUP_FRAME_ANCESTORS lists)", async () => {
    const response = await fetch(`${hub.url}/setup`);
    expect(response.headers.get('content-security-policy')).toContain(`frame-ancestors 'self' http://127.0.0.1:${parentPort}`);
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${parentPort}/${encodeURIComponent((await setupLink(a)).url)}`);
    const frame = page.frameLocator('iframe[title="Directory setup"]');
    await frame.getByRole('heading', { name: 'Which identity provider do you use?' }).waitFor();
    await screenshot(page, 'setup-embedded');
    await context.close();
  });
});
