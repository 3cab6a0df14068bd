import type { TestProject } from "vitest/node";
import { startStack } from "../../scripts/stack/index.ts";
import { startLocalWorker } from "../../scripts/stack/worker.ts";

/** The real local stack and the API under `wrangler dev`, once for the browser story. */
export default async function setup(project: TestProject) {
  const stack = await startStack({ log: () => {} });
  try {
    const worker = await startLocalWorker({ vars: { ...stack.bindings, ENVIRONMENT: "development" } });
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
