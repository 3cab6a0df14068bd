/**
 * `npm run openapi [-- --check]`
 *
 * Writes the OpenAPI document the Worker serves at `/openapi.json` to `openapi.json` at the
 * repository root, for SDK generators and Postman to import as a file. It asks the Worker itself
 * (under `wrangler dev`), so the file is exactly what the zod schemas generate; only `servers`
 * names the local `npm run dev` address instead of the throwaway port it was read from. No
 * back-end is reached: the document needs none. `--check` writes nothing and fails when the
 * committed file is not current (CI runs it).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLocalWorker } from "./stack/worker.ts";

const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
const root = new URL("..", import.meta.url).pathname;
const target = join(root, "openapi.json");
const unreachable = "http://127.0.0.1:9";

const worker = await startLocalWorker({
  vars: {
    DATABASE_URL: "postgres://unused@127.0.0.1:9/unused",
    UPSTASH_REDIS_REST_URL: unreachable,
    UPSTASH_REDIS_REST_TOKEN: "unused",
    RESEND_API_KEY: "unused",
    S3_ENDPOINT: unreachable,
    S3_BUCKET: "unused",
    S3_ACCESS_KEY_ID: "unused",
    S3_SECRET_ACCESS_KEY: "unused",
  },
});
let document: { servers?: unknown };
try {
  const response = await fetch(`${worker.url}/openapi.json`);
  if (!response.ok) throw new Error(`GET /openapi.json answered ${response.status}: ${await response.text()}`);
  document = (await response.json()) as { servers?: unknown };
} finally {
  await worker.stop();
}
document.servers = [
  { url: "http://localhost:8080", description: "`npm run dev`; the Worker serves this document with its own origin" },
];
const text = `${JSON.stringify(document, null, 2)}\n`;

if (values.check) {
  const committed = await readFile(target, "utf8").catch(() => "");
  if (committed !== text) {
    console.error("openapi.json is not current: run `npm run openapi` and commit the file.");
    process.exit(1);
  }
  console.log("openapi.json is current");
} else {
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
