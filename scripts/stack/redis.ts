import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { Distance } from "./distance.ts";
import { type Incidents, incidentsToStderr, requestListener, watchProcess } from "./incidents.ts";

export interface UpstashRest {
  url: string;
  token: string;
  /** The Redis behind it, as `redis://host:port`. */
  redisUrl: string;
  kind: "redis-server" | "external";
  /** The private redis-server, when this endpoint started one: outage tests stop and pause it. */
  server?: RedisServer;
  stop(): Promise<void>;
}

type Reply = Buffer | string | number | null | Reply[];
type Result = { result: unknown } | { error: string };

export class RedisServerMissingError extends Error {
  constructor() {
    super(
      "redis-server was not found: install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL",
    );
  }
}

/**
 * A real Redis behind the Upstash REST protocol, so the Worker runs the same
 * `@upstash/redis` client (and `@upstash/ratelimit`'s Lua scripts) that it runs against Upstash.
 * Uses `redisUrl` when given, otherwise starts a private `redis-server` on a free port.
 */
export async function startUpstashRest(options: {
  redisUrl?: string;
  token: string;
  /** Start even when Redis cannot be reached (a fixture for outage tests); by default that is an error. */
  allowUnreachable?: boolean;
  /** Half its round trip before each request is handled and half before the answer leaves. */
  distance?: Distance;
  incidents?: Incidents;
}): Promise<UpstashRest> {
  const distance = options.distance ?? new Distance();
  const incidents = options.incidents ?? incidentsToStderr;
  const server = options.redisUrl ? undefined : await startRedisServer(incidents);
  // Like Upstash, answer at once while Redis is unreachable instead of queueing commands until it
  // returns; commands in flight when the connection drops fail at once too. Reconnects by itself.
  const redisUrl = options.redisUrl ?? `redis://127.0.0.1:${server?.port}`;
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  });
  // ioredis reconnects by itself; each drop is told once, not every retry of the outage.
  let reachable = false;
  redis.on("error", (error: Error) => {
    if (!reachable) return;
    reachable = false;
    incidents("redis (Upstash REST endpoint)", `connection lost (${error.message}); reconnecting`);
  });
  redis.on("ready", () => {
    reachable = true;
  });
  await redis.connect().catch((error: unknown) => {
    if (!options.allowUnreachable) throw error;
  });
  const scripts = new UpstashScripts();
  const run = (command: [string, ...string[]]) => redis.callBuffer(...scripts.translate(command)) as Promise<Reply>;
  const http = createServer(
    requestListener("Upstash REST endpoint", incidents, async (req, res) => {
      const send = (status: number, body: unknown) => {
        void distance
          .oneWay()
          .then(() => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body)));
      };
      // The request is read as it arrives and then travels: a client that gives up on the answer
      // meanwhile has still sent its command, and it runs, as it would on a server far away.
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      await distance.oneWay();
      if (req.method !== "POST") return send(405, { error: "ERR only POST is supported" });
      if (req.headers.authorization !== `Bearer ${options.token}`) return send(401, { error: "Unauthorized" });
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return send(400, { error: "ERR failed to parse command" });
      }
      if (redis.status !== "ready") return send(503, { error: `ERR Redis is unreachable (${redis.status})` });
      const base64 = req.headers["upstash-encoding"] === "base64";
      const path = new URL(req.url ?? "/", "http://rest").pathname;
      try {
        if (path === "/") {
          const command = asCommand(body);
          const result = await run(command);
          return send(200, { result: encode(result, base64) });
        }
        if (path === "/pipeline") {
          const commands = asCommands(body);
          const results = await Promise.all(commands.map((command) => settle(run(command), base64)));
          return send(200, results);
        }
        if (path === "/multi-exec") {
          const commands = asCommands(body);
          const transaction = redis.multi();
          for (const command of commands) transaction.callBuffer(...scripts.translate(command));
          const replies = (await transaction.exec()) ?? [];
          return send(
            200,
            replies.map(
              ([error, reply]): Result =>
                error ? { error: error.message } : { result: encode(reply as Reply, base64) },
            ),
          );
        }
        return send(404, { error: `ERR unknown endpoint ${path}` });
      } catch (error) {
        return send(400, { error: error instanceof Error ? error.message : String(error) });
      }
    }),
  );
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    redisUrl,
    kind: server ? "redis-server" : "external",
    server,
    stop: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      redis.disconnect();
      await server?.stop();
    },
  };
}

