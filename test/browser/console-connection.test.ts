// The console's connection lifecycle against a real hub, signed in with an organization key:
// SCIM token rotation (a second token shown once, a third refused in words, the old one revoked),
// pause/resume and test mode, deleting a connection with each disposition (checked through
// GraphQL with the organization's key), and the organization's setup links listed and revoked
// (the IT admin's open setup session ends with it).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../support/server.ts';
import { scimRequest, user } from '../scim/support.ts';
import { newBrowser, START_SETUP, VIEWER } from '../sessions/support.ts';
import { describeInBrowser, launchBrowser, offlineContext, screenshot, signIn } from './support.ts';

let hub: TestHub;
let browser: Browser;
let page: Page;
let organizationId: string;
let orgKey: string;

interface Seeded { id: string; name: string; baseUrl: string; token: string; userIds: string[]; sessionId: string }

/** A SCIM connection named `name`, its identity provider having pushed `users` users (the first with a session). */
async function seedConnection(name: string, users: number): Promise<Seeded> {
  const { createDirectoryConnection: created } = await hub.gqlOk(
    `mutation($o: ID!, $n: String!) { createDirectoryConnection(input: { organizationId: $o, provider: "scim", name: $n }) { connection { id scimBaseUrl } secret } }`,
    { o: organizationId, n: name },
  );
  const baseUrl = created.connection.scimBaseUrl as string;
  const token = created.secret as string;
  const userIds: string[] = [];
  for (let i = 0; i < users; i++) {
    const reply = await scimRequest(baseUrl, 'POST', '/Users', { token, body: user(`${name.toLowerCase().replace(/\W+/g, '-')}-${i}@acme.example`) });
    expect(reply.status).toBe(201);
    userIds.push(reply.body.id as string);
  }
  const { registerSession } = await hub.gqlOk(`mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "web-1" }) { session { id } } }`, { u: userIds[0] }, orgKey);
  return { id: created.connection.id as string, name, baseUrl, token, userIds, sessionId: registerSession.session.id as string };
}

const listUsers = (s: Seeded, token = s.token) => scimRequest(s.baseUrl, 'GET', '/Users', { token });
const connectionPage = (s: Seeded) => `${hub.url}/console/organizations/${organizationId}/connections/${s.id}`;

async function usersAsOrg(ids: string[]) {
  return Promise.all(ids.map(async (id) => (await hub.gqlOk(`query($u: ID!) { user(id: $u) { id state sessions { revokedAt } } }`, { u: id }, orgKey)).user));
}

