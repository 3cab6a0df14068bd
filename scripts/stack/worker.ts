import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toEnvFile } from "./env-file.ts";
import { freePort } from "./redis.ts";

export interface LocalWorker {
  url: string;
  stop(): Promise<void>;
}

const root = new URL("../..", import.meta.url).pathname;

/**
 * The API under `wrangler dev` (workerd) on a free loopback port, with `vars` (the stack's
 * bindings and any settings) in a private env file, fresh signing keys and its own Durable
 * Object storage. Resolves once `/health` answers. `stop` ends wrangler's whole process tree.
 */
export async function startLocalWorker(options: {
  vars: Record<string, string>;
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
  /** Extra `wrangler dev` arguments, e.g. `--config` for another Worker. */
  args?: string[];
}): Promise<LocalWorker> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "gaplash-worker-"));
  const envFile = join(dir, "worker.env");
  const key = () => randomBytes(32).toString("base64url");
  await writeFile(envFile, toEnvFile({ JWT_SECRET: key(), AUTH_SECRET: key(), ...options.vars }), { mode: 0o600 });
  const child = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      ...(options.args ?? []),
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(await freePort()),
      "--log-level",
      options.logLevel ?? "error",
      "--persist-to",
      join(dir, "state"),
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      // Its own process group, so that stopping it stops workerd and every helper process too.
      detached: true,
    },
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      const exited = once(child, "exit");
      process.kill(-child.pid, "SIGINT");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid, "SIGKILL");
    }
    await rm(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, stop };
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not come up on ${url}`);
}
