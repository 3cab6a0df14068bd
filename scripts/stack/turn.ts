import { spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Incidents, incidentsToStderr, requestListener, watchProcess } from "./incidents.ts";
import { freePort } from "./redis.ts";

export interface LocalTurn {
  /** The stand-in for Cloudflare Realtime TURN's API, for `TURN_API_URL`. */
  apiUrl: string;
  keyId: string;
  apiToken: string;
  /** `127.0.0.1:port` where coturn listens (TCP and UDP). */
  address: string;
  stop(): Promise<void>;
}

export class TurnServerMissingError extends Error {
  constructor() {
    super(
      "turnserver (coturn) was not found: install it (Debian/Ubuntu: `sudo apt-get install coturn`, macOS: `brew install coturn`)",
    );
  }
}

const realm = "gaplash.local";

/**
 * A real coturn on loopback with `use-auth-secret` (the TURN REST API scheme), fronted by a local
 * endpoint answering Cloudflare Realtime TURN's credentials API shape: the Worker asks it exactly
 * as it asks Cloudflare, and the credentials it returns work on this coturn.
 */
export async function startTurn(options: { incidents?: Incidents } = {}): Promise<LocalTurn> {
  const incidents = options.incidents ?? incidentsToStderr;
  const secret = randomBytes(24).toString("base64url");
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "gaplash-turn-"));
  const child = spawn(
    "turnserver",
    [
      "-n",
      "--no-cli",
      "--listening-ip=127.0.0.1",
      "--relay-ip=127.0.0.1",
      `--listening-port=${port}`,
      "--use-auth-secret",
      `--static-auth-secret=${secret}`,
      `--realm=${realm}`,
      // Both browsers of a local call, and the relay, live on loopback.
      "--allow-loopback-peers",
      "--no-tls",
      "--no-dtls",
      "--fingerprint",
      `--pidfile=${join(dir, "turnserver.pid")}`,
      "--log-file=stdout",
      "--simple-log",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.resume();
  child.stderr.resume();
  await new Promise<void>((resolve, reject) => {
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT" ? new TurnServerMissingError() : error),
    );
    child.once("exit", (code) => reject(new Error(`turnserver exited with code ${code} before it listened`)));
    void waitForPort(port).then(resolve, reject);
  });
  child.removeAllListeners("exit");
  child.removeAllListeners("error");
  let stopping = false;
  watchProcess(child, "turnserver (coturn)", incidents, () => stopping);

  const keyId = "local-turn-key";
  const apiToken = "local-turn-token";
  const api = createServer(
    requestListener("TURN credentials endpoint", incidents, async (req, res) => {
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      const path = new URL(req.url ?? "/", "http://turn").pathname;
      if (req.method !== "POST" || path !== `/v1/turn/keys/${keyId}/credentials/generate-ice-servers`) {
        return send(404, { error: "not found" });
      }
      if (req.headers.authorization !== `Bearer ${apiToken}`) return send(401, { error: "unauthorized" });
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      let ttl = 86_400;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { ttl?: unknown };
        if (typeof body.ttl === "number" && body.ttl > 0) ttl = body.ttl;
      } catch {
        return send(400, { error: "the body must be JSON with a ttl" });
      }
      // The TURN REST API scheme coturn checks: username "<expiry>:<anything>", password HMAC-SHA1 of it.
      const username = `${Math.floor(Date.now() / 1000) + ttl}:${randomBytes(8).toString("hex")}`;
      const credential = createHmac("sha1", secret).update(username).digest("base64");
      return send(201, {
        iceServers: [
          { urls: [`stun:127.0.0.1:${port}`] },
          {
            urls: [`turn:127.0.0.1:${port}?transport=udp`, `turn:127.0.0.1:${port}?transport=tcp`],
            username,
            credential,
          },
        ],
      });
    }),
  );
  api.listen(0, "127.0.0.1");
  await once(api, "listening");
  return {
    apiUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    keyId,
    apiToken,
    address: `127.0.0.1:${port}`,
    stop: async () => {
      api.closeAllConnections();
      await new Promise<void>((resolve) => api.close(() => resolve()));
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`turnserver did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
