// Browser tests: a real hub (test/support/server.ts) and Debian's Chromium driven by playwright-core.
// Chromium missing: the tests skip, saying why, under plain `npm test` (a fresh machine may lack it),
// and fail under BROWSER_TESTS=required (.ci/run installs it and sets that).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CHROMIUM_PATH, chromiumAvailable } from './browser.ts';

export * from './browser.ts';

const root = join(import.meta.dirname, '..', '..');
export const SCREENSHOTS = join(root, 'test', 'browser', 'screenshots');
const required = process.env.BROWSER_TESTS === 'required';

/** describe() when Chromium is there; otherwise skipped with the reason, or one failing test when required. */
export function describeInBrowser(name: string, body: () => void) {
  if (chromiumAvailable()) return describe(name, body);
  const reason = `Chromium not found at ${CHROMIUM_PATH} (set CHROMIUM_PATH, or apt-get install chromium)`;
  if (required) {
    return describe(name, () => {
      it('has Chromium (BROWSER_TESTS=required)', () => {
        throw new Error(`${reason}: browser tests are required here`);
      });
    });
  }
  console.warn(`[browser tests] skipped "${name}": ${reason}. BROWSER_TESTS=required makes this a failure.`);
  return describe.skip(name, body);
}

/**
 * The README's screenshots (docs/images/*.png, committed) are rewritten only with
 * UPDATE_README_SCREENSHOTS=1 (or when missing), so a test run leaves the checkout clean.
 */
export async function readmeScreenshot(page: Page, file: string): Promise<void> {
  const path = join(root, 'docs', 'images', file);
  if (process.env.UPDATE_README_SCREENSHOTS === '1' || !existsSync(path)) await page.screenshot({ path });
}

/** Saves test/browser/screenshots/<name>.png (git-ignored); returns its path. */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean; path?: string } = {}): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = options.path ?? join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: options.fullPage ?? true });
  return path;
}
