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
    exclude: [...configDefaults.exclude, 'test/multi-instance/**', 'test/faults/**'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/local-network-only.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // PGlite is CPU-bound WebAssembly and CI has 2 cores.
    maxWorkers: 2,
  },
});
