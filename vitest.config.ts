import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql ships ESM and CJS builds; Node (and graphql-yoga) load the CJS one, so the tests must
    // too, or two graphql instances meet ("Cannot use GraphQLObjectType from another module").
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts', 'plugins/**/*.test.ts', 'src/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // PGlite is CPU-bound WebAssembly and CI has 2 cores.
    maxWorkers: 2,
  },
});
