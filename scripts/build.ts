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
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(import.meta.dirname, '..');

/** Bundles `entry` (a path from the repository root) to `outfile` (same); returns the output's absolute path. */
export async function buildHub({ entry = 'src/main.ts', outfile = 'dist/main.js' } = {}): Promise<string> {
  const out = join(root, outfile);
  const result = await build({
    entryPoints: [join(root, entry)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
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
  const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
  const words = start.split(/\s+/).filter(Boolean);
  if (words[0] !== 'node' || words.at(-1) !== 'dist/main.js') throw new Error(`package.json "start" should read "node [flags] dist/main.js", not "${start}"`);
  return words.slice(1, -1);
}

/** Builds `entry` and returns the arguments that run it as `npm start` runs the hub: [...flags, bundle]. */
export async function startCommand(entry?: { entry: string; outfile: string }): Promise<string[]> {
  return [...startFlags(), await buildHub(entry)];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildHub();
