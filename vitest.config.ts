import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql ships ESM and CJS builds; Node (and graphql-yoga) load the CJS one, so the tests must
    // too, or two graphql instances meet ("Cannot use GraphQLObjectType from another module").
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts', 'plugins/**/*.test.ts', 'src/**/*.test.ts'],
    // Need PostgreSQL, redis-server and several processes: vitest.multi-instance.config.ts (.ci/run).
    // Fault tests spawn hub processes and PostgreSQL clusters: vitest.faults.config.ts (.ci/run).
    // The import-boundary fixture's files are read for their imports, never run.
    exclude: [...configDefaults.exclude, 'test/multi-instance/**', 'test/faults/**', 'test/connectors/import-boundary-fixture/**'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/local-network-only.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Test files share a worker's module cache instead of each loading the hub again: importing it
    // (Prisma's client, graphql, PGlite, the vendor SDKs) took 173 s of a 7-minute run on 2 cores; with
    // this, 14 s and 4 minutes. Each file still starts its own hub and database, so a file must leave
    // nothing global behind (no module-level state, listeners or prototype changes).
    isolate: false,
    // PGlite is CPU-bound WebAssembly and CI has 2 cores.
    maxWorkers: 2,
  },
});
