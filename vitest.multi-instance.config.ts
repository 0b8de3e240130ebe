// Tests that need PostgreSQL, a redis-server binary and several server processes: `.ci/run` runs
// them (npm run test:multi-instance, with TEST_DATABASE_URL). `npm test` leaves them out.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ['test/multi-instance/**/*.test.ts'],
    globalSetup: base.test?.globalSetup,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
