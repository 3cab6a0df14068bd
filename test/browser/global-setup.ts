import type { TestProject } from "vitest/node";
import { startStack } from "../../scripts/stack/index.ts";
import { startLocalWorker } from "../../scripts/stack/worker.ts";
import { consoleAdminEmail } from "./learners.ts";

/** The real local stack and the API under `wrangler dev`, once for the browser story. */
export default async function setup(project: TestProject) {
  const stack = await startStack({ log: () => {} });
  try {
    const worker = await startLocalWorker({
      vars: {
        ...stack.bindings,
        ENVIRONMENT: "development",
        // The console's story signs in as this admin (test/browser/console.test.ts).
        ADMIN_EMAILS: consoleAdminEmail,
        // Its learners' accounts are minutes old: the new-account rule would hold at the second
        // reporter, and the story is told with the general rule's three.
        HOLD_NEW_ACCOUNT_REPORTERS: "3",
        // Each story signs that one admin address in with a code of its own, more than the 20 an
        // hour an address gets (the limit itself is tested inside workerd, test/routes/auth/email.errors.test.ts).
        RATE_LIMIT_CODE_MAILS_PER_EMAIL_HOUR: "1000",
      },
    });
    project.provide("apiUrl", worker.url);
    return async () => {
      await worker.stop();
      await stack.stop();
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    apiUrl: string;
  }
}
