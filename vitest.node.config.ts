import { defineConfig } from "vitest/config";

/**
 * The local stack's own tests, in Node: they start its servers as processes, crash and restart
 * them, and check that the stack lives through it (`test/node`).
 */
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
