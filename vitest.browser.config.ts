import { defineConfig } from "vitest/config";

/**
 * `npm run test:browser`: the two-device story in real Chromium against the API under
 * `wrangler dev` and the real local stack, which the global setup starts (in Node, not workerd).
 */
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    globalSetup: ["./test/browser/global-setup.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
