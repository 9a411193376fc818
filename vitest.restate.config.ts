import { defineConfig } from 'vitest/config';

// The real-engine suite (npm run test:restate): restate-server and worker processes, one file at a time.
export default defineConfig({
  test: {
    include: ['test/restate/engine/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 90_000,
    fileParallelism: false,
  },
});
