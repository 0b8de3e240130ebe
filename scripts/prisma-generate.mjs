// Runs `prisma generate` at install time without network access.
//
// The Prisma CLI downloads its native schema engine before every command, even `generate`, which
// does not use it. Where that download is impossible (offline machines, locked-down CI) pointing
// PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips it; the Rust-free `prisma-client`
// generator then runs normally. Migrations never need the binary: see src/storage/migrate.ts.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { delimiter, dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= join(root, 'package.json');
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
// The Pothos generator is a bin of @pothos/plugin-prisma.
env.PATH = [join(root, 'node_modules/.bin'), env.PATH].join(delimiter);
env.CHECKPOINT_DISABLE = '1';

const result = spawnSync(process.execPath, [join(root, 'node_modules/prisma/build/index.js'), 'generate'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
if (result.status !== 0) {
  console.error('prisma generate failed: check prisma/schema.prisma, then run `npm run db:generate`.');
  process.exit(result.status ?? 1);
}
