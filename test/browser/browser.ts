// Chromium for the browser tests and the console benchmark: Debian's build (or CHROMIUM_PATH)
// driven by playwright-core, a context that can reach only 127.0.0.1, and console sign-in.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumAvailable = () => existsSync(CHROMIUM_PATH);

export async function launchBrowser(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export interface OfflineContext {
  context: BrowserContext;
  /** Every request the pages made to somewhere other than 127.0.0.1 (each was aborted). */
  leftLocalhost: string[];
}

/**
 * A browser context that can reach only 127.0.0.1: anything else is aborted and recorded, as a
 * host with no internet would (no CDN, no font service, no telemetry).
 */
export async function offlineContext(browser: Browser, options: Parameters<Browser['newContext']>[0] = {}): Promise<OfflineContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const leftLocalhost: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
    leftLocalhost.push(route.request().url());
    return route.abort('internetdisconnected');
  });
  context.on('page', (page) => page.on('websocket', (ws) => {
    if (new URL(ws.url()).hostname !== '127.0.0.1') leftLocalhost.push(ws.url());
  }));
  return { context, leftLocalhost };
}

/** Signs the page in to the console with `apiKey`: through the sign-in form, as a person would. */
export async function signIn(page: Page, baseUrl: string, apiKey: string): Promise<void> {
  await page.goto(`${baseUrl}/console`);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Organizations' }).waitFor();
}
