import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createServer, type Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";

/**
 * Serves one PGlite database to many Postgres connections.
 *
 * PGlite is a single session, so connections must take turns. `@electric-sql/pglite-socket`
 * takes turns per protocol message, which lets two connections' extended-protocol messages
 * (Parse/Bind/Execute/Sync) interleave: under load one connection's unnamed portal is replaced by
 * another's ("portal "" does not exist") and a query can even run with another's parameters.
 * Here a turn is a whole batch, up to and including Sync or a simple Query, and a connection
 * that is inside a transaction (or that flushed mid-batch) keeps the turn until it leaves it.
 */
export interface PgliteServer {
  address: string;
  /** Goes away as a crashed server does: stops listening and drops every connection. */
  close(): Promise<void>;
  /** Serves again on the same address after `close`; the database itself was never closed. */
  listen(): Promise<void>;
  /**
   * Says so when a client has kept the one session idle inside a transaction for over a second:
   * on Postgres that client would hold only its own locks; here every other client waits for it.
   */
  heldUp(): string | undefined;
  stop(): Promise<void>;
}

const sslRequest = 80877103;
const gssEncRequest = 80877104;
const cancelRequest = 80877102;
const syncMessage = new Uint8Array([0x53, 0, 0, 0, 4]);
const rollbackMessage = simpleQuery("ROLLBACK");

function simpleQuery(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, "utf8");
  const message = Buffer.alloc(5 + text.length);
  message.write("Q", 0, "latin1");
  message.writeInt32BE(4 + text.length, 1);
  text.copy(message, 5);
  return new Uint8Array(message);
}

interface Batch {
  connection: Connection;
  messages: Uint8Array[];
  /** Ends with Flush: the rest of the sequence is still to come from this connection. */
  open: boolean;
}

class Connection {
  private buffer = Buffer.alloc(0);
  private started = false;
  private pending: Uint8Array[] = [];
  closed = false;
  readonly socket: Socket;
  private readonly turns: Turns;

  constructor(socket: Socket, turns: Turns) {
    this.socket = socket;
    this.turns = turns;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("close", () => this.close());
    socket.on("error", () => socket.destroy());
  }

  write(data: Uint8Array): void {
    if (!this.closed && this.socket.writable) this.socket.write(data);
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (!this.started) {
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        const code = this.buffer.readInt32BE(4);
        const message = new Uint8Array(this.buffer.subarray(0, length));
        this.buffer = this.buffer.subarray(length);
        if (code === sslRequest || code === gssEncRequest) {
          this.write(Buffer.from("N"));
          continue;
        }
        if (code === cancelRequest) {
          this.socket.end();
          return;
        }
        this.started = true;
        this.turns.submit({ connection: this, messages: [message], open: false });
        continue;
      }
      if (this.buffer.length < 5) return;
      const type = String.fromCharCode(this.buffer[0] ?? 0);
      const length = 1 + this.buffer.readInt32BE(1);
      if (this.buffer.length < length) return;
      const message = new Uint8Array(this.buffer.subarray(0, length));
      this.buffer = this.buffer.subarray(length);
      if (type === "X") {
        // Terminate: Postgres hangs up.
        this.socket.end();
        return;
      }
      this.pending.push(message);
      if (type === "S" || type === "Q" || type === "H") {
        this.turns.submit({ connection: this, messages: this.pending, open: type === "H" });
        this.pending = [];
      }
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.turns.release(this);
  }
}

class Turns {
  private queue: Batch[] = [];
  private running = false;
  private owner: Connection | null = null;
  /** When the owner's last batch ended, and what it was. */
  private ownerIdle = { since: 0, batch: undefined as Batch | undefined };
  private readonly db: PGlite;

  constructor(db: PGlite) {
    this.db = db;
  }

  submit(batch: Batch): void {
    this.queue.push(batch);
    void this.pump();
  }

  async release(connection: Connection): Promise<void> {
    this.queue = this.queue.filter((batch) => batch.connection !== connection);
    if (this.owner === connection) {
      await this.abandon();
      this.owner = null;
    }
    void this.pump();
  }

  /**
   * What Postgres does when a client hangs up: whatever it left unfinished is rolled back, an
   * extended-protocol sequence without its Sync included (a Sync alone would commit that one).
   * The messages go straight to the protocol: `db.exec` takes the very lock `runExclusive` holds,
   * and would wait for it for ever.
   */
  private async abandon(): Promise<void> {
    const discard = { onRawData: () => {} };
    await this.db.runExclusive(async () => {
      await this.db.execProtocolRawStream(rollbackMessage, discard);
      await this.db.execProtocolRawStream(syncMessage, discard);
      if (this.db.isInTransaction()) await this.db.execProtocolRawStream(rollbackMessage, discard);
    });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const index = this.owner ? this.queue.findIndex((batch) => batch.connection === this.owner) : 0;
        const batch = index >= 0 ? this.queue.splice(index, 1)[0] : undefined;
        if (!batch) return;
        await this.run(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async run(batch: Batch): Promise<void> {
    const { connection } = batch;
    try {
      await this.db.runExclusive(async () => {
        for (const message of batch.messages) {
          await this.db.execProtocolRawStream(message, { onRawData: (data) => connection.write(data) });
        }
      });
    } catch {
      connection.socket.destroy();
    }
    // A client that hung up while its batch ran (a dropped connection) was released before the
    // batch could leave a transaction or a sequence open: clean up after it here.
    if (connection.closed && (batch.open || this.db.isInTransaction())) await this.abandon().catch(() => {});
    this.owner = !connection.closed && (batch.open || this.db.isInTransaction()) ? connection : null;
    this.ownerIdle = { since: performance.now(), batch };
  }

  heldUp(): string | undefined {
    const idleMs = performance.now() - this.ownerIdle.since;
    if (!this.owner || this.running || idleMs < 1000) return undefined;
    const statement = this.ownerIdle.batch?.messages
      .map((message) => ({ type: String.fromCharCode(message[0] ?? 0), body: Buffer.from(message.subarray(5)) }))
      .find(({ type }) => type === "Q" || type === "P");
    const sql = statement?.type === "P" ? statement.body.subarray(statement.body.indexOf(0) + 1) : statement?.body;
    const last = sql
      ? sql
          .subarray(0, Math.max(0, sql.indexOf(0)))
          .toString("utf8")
          .replace(/\s+/g, " ")
          .slice(0, 80)
      : "?";
    return (
      `a client has kept PGlite's one session idle inside a transaction for ${(idleMs / 1000).toFixed(1)} s ` +
      `(its last statement: ${last}); ${this.queue.length} batches of other clients wait`
    );
  }
}

export async function startPgliteServer(db: PGlite, options: { host: string; port: number }): Promise<PgliteServer> {
  const turns = new Turns(db);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    new Connection(socket, turns);
  });
  const listen = async (port: number) => {
    server.listen(port, options.host);
    await once(server, "listening");
  };
  await listen(options.port);
  const { address, port } = server.address() as AddressInfo;
  const close = async () => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  return {
    address: `${address}:${port}`,
    close,
    listen: () => listen(port),
    heldUp: () => turns.heldUp(),
    stop: close,
  };
}
