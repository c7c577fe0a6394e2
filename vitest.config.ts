import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real sshd / PostgreSQL / Podman; two cores here.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
