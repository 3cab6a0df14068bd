import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { type Incidents, watchProcess } from "./incidents.ts";
import { freePort } from "./redis.ts";

export interface PgBouncer {
  /** The same database as the server's URL, through the pooler. */
  url: string;
  /** `host:port` of the pooler, for the WebSocket bridge's list of addresses it may dial. */
  address: string;
  stop(): Promise<void>;
}

export class PgBouncerMissingError extends Error {
  constructor(missing: "pgbouncer" | "runuser" = "pgbouncer") {
    super(
      missing === "pgbouncer"
        ? "pgbouncer was not found: install it (Debian/Ubuntu: `sudo apt-get install pgbouncer`, macOS: `brew install pgbouncer`), or set STACK_POOLER=off"
        : "runuser was not found: as root, PgBouncer runs as the postgres user through it (util-linux), or set STACK_POOLER=off",
    );
  }
}

/** How many server connections the pooler keeps per database and user: a small Neon compute's share. */
const serverPoolSize = 20;

/**
 * Clients it accepts at once: what fits the 1,024 open files `runuser` leaves it (PAM resets the
 * limit), with the server connections and its own files beside them.
 */
const maxClients = 900;

/** A program on PATH, or in the system directories Debian installs daemons and `runuser` into. */
function program(name: string): string | undefined {
  const directories = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin", "/usr/bin"];
  // Only absolute entries: a relative PATH entry would depend on where the stack was started.
  return directories.map((entry) => join(entry, name)).find((path) => path.startsWith("/") && existsSync(path));
}

/**
 * A real PgBouncer in transaction mode in front of the PostgreSQL at `serverUrl`, as Neon's
 * pooled connection string runs: each transaction (or lone statement) borrows a server
 * connection and gives it back, so anything that leans on a session (session settings, named
 * prepared statements, session advisory locks, temporary tables) breaks here as it would there.
 * It accepts the server URL's user without a password (the cluster trusts loopback) and as root
 * runs as the `postgres` user, which PgBouncer requires.
 */
export async function startPgBouncer(serverUrl: string, incidents: Incidents): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username || "postgres");
  const directory = await mkdtemp(join(tmpdir(), "gaplash-pgbouncer-"));
  const port = await freePort();
  const config = join(directory, "pgbouncer.ini");
  // With `auth_type = trust` the pooler asks clients for nothing and logs in to the server with
  // this file's password: the one in the server's URL.
  const password = decodeURIComponent(server.password).replaceAll('"', '""');
  await writeFile(join(directory, "users.txt"), `"${user}" "${password}"\n`);
  await writeFile(
    config,
    [
      "[databases]",
      `* = host=${server.hostname} port=${server.port || "5432"}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${join(directory, "users.txt")}`,
      "pool_mode = transaction",
      // Lets the suite read `SHOW POOLS` on the `pgbouncer` console database: what it runs through.
      `stats_users = ${user}`,
      `default_pool_size = ${serverPoolSize}`,
      `max_client_conn = ${maxClients}`,
      // Sent at startup by some drivers (JDBC, psql); PgBouncer refuses parameters it does not know.
      "ignore_startup_parameters = extra_float_digits",
      "server_reset_query =",
      // Back within a second of a restarted server, not PgBouncer's default 15 s.
      "server_login_retry = 1",
      `pidfile = ${join(directory, "pgbouncer.pid")}`,
      "",
    ].join("\n"),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    await chown(directory, uid, gid);
    for (const file of ["pgbouncer.ini", "users.txt"]) await chown(join(directory, file), uid, gid);
  }
  const binary = program("pgbouncer");
  const runuser = asRoot ? program("runuser") : undefined;
  if (!binary || (asRoot && !runuser)) {
    await rm(directory, { recursive: true, force: true });
    throw new PgBouncerMissingError(binary ? "runuser" : "pgbouncer");
  }
  const [command, args] = asRoot && runuser ? [runuser, ["-u", "postgres", "--", binary, config]] : [binary, [config]];
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stopping = false;
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  });
  try {
    await listening(child, port, () => output);
  } catch (error) {
    child.kill("SIGKILL");
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  watchProcess(child, "pgbouncer", incidents, () => stopping);
  const pooled = new URL(serverUrl);
  pooled.hostname = "127.0.0.1";
  pooled.port = String(port);
  return {
    url: pooled.toString(),
    address: `127.0.0.1:${port}`,
    stop: async () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        // SIGTERM shuts down at once; SIGINT would wait for every client to leave first.
        child.kill("SIGTERM");
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Resolves once the pooler accepts connections on `port`; rejects if it exits or never does. */
async function listening(child: ChildProcess, port: number, output: () => string): Promise<void> {
  const exited = new Promise<never>((_, reject) => {
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT" ? new PgBouncerMissingError() : error),
    );
    child.once("exit", (code) => {
      const said = output().trim();
      reject(
        /not found|No such file/i.test(said)
          ? new PgBouncerMissingError()
          : new Error(`pgbouncer exited with code ${code}: ${said}`),
      );
    });
  });
  const deadline = Date.now() + 10_000;
  let settled = false;
  const accepting = (async () => {
    while (!settled && Date.now() < deadline) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect(port, "127.0.0.1");
        socket.once("connect", () => {
          socket.destroy();
          resolve(true);
        });
        socket.once("error", () => resolve(false));
      });
      if (open) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (settled) return;
    throw new Error(`pgbouncer did not listen on port ${port} within 10 s: ${output().trim()}`);
  })();
  try {
    await Promise.race([accepting, exited]);
  } finally {
    settled = true;
    child.removeAllListeners("exit");
    child.removeAllListeners("error");
  }
}
