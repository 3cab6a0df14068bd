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
  stop(): Promise<void>;
}

const sslRequest = 80877103;
const gssEncRequest = 80877104;
const cancelRequest = 80877102;

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
      // A client that left inside a transaction must not leave it open for the next one.
      await this.db.runExclusive(async () => {
        if (this.db.isInTransaction()) await this.db.exec("ROLLBACK");
      });
      this.owner = null;
    }
    void this.pump();
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
    this.owner = !connection.closed && (batch.open || this.db.isInTransaction()) ? connection : null;
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
  server.listen(options.port, options.host);
  await once(server, "listening");
  const { address, port } = server.address() as AddressInfo;
  return {
    address: `${address}:${port}`,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
