import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { TestProject } from "vitest/node";
import type { FaultFixtures, StackBindings } from "../scripts/stack/bindings.ts";

interface StackReady {
  bindings: StackBindings;
  database: "pglite" | "postgres";
  redis: string;
  fixtures: FaultFixtures;
}

/**
 * Starts the real local stack once for the whole run, in its own Node process on free
 * ports, and hands its addresses to the Workers pool (bindings) and to the tests (`inject`).
 * PGlite runs in memory, so every run starts from an empty, freshly migrated database;
 * with `DATABASE_URL` set the suite runs against that server instead.
 */
export default async function setup(project: TestProject) {
  const child = spawn(
    process.execPath,
    ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", "scripts/stack/serve.ts"],
    {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, STACK_DATA_DIR: "", STACK_QUIET: "1", STACK_FIXTURES: "1" },
    },
  );
  const ready = await new Promise<StackReady>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the local stack exited with code ${code} before it was ready`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.startsWith("STACK_READY ")) resolve(JSON.parse(line.slice("STACK_READY ".length)) as StackReady);
    });
  });
  child.removeAllListeners("exit");
  // Its own crash report is on standard error just above; this says what it means for the run.
  let stopping = false;
  child.once("exit", (code, signal) => {
    if (stopping) return;
    console.error(
      `\n[test stack] the local stack process exited in the middle of the run (${signal ?? `code ${code}`}): ` +
        "every test after this point fails on a refused connection. Its last words are above.",
    );
  });
  console.log(`test stack: ${ready.database}, ${ready.redis}`);
  project.provide("stack", ready.bindings);
  project.provide("database", ready.database);
  project.provide("fixtures", ready.fixtures);
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    stopping = true;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
}
