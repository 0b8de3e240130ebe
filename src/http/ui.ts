// The browser apps built from ui/ (scripts/build.ts → dist/ui): the operator console at /console,
// the customer's setup portal at /setup, their hashed assets at /ui/assets/*. The apps talk to the
// hub only through /graphql, like any other client.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { Hono, type Context } from 'hono';

/** Where the setup portal may be embedded (an iframe in the SaaS's settings page) unless configured. */
export const DEFAULT_SETUP_FRAME_ANCESTORS = "'self'";

export interface UiOptions {
  /** dist/ui (found from this file: src/http in the sources, dist/ in the bundle). */
  dir?: string;
  /** The setup portal's CSP frame-ancestors sources (the SETUP_FRAME_ANCESTORS setting). */
  setupFrameAncestors?: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** What esbuild names assets: <name>-<hash>.<ext>, never a path. */
const ASSET_NAME = /^[A-Za-z0-9_-]+\.[A-Za-z0-9.]+$/;

function contentSecurityPolicy(frameAncestors: string): string {
  // No inline script or style, nothing from another origin: the bundle is all the page runs.
  // connect-src 'self' covers the same-origin ws:/wss: of graphql-ws (CSP Level 3).
  return [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

/** The repository (or installed package) root: the nearest folder up with a package.json. */
function packageRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return from;
    dir = up;
  }
  return dir;
}

export function uiRoutes(options: UiOptions = {}): Hono {
  const dir = options.dir ?? join(packageRoot(import.meta.dirname), 'dist', 'ui');
  const app = new Hono();
  const policies = {
    console: contentSecurityPolicy("'none'"),
    setup: contentSecurityPolicy(options.setupFrameAncestors ?? DEFAULT_SETUP_FRAME_ANCESTORS),
  };

  // Read on every request (a few hundred bytes): a rebuild is served at once, and the page never
  // names assets a rebuild has removed.
  const page = (name: keyof typeof policies) => async (c: Context) => {
    c.header('Cache-Control', 'no-cache');
    c.header('Content-Security-Policy', policies[name]);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    if (name === 'console') c.header('X-Frame-Options', 'DENY');
    const html = await readFile(join(dir, `${name}.html`), 'utf8').catch(() => null);
    if (html !== null) return c.html(html);
    return c.html(notBuiltPage(dir), 503);
  };
  for (const name of ['console', 'setup'] as const) {
    app.get(`/${name}`, page(name));
    // Deep links (/console/organizations/…) are the SPA's routes.
    app.get(`/${name}/*`, page(name));
  }

  app.get('/ui/assets/:file', async (c) => {
    const file = c.req.param('file');
    const type = CONTENT_TYPES[extname(file)];
    if (!ASSET_NAME.test(file) || !type) return c.json({ error: 'not_found', message: 'no such asset' }, 404);
    const body = await readFile(join(dir, 'assets', file)).catch(() => null);
    if (!body) return c.json({ error: 'not_found', message: 'no such asset (a newer build replaced it: reload the page)' }, 404);
    return c.body(body, 200, {
      'Content-Type': type,
      // The name changes with the content: a year, never revalidated.
      'Cache-Control': 'public, max-age=31536000, immutable',
      'X-Content-Type-Options': 'nosniff',
    });
  });
  return app;
}

function notBuiltPage(dir: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not built</title></head><body>
<main><h1>The console and setup portal are not built</h1>
<p>No build was found in <code>${dir.replace(/[<>&]/g, '')}</code>. Run <code>npm run build</code> (<code>npm start</code> and <code>npm run dev</code> build it for you), then reload this page.</p></main>
</body></html>`;
}
