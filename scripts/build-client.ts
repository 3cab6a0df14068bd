/**
 * `npm run build:client [-- --watch]`: bundles the web client (client/) into public/app/, which
 * the Worker serves as static assets at /app/ (and public/index.html at /, and Swagger UI's files
 * at /vendor/ and /swagger-ui/). Prints the gzip size
 * of what a browser downloads. `npm run dev`, `npm test` and `npm run deploy` run it first.
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
  entryPoints: [join(root, "client/src/main.tsx")],
  outfile: join(out, "app/app.js"),
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

async function report(): Promise<void> {
  const files = ["app/app.js", "app/app.css", "app/index.html"];
  const sizes = await Promise.all(files.map(async (file) => gzipSync(await readFile(join(out, file))).byteLength));
  const total = sizes.reduce((sum, size) => sum + size, 0);
  console.log(
    `web client: ${(total / 1024).toFixed(1)} KB gzipped (${files.map((f, i) => `${f} ${((sizes[i] ?? 0) / 1024).toFixed(1)}`).join(", ")})`,
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
  await report();
}
