import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { Distance } from "./distance.ts";
import { type Incidents, incidentsToStderr, requestListener, survivePool } from "./incidents.ts";

export interface NeonHttp {
  /** For `neonConfig.fetchEndpoint`: where the driver POSTs its SQL. */
  url: string;
  /** The database is unreachable: every request answers 502 at once until `restore`. */
  cut(): void;
  restore(): void;
  /** The database stalls: requests are held, unanswered, until `resume`, which serves them in order. */
  stall(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** The fields of a Postgres error that Neon's endpoint returns (and the driver copies onto NeonDbError). */
const errorFields = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

interface Query {
  query: string;
  params: unknown[];
}

const isolationLevels = new Set(["ReadUncommitted", "ReadCommitted", "RepeatableRead", "Serializable"]);

// Values stay as Postgres sent them (text): the driver runs its own type parsers on them.
const rawText = { getTypeParser: () => (value: string) => value };

/**
 * Neon's SQL-over-HTTP endpoint, locally: `POST /sql` with `{query, params}` or a batch
 * `{queries: [...]}` (one transaction, `Neon-Batch-Isolation-Level` / `-Read-Only` / `-Deferrable`),
 * answering `{command, rowCount, rows, fields, rowAsArray}` (or `{results}`) with values as
 * Postgres text, and errors as 400 with Postgres's error fields, exactly as the serverless
 * driver expects from Neon. Each request borrows one of a few kept connections to the database.
 * A database it cannot reach, or whose connection drops mid-request, answers 502 `{message}` (the
 * driver raises `NeonDbError("Server error (HTTP status 502): …")`, with no SQLSTATE), told to
 * `incidents`; the endpoint itself keeps serving and reconnects on the next request.
 */
export async function startNeonHttp(options: {
  databaseUrl: string;
  connections?: number;
  /** Half its round trip before each request is handled and half before the answer leaves. */
  distance?: Distance;
  incidents?: Incidents;
}): Promise<NeonHttp> {
  const distance = options.distance ?? new Distance();
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.connections ?? 8 });
  const served = address(options.databaseUrl);
  const incidents = options.incidents ?? incidentsToStderr;
  const component = "postgres (SQL-over-HTTP endpoint)";
  const connections = survivePool(pool, component, incidents);
  // Told once per outage, not once per refused request; a connection that opens again ends it.
  let unreachable = false;
  pool.on("connect", () => {
    unreachable = false;
  });
  let cut = false;
  let stalled: { promise: Promise<void>; release: () => void } | null = null;

  const server = createServer(
    requestListener("SQL-over-HTTP endpoint", incidents, async (req, res) => {
      await distance.oneWay();
      if (stalled) await stalled.promise;
      if (cut) return send(res, 502, { message: "the database is unreachable" });
      await handle(req, res);
    }),
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST" || new URL(req.url ?? "/", "http://neon").pathname !== "/sql") {
      return send(res, 404, { message: "POST /sql only" });
    }
    const target = String(req.headers["neon-connection-string"] ?? "");
    if (!target) return send(res, 400, { message: "missing Neon-Connection-String" });
    // Neon routes by the connection string; this endpoint serves one database, and cannot reach another.
    if (address(target) !== served)
      return send(res, 502, { message: `cannot reach the database at ${address(target)}` });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: { query?: unknown; params?: unknown; queries?: unknown };
    let queries: Query[];
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body;
      queries = Array.isArray(body.queries) ? body.queries.map(asQuery) : [asQuery(body)];
    } catch (error) {
      return send(res, 400, { message: error instanceof SyntaxError ? "the body is not JSON" : messageOf(error) });
    }
    const level = String(req.headers["neon-batch-isolation-level"] ?? "ReadCommitted");
    if (!isolationLevels.has(level)) return send(res, 400, { message: `unknown isolation level ${level}` });
    const arrayMode = req.headers["neon-array-mode"] === "true";
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      if (!unreachable) incidents(component, `cannot connect (${messageOf(error)})`);
      unreachable = true;
      return send(res, 502, { message: `Error connecting to database: ${messageOf(error)}` });
    }
    let broken = false;
    try {
      if (Array.isArray(body.queries)) {
        await client.query(
          `begin isolation level ${level.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()}` +
            (req.headers["neon-batch-read-only"] === "true" ? " read only" : "") +
            (req.headers["neon-batch-deferrable"] === "true" ? " deferrable" : ""),
        );
        try {
          const results = [];
          for (const query of queries) results.push(await run(client, query, arrayMode));
          await client.query("commit");
          return send(res, 200, { results });
        } catch (error) {
          await client.query("rollback").catch(() => {
            broken = true;
          });
          throw error;
        }
      }
      return send(res, 200, await run(client, queries[0] as Query, arrayMode));
    } catch (error) {
      if (error instanceof pg.DatabaseError) {
        const answered = error;
        // FATAL and PANIC end the session (57P01 at shutdown): that connection must not serve again.
        if (answered.severity === "FATAL" || answered.severity === "PANIC") broken = true;
        return send(res, 400, {
          message: answered.message,
          ...Object.fromEntries(errorFields.map((field) => [field, answered[field]])),
        });
      }
      broken = true;
      if (connections.lost(client)) {
        return send(res, 502, { message: `the database connection failed: ${messageOf(error)}` });
      }
      // Not the database: a fault of this endpoint, answered 500 and told by requestListener.
      throw error;
    } finally {
      client.release(broken);
    }
  }

  function send(res: ServerResponse, status: number, body: unknown): void {
    const write = () => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    void distance.oneWay().then(write);
  }

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sql`,
    cut: () => {
      cut = true;
    },
    restore: () => {
      cut = false;
    },
    stall: () => {
      if (stalled) return;
      let release = () => {};
      const promise = new Promise<void>((resolve) => {
        release = resolve;
      });
      stalled = { promise, release };
    },
    resume: () => {
      stalled?.release();
      stalled = null;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}

function address(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.hostname}:${url.port || "5432"}${url.pathname}`;
  } catch {
    return "";
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function asQuery(value: unknown): Query {
  const query = value as Partial<Query>;
  if (typeof query?.query !== "string") throw new Error("each query needs a `query` string");
  return { query: query.query, params: Array.isArray(query.params) ? query.params : [] };
}

async function run(client: pg.PoolClient, { query, params }: Query, arrayMode: boolean) {
  const result = await client.query({ text: query, values: params, rowMode: "array", types: rawText });
  const fields = result.fields.map((field) => ({
    name: field.name,
    tableID: field.tableID,
    columnID: field.columnID,
    dataTypeID: field.dataTypeID,
    dataTypeSize: field.dataTypeSize,
    dataTypeModifier: field.dataTypeModifier,
    format: "text",
  }));
  const rows = result.rows as unknown[][];
  return {
    command: result.command,
    rowCount: result.rowCount,
    rows: arrayMode ? rows : rows.map((row) => Object.fromEntries(fields.map((field, i) => [field.name, row[i]]))),
    fields,
    rowAsArray: arrayMode,
  };
}
