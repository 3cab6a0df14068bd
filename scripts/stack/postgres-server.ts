import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./redis.ts";

export interface PostgresServer {
  url: string;
  /**
   * Ends the server as a crash does (`pg_ctl stop -m immediate`: every backend quits at once, no
   * goodbye to its clients, recovery on the next start); `start` serves the same data again on
   * the same port.
   */
  crash(): void;
  start(): void;
  stop(): Promise<void>;
}

function binDir(): string {
  for (const candidate of ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"]) {
    if (existsSync(join(candidate, "initdb"))) return candidate;
  }
  try {
    return execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(
      "PostgreSQL server binaries were not found: install postgresql (Debian: apt-get install postgresql)",
    );
  }
}

/**
 * A throwaway PostgreSQL cluster on a free loopback port, for the benchmark and the tests of the
 * local stack itself. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = binDir();
  const dataDir = await mkdtemp(join(tmpdir(), "gaplash-pg-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    await chown(dataDir, uid, gid);
  }
  await chmod(dataDir, 0o700);
  const run = (command: string, args: string[]) => {
    const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
    const result = spawnSync(file, argv as string[], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`);
  };
  const port = await freePort();
  run(join(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  const start = () =>
    run(join(bin, "pg_ctl"), [
      "-D",
      dataDir,
      "-l",
      join(dataDir, "server.log"),
      "-w",
      "-o",
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${dataDir} -c max_connections=500 -c fsync=off`,
      "start",
    ]);
  start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    crash: () => run(join(bin, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"]),
    start,
    stop: async () => {
      try {
        // After `crash` without `start` there is no server left to stop.
        if (existsSync(join(dataDir, "postmaster.pid")))
          run(join(bin, "pg_ctl"), ["-D", dataDir, "-m", "fast", "stop"]);
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}
