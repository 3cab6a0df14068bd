import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { toEnvFile } from "./env-file.ts";
import { freePort } from "./redis.ts";

export interface LocalWorker {
  url: string;
  /** workerd's inspector (Chrome DevTools protocol) on loopback, for CPU profiles (`profiler.ts`). */
  inspectorPort: number;
  /**
   * CPU time (ms, user + system) the worker's workerd processes have used since they started, read
   * from Linux's /proc at clock-tick resolution (10 ms); the difference over many requests is what
   * they cost. Throws on a system without /proc.
   */
  workerdCpuMs(): Promise<number>;
  /** Why wrangler is gone, with its last lines, if it exited; undefined while it runs. */
  exited(): string | undefined;
  stop(): Promise<void>;
}

const root = new URL("../..", import.meta.url).pathname;

/**
 * The API under `wrangler dev` (workerd) on a free loopback port, with `vars` (the stack's
 * bindings and any settings) in a private env file, fresh signing keys unless `vars` brings its
 * own, and its own Durable Object storage. Resolves once `readyPath` (default `/health`) answers
 * 200. wrangler runs in a process group of its own (npx, wrangler, workerd, esbuild), so `stop`
 * ends every one of them.
 */
export async function startLocalWorker(options: {
  vars: Record<string, string>;
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
  /** Extra `wrangler dev` arguments, e.g. `--config` for another Worker. */
  args?: string[];
  readyPath?: string;
  /** Keep wrangler's output to ourselves (it is still quoted when wrangler fails). */
  quiet?: boolean;
}): Promise<LocalWorker> {
  const port = await freePort();
  const inspectorPort = await freePort();
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
      String(inspectorPort),
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
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      // Its own process group, so that stopping it stops workerd and every helper process too.
      detached: true,
    },
  );
  const lastLines: string[] = [];
  // Without a listener, failing to start npx (or to signal it) would end the process that started it.
  child.on("error", (error) => lastLines.push(`could not run wrangler dev: ${error.message}`));
  const keep = (chunk: Buffer) => {
    lastLines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    lastLines.splice(0, Math.max(0, lastLines.length - 40));
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", (chunk: Buffer) => {
    keep(chunk);
    if (!options.quiet) process.stderr.write(chunk);
  });
  const stop = async () => {
    await stopProcessGroup(child);
    await rm(dir, { recursive: true, force: true });
  };
  const exited = () =>
    child.exitCode === null && child.signalCode === null
      ? undefined
      : `wrangler dev exited (${child.exitCode ?? child.signalCode}); its last words:\n${lastLines.slice(-15).join("\n")}`;

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && !exited()) {
    try {
      const response = await fetch(`${url}${options.readyPath ?? "/health"}`, { signal: AbortSignal.timeout(5000) });
      if (response.status === 200) {
        return { url, inspectorPort, exited, stop, workerdCpuMs: () => groupCpuMs(child.pid, "workerd") };
      }
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  await stop();
  throw new Error(`wrangler dev did not come up on ${url}:\n${lastLines.join("\n")}`);
}

/** Linux's clock ticks per second (`getconf CLK_TCK`), the unit of /proc's CPU times. */
const clockTicksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** CPU time (ms) of the processes named `command` in process group `group`, from /proc/{pid}/stat (proc(5)). */
async function groupCpuMs(group: number | undefined, command: string): Promise<number> {
  if (group === undefined) return 0;
  let ticks = 0;
  for (const pid of (await readdir("/proc")).filter((name) => /^\d+$/.test(name))) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    // The command is in parentheses and may hold spaces; the fields after it are space-separated.
    const close = stat.lastIndexOf(")");
    if (close < 0 || stat.slice(stat.indexOf("(") + 1, close) !== command) continue;
    const fields = stat.slice(close + 2).split(" ");
    // After the command: state (3), ppid (4), pgrp (5), … utime (14), stime (15), numbered as in proc(5).
    if (Number(fields[2]) !== group) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks / clockTicksPerSecond) * 1000;
}

/** SIGTERM to the whole group, then SIGKILL to whatever of it is left after a grace period. */
async function stopProcessGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const [signal, graceMs] of [
    ["SIGTERM", 5000],
    ["SIGKILL", 2000],
  ] as const) {
    if (!alive()) return;
    process.kill(-pid, signal);
    for (let waited = 0; waited < graceMs && alive(); waited += 100) await sleep(100);
  }
}
