/**
 * `npm run build:client [-- --watch]`: bundles the web client (client/src/) into public/app/ and
 * the moderator console (client/admin/) into public/admin/, which the Worker serves as static
 * assets at /app/ and /admin/ (and public/index.html at /, and Swagger UI's files at /vendor/ and
 * /swagger-ui/). Prints the gzip size of what a browser downloads for each. `npm run dev`,
 * `npm test` and `npm run deploy` run it first.
 */
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { type BuildOptions, build, context } from "esbuild";
import { swaggerUiAssetBase } from "../src/lib/swagger-page.ts";

const root = new URL("..", import.meta.url).pathname;
const out = join(root, "public");
const { values } = parseArgs({ options: { watch: { type: "boolean", default: false } } });

const options: BuildOptions = {
  // One build, two bundles: the console shares the client's typed API helpers (client/src/api.ts).
  entryPoints: [
    { in: join(root, "client/src/main.tsx"), out: "app/app" },
    { in: join(root, "client/admin/main.tsx"), out: "admin/admin" },
  ],
  outdir: out,
  bundle: true,
  format: "esm",
  target: ["chrome120", "firefox121", "safari17"],
  jsx: "automatic",
  jsxImportSource: "preact",
  tsconfig: join(root, "client/tsconfig.json"),
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
};

async function copyStatic(): Promise<void> {
  await mkdir(join(out, "app"), { recursive: true });
  await copyFile(join(root, "client/index.html"), join(out, "app/index.html"));
  await copyFile(join(root, "client/app.css"), join(out, "app/app.css"));
  await mkdir(join(out, "admin"), { recursive: true });
  await copyFile(join(root, "client/admin/index.html"), join(out, "admin/index.html"));
  await copyFile(join(root, "client/admin/admin.css"), join(out, "admin/admin.css"));
  await copyFile(join(root, "client/landing.html"), join(out, "index.html"));
  await copyFile(join(root, "client/_headers"), join(out, "_headers"));
  // Swagger UI at /swagger loads these: the pinned package's files, where @hono/swagger-ui asks for
  // them (src/lib/swagger-page.ts), never a CDN.
  const swaggerUi = join(root, "node_modules/swagger-ui-dist");
  const { version } = JSON.parse(await readFile(join(swaggerUi, "package.json"), "utf8")) as { version: string };
  const vendored = join(out, swaggerUiAssetBase, `swagger-ui-dist@${version}`);
  await mkdir(vendored, { recursive: true });
  for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"]) {
    await copyFile(join(swaggerUi, file), join(vendored, file));
  }
  await mkdir(join(out, "swagger-ui"), { recursive: true });
  await copyFile(join(root, "client/swagger-init.js"), join(out, "swagger-ui", "init.js"));
}

/** Prints the gzip size of `files` (under public/), what a browser downloads for `what`. */
async function report(what: string, files: string[]): Promise<void> {
  const sizes = await Promise.all(files.map(async (file) => gzipSync(await readFile(join(out, file))).byteLength));
  const total = sizes.reduce((sum, size) => sum + size, 0);
  console.log(
    `${what}: ${(total / 1024).toFixed(1)} KB gzipped (${files.map((f, i) => `${f} ${((sizes[i] ?? 0) / 1024).toFixed(1)}`).join(", ")})`,
  );
}

await copyStatic();
if (values.watch) {
  const watcher = await context({
    ...options,
    plugins: [{ name: "copy-static", setup: (on) => on.onEnd(() => copyStatic()) }],
  });
  await watcher.watch();
  console.log("web client: watching client/ for changes");
} else {
  await build(options);
  await report("web client", ["app/app.js", "app/app.css", "app/index.html"]);
  // The console loads the client's stylesheet too (/app/app.css), counted above.
  await report("moderator console", ["admin/admin.js", "admin/admin.css", "admin/index.html"]);
}
