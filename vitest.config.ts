import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // CLI tests spawn child processes and servers; two cores, so two files at a time.
    maxWorkers: 2,
  },
});
