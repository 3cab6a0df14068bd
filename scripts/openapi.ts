/**
 * `npm run openapi [-- --check]`
 *
 * Writes the contract documents the Worker serves — `/openapi.json` (HTTP) and `/asyncapi.json`
 * (the sockets) — to files of those names at the repository root, for SDK generators and Postman
 * to import as files. It asks the Worker itself (under `wrangler dev`), so the files are exactly
 * what the zod schemas generate; only the server names the local `npm run dev` address instead of
 * the throwaway port it was read from. No back-end is reached: the documents need none. `--check`
 * writes nothing and fails when a committed file is not current (CI runs it).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLocalWorker } from "./stack/worker.ts";

const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
const root = new URL("..", import.meta.url).pathname;
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
const local = { host: "localhost:8080", origin: "http://localhost:8080" };
const documents: { file: string; text: string }[] = [];
try {
  for (const name of ["openapi.json", "asyncapi.json"]) {
    const response = await fetch(`${worker.url}/${name}`);
    if (!response.ok) throw new Error(`GET /${name} answered ${response.status}: ${await response.text()}`);
    const document = (await response.json()) as { servers?: unknown };
    document.servers =
      name === "openapi.json"
        ? [{ url: local.origin, description: "`npm run dev`; the Worker serves this document with its own origin" }]
        : {
            api: {
              host: local.host,
              protocol: "ws",
              description: "`npm run dev`; the Worker serves this document with its own host",
              security: [{ $ref: "#/components/securitySchemes/accessToken" }],
            },
          };
    documents.push({ file: name, text: `${JSON.stringify(document, null, 2)}\n` });
  }
} finally {
  await worker.stop();
}

for (const { file, text } of documents) {
  const target = join(root, file);
  if (values.check) {
    const committed = await readFile(target, "utf8").catch(() => "");
    if (committed !== text) {
      console.error(`${file} is not current: run \`npm run openapi\` and commit the file.`);
      process.exit(1);
    }
    console.log(`${file} is current`);
  } else {
    await writeFile(target, text);
    console.log(`wrote ${target}`);
  }
}
