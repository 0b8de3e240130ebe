// `npm run build` (and `npm start`, before it serves): bundles the hub into dist/main.js with esbuild.
//
// Why a build at all: running the TypeScript through tsx's loader cost ~100 MiB of resident memory
// (its loader thread and transformed-module caches): on PostgreSQL the hub now starts at ~130 MiB
// instead of ~245 (docs/performance.md). Packages stay external (node_modules as installed: Prisma's
// wasm and PGlite's data files load as their authors intended).
// esbuild rather than tsc: it bundles in well under a second, so `npm start` rebuilds every time and
// never serves stale code; type checking stays with `npm run typecheck`.
import { build } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(import.meta.dirname, '..');
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string>; scripts: Record<string, string> };

/**
 * The package's own entry points (`lifecycle-hub/connector`), bundled in rather than left external
 * with the other packages: they point at TypeScript, which `node dist/main.js` cannot load, and a
 * second copy of the SDK beside the bundled one would be a second set of error classes.
 */
const selfReferences = Object.fromEntries(Object.entries(packageJson.exports).map(([subpath, target]) => [`${packageJson.name}${subpath.slice(1)}`, join(root, target)]));

/** Bundles `entry` (a path from the repository root) to `outfile` (same); returns the output's absolute path. */
export async function buildHub({ entry = 'src/hub/main.ts', outfile = 'dist/main.js' } = {}): Promise<string> {
  const out = join(root, outfile);
  const result = await build({
    entryPoints: [join(root, entry)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    alias: selfReferences,
    // The map is written for debugging (NODE_OPTIONS=--enable-source-maps), not enabled by `npm start`:
    // with it the heap held 285 instead of 138 MiB after 1,000 users pages. Unminified, the bundle's
    // stack traces still name every function.
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
    write: false,
  });
  // Written aside and renamed: test workers building at once never run a half-written file.
  await mkdir(dirname(out), { recursive: true });
  for (const file of result.outputFiles) {
    const aside = `${file.path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(aside, file.contents);
    await rename(aside, file.path);
  }
  return out;
}

/**
 * Node's flags in package.json's `start` script (`node <flags> dist/main.js`): test and benchmark
 * hubs run with the same ones, so what they measure is what `npm start` runs.
 */
export function startFlags(): string[] {
  const start = packageJson.scripts.start ?? '';
  const words = start.split(/\s+/).filter(Boolean);
  if (words[0] !== 'node' || words.at(-1) !== 'dist/main.js') throw new Error(`package.json "start" should read "node [flags] dist/main.js", not "${start}"`);
  return words.slice(1, -1);
}

/** Builds `entry` and returns the arguments that run it as `npm start` runs the hub: [...flags, bundle]. */
export async function startCommand(entry?: { entry: string; outfile: string }): Promise<string[]> {
  return [...startFlags(), await buildHub(entry)];
}

/** The browser apps (ui/): each an entry point, and the page the hub serves it with. */
export const UI_APPS = {
  console: { entry: 'ui/console/main.tsx', title: 'Lifecycle Hub console' },
  setup: { entry: 'ui/setup/main.tsx', title: 'Set up your directory' },
} as const;

/**
 * Bundles ui/ into dist/ui: assets/<name>-<hash>.{js,css} (content-hashed, so the hub caches them for
 * a year) and one <app>.html per app referencing them. Everything the pages load comes from here:
 * no CDN, nothing fetched at run time. Built into a fresh directory and swapped in, so a hub serving
 * the previous build never sees half of this one.
 */
export async function buildUi({ outdir = 'dist/ui' } = {}): Promise<string> {
  const out = join(root, outdir);
  const staging = `${out}.${randomBytes(4).toString('hex')}.tmp`;
  const result = await build({
    entryPoints: Object.fromEntries(Object.entries(UI_APPS).map(([name, app]) => [name, join(root, app.entry)])),
    outdir: join(staging, 'assets'),
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    jsx: 'automatic',
    // The setup portal shows docs/scim/<idp>.md: one source for the docs and the portal's instructions.
    loader: { '.md': 'text' },
    minify: true,
    sourcemap: 'linked',
    sourcesContent: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    logLevel: 'warning',
  });
  for (const [name, app] of Object.entries(UI_APPS)) {
    const [js, meta] = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === app.entry) ?? [];
    if (!js || !meta) throw new Error(`esbuild wrote no bundle for ${app.entry}`);
    const asset = (path: string) => `/ui/assets/${path.split('/').at(-1)}`;
    const css = meta.cssBundle ? `\n    <link rel="stylesheet" href="${asset(meta.cssBundle)}">` : '';
    // The shared chunks are fetched with the entry, not after it is parsed: one round trip less to first paint.
    const preloads = meta.imports.filter((i) => i.kind === 'import-statement' && !i.external).map((i) => `\n    <link rel="modulepreload" href="${asset(i.path)}">`).join('');
    await writeFile(join(staging, `${name}.html`), `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${app.title}</title>${css}${preloads}
    <script type="module" src="${asset(js)}"></script>
  </head>
  <body>
    <div id="root"></div>
    <noscript>This page needs JavaScript.</noscript>
  </body>
</html>
`);
  }
  const previous = `${out}.${randomBytes(4).toString('hex')}.old`;
  await mkdir(dirname(out), { recursive: true });
  await rename(out, previous).catch(() => undefined);
  await rename(staging, out);
  await rm(previous, { recursive: true, force: true });
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.argv.includes('--ui-only')) await buildHub();
  await buildUi();
}
