// Fault tests: kill -9 of the hub, PostgreSQL stopped under load. They spawn hub processes and a
// PostgreSQL cluster of their own (initdb/pg_ctl), so `npm test` leaves them out; `.ci/run` runs
// them (npm run test:faults).
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ['test/faults/**/*.test.ts'],
    setupFiles: base.test?.setupFiles,
    testTimeout: 240_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Each test already runs a hub process and a load generator: one file at a time on 2 cores.
    maxWorkers: 1,
  },
});
