// Connectors reach the hub only through its SDK: every plugin, built-in ones included, imports
// `lifecycle-hub/connector` and nothing else from src/ (and a plugin's tests `lifecycle-hub/connector/kit`,
// nothing else from test/). That is what lets a partner's connector survive any internal rename.
//
// The imports are the ones TypeScript itself resolves (its --traceResolution), not a regular
// expression over the text: type-only imports, re-exports and import() all count, comments and
// strings do not. (typescript 7 has no stable JavaScript parser API; its CLI's trace is stable.)
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SDK = 'lifecycle-hub/connector';
const KIT = 'lifecycle-hub/connector/kit';
/** The hub's database clients: a connector never touches the database (it returns commands). */
const DATABASE_CLIENTS = /^(pg|pg-.*|@prisma\/.*|prisma|@electric-sql\/pglite|pglite-prisma-adapter)(\/.*)?$/;

const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');

interface Import {
  /** The importing file, from the repository root. */
  file: string;
  specifier: string;
}

/** Every module specifier in `files`, as the compiler resolves them for the project, and the files it read. */
async function importsOf(files: string[]): Promise<{ imports: Import[]; read: Set<string> }> {
  // Files named on the command line: no tsconfig is read, so give the resolution settings it has.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [tsc, '--ignoreConfig', '--listFilesOnly', '--traceResolution', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--allowImportingTsExtensions', '--allowJs', '--noEmit', '--skipLibCheck', ...files],
    { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 },
  );
  const imports: Import[] = [];
  for (const [, specifier, from] of stdout.matchAll(/^======== Resolving module '(.+)' from '(.+)'\. ========$/gm)) {
    imports.push({ file: relative(ROOT, from!), specifier: specifier! });
  }
  const read = new Set(stdout.split('\n').filter((line) => line.startsWith(ROOT)).map((line) => relative(ROOT, line.trim())));
  return { imports, read };
}

/** What is wrong with one import of a file under `folder` (a path from the root), or null. */
function problem(folder: string, { file, specifier }: Import): string | null {
  if (specifier === SDK) return null;
  if (specifier === KIT) return file.endsWith('.test.ts') ? null : `${KIT} is for a plugin's tests (*.test.ts), not its code`;
  if (specifier.startsWith('.')) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
    if (target.startsWith(folder + sep)) return null;
    if (target.startsWith(`src${sep}`)) return `reaches into the hub (${target}): import from '${SDK}'`;
    if (target.startsWith(`test${sep}`)) return `reaches into the hub's tests (${target}): a plugin's tests import '${KIT}'`;
    return `leaves ${folder}/ (${target})`;
  }
  if (/^(\/|[A-Za-z]:|file:)/.test(specifier)) return `imports by absolute path: import from '${SDK}'`;
  if (specifier === 'lifecycle-hub' || specifier.startsWith('lifecycle-hub/')) return `'${SDK}' is the hub's only entry point for connectors`;
  if (DATABASE_CLIENTS.test(specifier)) return `uses a database client (${specifier}): connectors return commands, the engine writes`;
  return null;
}

/** Every import of every module under `folder` that breaks the boundary, as "file: specifier: why". */
async function boundaryViolations(folder: string): Promise<string[]> {
  const files = readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.[cm]?[jt]sx?$/.test(name) && !name.endsWith('.d.ts'))
    .map((name) => join(folder, name));
  const { imports, read } = await importsOf(files);
  // A file the compiler skipped would be a file nobody checked.
  expect(files.filter((f) => !read.has(f))).toEqual([]);
  const violations = imports
    .filter((i) => i.file.startsWith(folder + sep))
    .flatMap((i) => {
      const why = problem(folder, i);
      return why ? [`${i.file}: '${i.specifier}': ${why}`] : [];
    });
  return [...new Set(violations)].sort();
}

describe('the connector import boundary', () => {
  it('holds for every plugin: src/ only through lifecycle-hub/connector, test/ only through its kit in tests', async () => {
    expect(await boundaryViolations('plugins')).toEqual([]);
  }, 60_000);

  it('refuses each way of reaching past it (a fixture folder checked as if it were plugins/)', async () => {
    const fixture = join('test', 'connectors', 'import-boundary-fixture');
    const at = (name: string) => join(fixture, name);
    expect(await boundaryViolations(fixture)).toEqual([
      `${at('reaches-in.ts')}: '../../../src/engine/commands.ts': reaches into the hub (${join('src', 'engine', 'commands.ts')}): import from '${SDK}'`,
      `${at('reaches-in.ts')}: '../../../src/engine/name-key.ts': reaches into the hub (${join('src', 'engine', 'name-key.ts')}): import from '${SDK}'`,
      `${at('reaches-in.ts')}: '../../../src/storage/sql.ts': reaches into the hub (${join('src', 'storage', 'sql.ts')}): import from '${SDK}'`,
      `${at('reaches-in.ts')}: '../../support/svix-signing.ts': reaches into the hub's tests (${join('test', 'support', 'svix-signing.ts')}): a plugin's tests import '${KIT}'`,
      `${at('reaches-in.ts')}: '${KIT}': ${KIT} is for a plugin's tests (*.test.ts), not its code`,
    ]);
  }, 60_000);
});
