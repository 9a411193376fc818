import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-browser and real-Restate suites are their own scripts (npm run test:browser, test:restate).
    exclude: ['test/browser/**', 'test/restate/engine/**', 'node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
  },
});
