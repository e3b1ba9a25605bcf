import { defineConfig } from 'vitest/config';
import { HeavyLightSequencer } from './test/setup/sequencer.js';

/**
 * Two files at a time on the two cores. Heavy files (test/setup/heavy-list.ts: Chromium renders,
 * kill -9 loops, large crawls, serve under faults) never run beside each other: each holds a lock
 * for its run (test/setup/heavy-files.ts) while light files run beside it. No test waits on a wall
 * clock: the helpers wait on progress (test/helpers/progress.ts) and fail a hang naming what was
 * pending. The timeouts below are a last resort against a hang the helpers cannot see.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/heavy-files.ts'],
    sequence: { sequencer: HeavyLightSequencer },
    maxWorkers: 2,
    testTimeout: 20 * 60_000,
    hookTimeout: 30 * 60_000,
  },
});
