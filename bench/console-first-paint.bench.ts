// The operator console's users page (100 users) in a real browser: from navigation start to the
// 100 rows painted. Debian's Chromium (or CHROMIUM_PATH) via playwright-core, against a hub process
// built as `npm start` builds it, the pages and assets served by it (dist/ui).
//
// Setup: one organization with 2,000 SCIM users (bench/seed-directory.ts), an organization key.
// Each sample is a fresh browser context (an empty cache: the first visit), then a reload in the
// same context (assets from the cache, as every later visit). Signing in first (the page's own
// sign-in once the hub has console sessions) loads the bundle, so the cache is emptied (CDP) before
// the first visit. Painted: the first animation frame
// after the 100th row is in the DOM (a MutationObserver added before the page's scripts run),
// read as performance.now() (milliseconds since navigation start). Also the browser's own
// first-contentful-paint (the shell, before the data).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { buildUi } from '../scripts/build.ts';
import { openDatabase } from '../src/storage/database.ts';
import { spawnHubProcess } from '../test/support/hub-process.ts';
import { CHROMIUM_PATH, chromiumAvailable, launchBrowser, offlineContext, signIn } from '../test/browser/browser.ts';
import { seedLargeDirectory } from './seed-directory.ts';
import { serverArgs } from './support.ts';
import { checkTime, summarize, type Benchmark } from './types.ts';

const ROWS = 100;

declare global {
  interface Window { __rowsPaintedAt?: number }
}

async function paintedAt(page: Page): Promise<{ rows: number; fcp: number }> {
  await page.waitForFunction(() => window.__rowsPaintedAt !== undefined, undefined, { timeout: 30_000 });
  return page.evaluate(() => ({
    rows: window.__rowsPaintedAt!,
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
  }));
}

export const consoleFirstPaint: Benchmark = {
  name: 'console: users page (100 users) painted in Chromium',
  databases: ['pglite'],
  timeLimitSeconds: 180,
  targets: [{ metric: 'first_visit_p50_ms', op: '<=', value: 1000, label: 'first paint of a 100-user console page < 1 s' }],
  async run(ctx) {
    if (!chromiumAvailable()) throw new Error(`Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`);
    const samples = ctx.quick ? 3 : 15;
    const dataDir = mkdtempSync(join(tmpdir(), 'lh-bench-console-'));
    const encryptionKey = randomBytes(32);
    let hub: Awaited<ReturnType<typeof spawnHubProcess>> | undefined;
    let browser: Browser | undefined;
    try {
      await buildUi();
      const db = await openDatabase({ dataDir });
      const seeded = await seedLargeDirectory(db, { users: 2_000, groups: 20, encryptionKey, log: ctx.log }).finally(() => db.close());
      hub = await spawnHubProcess({
        DATA_DIR: dataDir, DATABASE_URL: '', ADMIN_API_KEY: `bench-admin-${randomBytes(12).toString('hex')}`,
        ENCRYPTION_KEY: encryptionKey.toString('base64'), LOG_LEVEL: 'error',
      }, { nodeArgs: serverArgs() });
      browser = await launchBrowser();
      const url = `${hub.url}/console/organizations/${seeded.organizationId}/users`;
      const first: number[] = [];
      const again: number[] = [];
      const fcp: number[] = [];
      for (let i = 0; i < samples + 1; i++) {
        checkTime(ctx.signal);
        const { context } = await offlineContext(browser);
        await context.addInitScript((rows: number) => {
          new MutationObserver((_, observer) => {
            if (document.querySelectorAll('main tbody tr').length < rows) return;
            observer.disconnect();
            requestAnimationFrame(() => (window.__rowsPaintedAt = performance.now()));
          }).observe(document, { childList: true, subtree: true });
        }, ROWS);
        const page = await context.newPage();
        await signIn(page, hub.url, seeded.key);
        // Signing in loaded the bundle: emptied so the first visit fetches everything.
        await (await context.newCDPSession(page)).send('Network.clearBrowserCache');
        await page.goto(url);
        const cold = await paintedAt(page);
        await page.reload();
        const warm = await paintedAt(page);
        await context.close();
        // The first sample warms the hub (its first users query plans and caches): not counted.
        if (i === 0) continue;
        first.push(cold.rows);
        again.push(warm.rows);
        fcp.push(cold.fcp);
      }
      const f = summarize(first);
      const a = summarize(again);
      const p = summarize(fcp);
      return {
        metrics: { first_visit_p50_ms: f.p50_ms, first_visit_p95_ms: f.p95_ms, repeat_visit_p50_ms: a.p50_ms, first_contentful_paint_p50_ms: p.p50_ms },
        params: { rows: ROWS, directory_users: 2_000, samples },
        notes: 'navigation start → the 100 rows painted (first frame after they are in the DOM); first visit with an empty cache, repeat visit a reload',
      };
    } finally {
      await browser?.close();
      await hub?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