function asCommand(body: unknown): [string, ...string[]] {
  if (!Array.isArray(body) || body.length === 0) throw new Error("ERR a command is a non-empty JSON array");
  return body.map((part) => (typeof part === "string" ? part : JSON.stringify(part))) as [string, ...string[]];
}

function asCommands(body: unknown): [string, ...string[]][] {
  if (!Array.isArray(body)) throw new Error("ERR expected a JSON array of commands");
  return body.map(asCommand);
}

/**
 * Upstash accepts Lua shebang flags that Redis does not (`@upstash/ratelimit` sends
 * `#!lua flags=allow-key-locking`). Scripts are passed on without those flags, and the SHA
 * a client computed from the original text is mapped to the SHA Redis knows, so EVALSHA
 * behaves exactly as it does on Upstash.
 */
class UpstashScripts {
  static readonly upstashOnlyFlags = new Set(["allow-key-locking"]);
  private readonly shaAliases = new Map<string, string>();

  translate([name, ...args]: [string, ...string[]]): [string, ...string[]] {
    const command = name.toLowerCase();
    if ((command === "eval" || command === "eval_ro") && args[0] !== undefined) {
      return [name, this.adapt(args[0]), ...args.slice(1)];
    }
    if (command === "script" && args[0]?.toLowerCase() === "load" && args[1] !== undefined) {
      return [name, args[0], this.adapt(args[1])];
    }
    if ((command === "evalsha" || command === "evalsha_ro") && args[0] !== undefined) {
      return [name, this.shaAliases.get(args[0].toLowerCase()) ?? args[0], ...args.slice(1)];
    }
    return [name, ...args];
  }

  private adapt(script: string): string {
    const shebang = /^#!lua flags=([^\n]*)/.exec(script);
    if (!shebang) return script;
    const flags = (shebang[1] ?? "").split(",").map((flag) => flag.trim());
    const kept = flags.filter((flag) => flag && !UpstashScripts.upstashOnlyFlags.has(flag));
    if (kept.length === flags.length) return script;
    const adapted = `#!lua${kept.length ? ` flags=${kept.join(",")}` : ""}${script.slice(shebang[0].length)}`;
    this.shaAliases.set(sha1(script), sha1(adapted));
    return adapted;
  }
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

async function settle(reply: Promise<Reply>, base64: boolean): Promise<Result> {
  try {
    return { result: encode(await reply, base64) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** Upstash's response encoding: strings base64 when asked for, except the status `OK`. */
function encode(reply: Reply, base64: boolean): unknown {
  if (Array.isArray(reply)) return reply.map((item) => encode(item, base64));
  if (reply === null || typeof reply === "number") return reply;
  const text = typeof reply === "string" ? reply : reply.toString("utf8");
  if (!base64 || text === "OK") return text;
  return (typeof reply === "string" ? Buffer.from(reply) : reply).toString("base64");
}

/** A private redis-server on a fixed port, which outage tests may stop, start again, pause and resume. */
export interface RedisServer {
  port: number;
  /** Stops it as a crash would (SIGKILL); `start` brings it back, empty, on the same port. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open and nothing answers, as with a stalled server. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

async function startRedisServer(incidents: Incidents): Promise<RedisServer> {
  const port = await freePort();
  // Set while the stack itself stops or kills it: only another exit is told as an incident.
  let stopping = false;
  const spawnWatched = async () => {
    const spawned = await spawnRedisServer(port);
    stopping = false;
    watchProcess(spawned, "redis-server", incidents, () => stopping);
    return spawned;
  };
  let child = await spawnWatched();
  const stopChild = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    stopping = true;
    child.kill("SIGCONT");
    const exited = once(child, "exit");
    child.kill(signal);
    await exited;
  };
  return {
    port,
    kill: () => stopChild("SIGKILL"),
    start: async () => {
      child = await spawnWatched();
    },
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
    stop: () => stopChild("SIGTERM"),
  };
}

async function spawnRedisServer(port: number) {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = "";
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT" ? new RedisServerMissingError() : error),
    );
    child.once("exit", (code) => reject(new Error(`redis-server exited with code ${code}: ${output.trim()}`)));
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.includes("Ready to accept connections")) resolve();
    });
  });
  child.removeAllListeners("exit");
  child.removeAllListeners("error");
  child.stdout.removeAllListeners("data");
  child.stdout.resume();
  return child;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
