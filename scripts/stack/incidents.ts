import type { ChildProcess } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * Where the local stack tells of a dependency that failed under it (a database connection lost, a
 * server process gone): one line each, naming the component and how it failed, so a failed run's
 * log says which dependency broke instead of ending on a bare stack trace.
 */
export type Incidents = (component: string, what: string) => void;

/** Incidents written to standard error as `[stack] <component>: <what>`. */
export const incidentsToStderr: Incidents = (component, what) => {
  process.stderr.write(`[stack] ${component}: ${what}\n`);
};

/** What a node-postgres `Client` (or the serverless driver's, which extends it) says of a failure. */
interface ErrorEmitter {
  on(event: "error", listener: (error: Error) => void): unknown;
}

/**
 * The events of a node-postgres `Pool` (and the serverless driver's `Pool`, built on pg-pool) that
 * carry a lost connection: `error` for an idle client, `connect` for every new one.
 */
interface PoolEvents<C extends ErrorEmitter> {
  on(event: "error", listener: (error: Error, client: C) => void): unknown;
  on(event: "connect", listener: (client: C) => void): unknown;
}

/**
 * Keeps a pool's lost connections from ending the process. pg-pool listens for `error` only on
 * idle clients and re-emits it on the pool; a client that is checked out (between `connect()` and
 * `release()`) emits `error` itself when its server goes away (`Connection terminated
 * unexpectedly`, `read ECONNRESET`, a FATAL `57P01` at shutdown), and Node ends the process on
 * an `error` event nobody listens to. This listens on the pool and on every client it opens and
 * tells `incidents` once per client. The pool itself drops a failed client when it is released
 * (it is no longer queryable), so the next request gets a fresh connection. `lost(client)` says
 * whether a client's connection failed: node-postgres emits `error` before the rejection of the
 * statement it ended is seen, so a holder's `catch` can tell a lost connection from a bug.
 */
export function survivePool<C extends ErrorEmitter>(
  pool: PoolEvents<C>,
  component: string,
  incidents: Incidents,
): { lost(client: C): boolean } {
  const failed = new WeakSet<C>();
  const report = (client: C, error: Error) => {
    if (failed.has(client)) return;
    failed.add(client);
    incidents(component, `connection lost (${error.message})`);
  };
  pool.on("error", (error, client) => report(client, error));
  pool.on("connect", (client) => client.on("error", (error) => report(client, error)));
  return { lost: (client) => failed.has(client) };
}

/**
 * An HTTP request listener for one of the stack's endpoints whose failures stay with the request: a
 * client that hangs up mid-body makes reading the body reject, and a rejected listener is an
 * unhandled rejection, which ends the process. A client that hung up (the Worker's deadline gave
 * up on a stalled dependency) is its own choice, not an incident; any other failure goes to
 * `incidents`, and the client gets a 500 `{error}`.
 */
export function requestListener(
  component: string,
  incidents: Incidents,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<unknown>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A client that hung up has nobody left to answer (a consumed body leaves `req` destroyed too).
      if (res.destroyed) return;
      const message = error instanceof Error ? error.message : String(error);
      incidents(component, `request failed (${message})`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: message }));
    });
  };
}

/**
 * Tells `incidents` when a server process the stack started exits while it should be running (a
 * crash, the OOM killer) or fails after it started; `expected()` answers whether the stack itself
 * is stopping or killing it just then. Without an `error` listener a failed `kill` or pipe would
 * end the process.
 */
export function watchProcess(
  child: ChildProcess,
  component: string,
  incidents: Incidents,
  expected: () => boolean,
): void {
  child.on("error", (error) => incidents(component, `process error (${error.message})`));
  child.on("exit", (code, signal) => {
    if (!expected()) incidents(component, `exited unexpectedly (${signal ?? `code ${code}`})`);
  });
}

/**
 * The last word of a Node process of the local stack (the stack server, the fault suite, the bench,
 * the load run, the dev server) on an error nothing handled: says that it is a defect of the local
 * tooling, not a failure of the API under test, prints the stack trace, runs `cleanup` (bounded)
 * and exits 1. Every error of a connection or child process is meant to be handled where it
 * happens; this keeps a missed one from looking like a test failure.
 */
export function reportUnhandledErrors(program: string, cleanup: () => Promise<void> = async () => {}): void {
  let failed = false;
  const fail = (kind: string, error: unknown) => {
    if (failed) return;
    failed = true;
    process.stderr.write(
      `\n[${program}] crashed on an ${kind} that nothing handled. This is a defect of the local tooling ` +
        `(scripts/), not a failure of the API under test:\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    const bounded = new Promise<void>((resolve) => setTimeout(resolve, 15_000).unref());
    void Promise.race([cleanup().catch(() => {}), bounded]).then(() => process.exit(1));
  };
  process.on("uncaughtException", (error) => fail("error", error));
  process.on("unhandledRejection", (reason) => fail("rejected promise", reason));
}
