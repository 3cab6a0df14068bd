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
          JWT_SECRET: "test-jwt-secret-0123456789abcdefghijklmnopqrstuv",
          AUTH_SECRET: "test-auth-secret-0123456789abcdefghijklmnopqrstu",
          ADMIN_EMAILS:
            "root@gaplash.test, Moderator@Gaplash.test, story-admin@gaplash.test, listed-admin@gaplash.test, topics-admin@gaplash.test",
          GOOGLE_CLIENT_ID: "gaplash-test.apps.googleusercontent.com",
          GOOGLE_CLIENT_SECRET: "test-google-client-secret",
          GOOGLE_REDIRECT_URI: "http://gaplash.test/auth/google/callback",
        },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    setupFiles: ["./test/support/frame-contract-setup.ts"],
    include: ["test/**/*.test.ts"],
    // The browser story runs in Node against wrangler dev (vitest.browser.config.ts), and the local
    // stack's own tests in Node too (vitest.node.config.ts).
    exclude: ["test/browser/**", "test/node/**"],
    // Request log lines are printed only for tests that fail.
    silent: "passed-only",
    // Files run one after another: matchmaking queues, rate limits and the admin statistics are
    // shared state, and each file asserts exact figures about what it created.
    fileParallelism: false,
    // One module graph for every file, not one per file: a fresh one cost about two minutes a run.
    // The state that matters is shared anyway (Postgres, Redis, the Durable Objects), and no
    // module of ours keeps state a file could trip on; a test that reads a module-level global
    // says so (test/stack/neon-http.test.ts).
    isolate: false,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
