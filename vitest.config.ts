import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import type { StackBindings } from "./scripts/stack/bindings.ts";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          ...inject<StackBindings>("stack"),
          APP_COMMIT: "test",
          APP_BUILT_AT: "2026-01-01T00:00:00.000Z",
        },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["test/**/*.test.ts"],
    // Request log lines are printed only for tests that fail.
    silent: "passed-only",
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
