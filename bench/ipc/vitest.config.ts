// The IPC benchmark's own checks: npx vitest run --config bench/ipc/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/ipc/**/*.test.ts'],
    testTimeout: 120_000,
    fileParallelism: false,
  },
});