describeInBrowser('console: connection lifecycle', () => {
  beforeAll(async () => {
    hub = await startTestHub();
    const { createOrganization } = await hub.gqlOk(`mutation { createOrganization(input: { name: "Acme Corp", slug: "acme-corp" }) { organization { id } } }`);
    organizationId = createOrganization.organization.id as string;
    orgKey = (await hub.gqlOk(`mutation($o: ID!) { createApiKey(input: { organizationId: $o, name: "console" }) { secret } }`, { o: organizationId })).createApiKey.secret;
    browser = await launchBrowser();
    const { context } = await offlineContext(browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hub.url });
    page = await context.newPage();
    await signIn(page, hub.url, orgKey);
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('rotates SCIM tokens: a second shown once, a third refused in words, the old one revoked', async () => {
    const okta = await seedConnection('Okta', 2);
    await page.goto(connectionPage(okta));
    await page.getByRole('heading', { name: /^Okta/ }).getByText('Active').waitFor();
    await page.getByText('Requests arrive and are applied.').waitFor();
    const tokens = page.locator('section[aria-labelledby="tokens-title"] tbody tr');
    expect(await tokens.count()).toBe(1);
    const original = (await tokens.first().getByRole('cell').first().textContent())!;
    // The original token's last four are the secret's (it was issued at creation).
    await tokens.first().getByText(`…${okta.token.slice(-4)}`).waitFor();

    await page.getByLabel("New token's name").fill('Okta rotated');
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByLabel('SCIM token secret');
    await shown.waitFor();
    const secret = (await shown.textContent())!;
    await page.getByRole('button', { name: 'Copy' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await expect.poll(() => tokens.count()).toBe(2);
    await tokens.filter({ hasText: 'Okta rotated' }).getByText(`…${secret.slice(-4)}`).waitFor();
    expect((await listUsers(okta, secret)).status).toBe(200);
    await page.getByText('2 of 2 active tokens: revoke one before creating another.').waitFor();
    await screenshot(page, 'console-token-created');

    // A third: refused, and the page says why and what to do.
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByRole('alert').filter({ hasText: 'already has two active SCIM tokens' }).filter({ hasText: 'Revoke the one the identity provider no longer uses' }).waitFor();
    expect(await tokens.count()).toBe(2);
    await screenshot(page, 'console-token-limit');

    // The secret is not shown again.
    await page.reload();
    await page.getByRole('button', { name: 'Create token' }).waitFor();
    expect(await page.getByLabel('SCIM token secret').count()).toBe(0);

    // Revoke the original: asked first; Cancel keeps it.
    await page.getByRole('button', { name: `Revoke ${original}` }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke the token ${original}?` });
    await dialog.waitFor();
    await screenshot(page, 'console-token-revoke-confirm', { fullPage: false });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await listUsers(okta)).status).toBe(200);
    await page.getByRole('button', { name: `Revoke ${original}` }).click();
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    await tokens.filter({ hasText: original }).getByText(/^Revoked/).waitFor();
    expect((await listUsers(okta)).status).toBe(401);
    expect((await listUsers(okta, secret)).status).toBe(200);
    await page.getByText('1 of 2 active tokens.').waitFor();
    await screenshot(page, 'console-token-rotated');
    await page.setViewportSize({ width: 360, height: 780 });
    await screenshot(page, 'console-connection-360px');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('pauses and resumes the connection, and turns test mode on and off', async () => {
    const azure = await seedConnection('Azure AD', 1);
    await page.goto(connectionPage(azure));
    const heading = page.getByRole('heading', { name: /^Azure AD/ });
    await heading.getByText('Active').waitFor();
    await page.getByRole('button', { name: 'Pause connection' }).click();
    await heading.getByText('Paused').waitFor();
    const paused = await scimRequest(azure.baseUrl, 'POST', '/Users', { token: azure.token, body: user('while-paused@acme.example') });
    expect(paused.status).toBe(503);
    await screenshot(page, 'console-connection-paused');
    await page.getByRole('button', { name: 'Resume connection' }).click();
    await heading.getByText('Active').waitFor();
    expect((await scimRequest(azure.baseUrl, 'POST', '/Users', { token: azure.token, body: user('after-resume@acme.example') })).status).toBe(201);

    await page.getByRole('button', { name: 'Turn test mode on' }).click();
    await heading.getByText('Test mode').waitFor();
    const { connection } = await hub.gqlOk(`query($c: ID!) { connection(id: $c) { testMode status } }`, { c: azure.id }, orgKey);
    expect(connection).toEqual({ testMode: true, status: 'ACTIVE' });
    await page.getByRole('button', { name: 'Turn test mode off' }).click();
    await page.getByText('Test mode is off.').waitFor();
    expect((await hub.gqlOk(`query($c: ID!) { connection(id: $c) { testMode } }`, { c: azure.id }, orgKey)).connection.testMode).toBe(false);
  });

  it('deletes a connection deprovisioning its users, after the disposition is chosen and the name typed', async () => {
    const leaving = await seedConnection('Legacy LDAP bridge', 3);
    await page.goto(connectionPage(leaving));
    await page.getByRole('button', { name: 'Delete connection…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete the connection Legacy LDAP bridge?' });
    await dialog.getByText('What happens to its 3 active users?').waitFor();
    const confirm = dialog.getByRole('button', { name: 'Delete connection' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel(/Deprovision them/).check();
    await dialog.getByLabel(/Type the connection's name/).fill('Legacy LDAP');
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel(/Type the connection's name/).fill('Legacy LDAP bridge');
    expect(await confirm.isDisabled()).toBe(false);
    await screenshot(page, 'console-delete-deprovision', { fullPage: false });
    await confirm.click();
    await page.getByText('Connection Legacy LDAP bridge deleted.').waitFor();
    await page.getByText('Its 3 active users were deprovisioned: sessions and credentials revoked.').waitFor();
    await screenshot(page, 'console-deleted', { fullPage: false });

    const users = await usersAsOrg(leaving.userIds);
    expect(users.map((u) => u.state)).toEqual(['DEPROVISIONED', 'DEPROVISIONED', 'DEPROVISIONED']);
    expect(users[0].sessions[0].revokedAt).not.toBeNull();
    // Gone for the API too: a deleted connection is NOT_FOUND, as a missing one.
    expect((await hub.gql(`query($c: ID!) { connection(id: $c) { id } }`, { c: leaving.id }, orgKey)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await listUsers(leaving)).status).toBe(401);
    await page.getByRole('link', { name: 'Back to the organization' }).click();
    await page.getByRole('heading', { name: /^Acme Corp/ }).waitFor();
    expect(await page.getByRole('link', { name: 'Legacy LDAP bridge' }).count()).toBe(0);
  });

  it('deletes a connection keeping its users as they are', async () => {
    const moving = await seedConnection('Google Workspace', 2);
    await page.goto(connectionPage(moving));
    await page.getByRole('button', { name: 'Delete connection…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete the connection Google Workspace?' });
    await dialog.getByLabel(/Keep them/).check();
    await dialog.getByLabel(/Type the connection's name/).fill('Google Workspace');
    await screenshot(page, 'console-delete-keep', { fullPage: false });
    await dialog.getByRole('button', { name: 'Delete connection' }).click();
    await page.getByText('Its users were kept as they are, no longer managed by any source.').waitFor();

    const users = await usersAsOrg(moving.userIds);
    expect(users.map((u) => u.state)).toEqual(['ACTIVE', 'ACTIVE']);
    expect(users[0].sessions[0].revokedAt).toBeNull();
    expect((await listUsers(moving)).status).toBe(401);
  });

  it("lists the organization's setup links and revokes one, ending the session opened from it", async () => {
    // One the IT admin has opened (their browser holds a setup session), created through GraphQL.
    const { createSetupLink } = await hub.gqlOk(`mutation($o: ID!) { createSetupLink(input: { organizationId: $o }) { url setupLink { id } } }`, { o: organizationId }, orgKey);
    const itAdmin = newBrowser(hub);
    expect((await itAdmin.gql(START_SETUP, { t: new URL(createSetupLink.url).hash.slice(1) })).body.data.startSetupSession.viewer.kind).toBe('SETUP');
    const opened = page.locator(`tr[data-setup-link="${createSetupLink.setupLink.id}"]`);

    await page.goto(`${hub.url}/console/organizations/${organizationId}`);
    await opened.getByText('Its setup session is open until the link expires.').waitFor();
    // And one created here: it joins the list, not yet opened.
    await page.getByLabel('Expires after').selectOption({ label: '1 hour' });
    await page.getByRole('button', { name: 'Create setup link' }).click();
    await page.getByLabel('Setup link URL').waitFor();
    const rows = page.locator('section[aria-labelledby="setup-link-title"] tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    await rows.filter({ hasText: 'Not opened yet' }).waitFor();
    await screenshot(page, 'console-setup-links');

    await opened.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke this setup link?' });
    await dialog.getByText(/the setup session the IT admin opened from it ends now/).waitFor();
    await dialog.getByRole('button', { name: 'Revoke link' }).click();
    await opened.getByText(/^Revoked/).waitFor();
    expect(await opened.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    expect((await itAdmin.gql(VIEWER)).body.data.viewer).toBeNull();
    const { organization } = await hub.gqlOk(`query($o: ID!) { organization(id: $o) { setupLinks { id revokedAt usedAt } } }`, { o: organizationId }, orgKey);
    expect(organization.setupLinks.find((l: { id: string }) => l.id === createSetupLink.setupLink.id)).toMatchObject({ revokedAt: expect.any(String), usedAt: expect.any(String) });
    await screenshot(page, 'console-setup-link-revoked');
    await page.setViewportSize({ width: 360, height: 780 });
    await screenshot(page, 'console-organization-360px');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
