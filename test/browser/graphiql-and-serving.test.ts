// The hub serves its browser pages itself, working with no network: GraphiQL at /graphql, the
// console at /console (and its deep links), the portal at /setup, hashed assets cached for a year.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestHub, type TestHub } from '../support/server.ts';
import { describeInBrowser, launchBrowser, offlineContext, screenshot } from './support.ts';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub?.close();
});

it('serves the console and its deep links with a strict CSP, and hashed assets as immutable', async () => {
  for (const path of ['/console', '/console/organizations/x/users', '/setup']) {
    const response = await fetch(`${hub.url}${path}`);
    expect(response.status, path).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain(path.startsWith('/console') ? "frame-ancestors 'none'" : "frame-ancestors 'self'");
    const html = await response.text();
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/); // no inline script
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/ui\/assets\/[\w-]+-[A-Z0-9]{8}\.(js|css)$/);
      const served = await fetch(`${hub.url}${asset}`);
      expect(served.status, asset).toBe(200);
      expect(served.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      await served.arrayBuffer();
    }
  }
  expect((await fetch(`${hub.url}/ui/assets/..%2Fconsole.html`)).status).toBe(404);
  expect((await fetch(`${hub.url}/ui/assets/nope-AAAAAAAA.js`)).status).toBe(404);
});

describeInBrowser('GraphiQL', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders at /graphql with the network blocked, and nothing leaves 127.0.0.1', async () => {
    const { context, leftLocalhost } = await offlineContext(browser);
    const page = await context.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (request) => failed.push(request.url()));
    const response = await page.goto(`${hub.url}/graphql`);
    expect(response?.headers()['content-type']).toContain('text/html');
    // The editor and its Run button exist only once GraphiQL's scripts ran.
    await page.locator('.graphiql-container').first().waitFor({ timeout: 30_000 });
    await page.locator('.graphiql-execute-button').waitFor();
    await screenshot(page, 'graphiql', { fullPage: false });
    expect(leftLocalhost).toEqual([]);
    expect(failed).toEqual([]);
    await context.close();
  });
});
