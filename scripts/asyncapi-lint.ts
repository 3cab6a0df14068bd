/**
 * `npm run lint:asyncapi`
 *
 * Validates the committed `asyncapi.json` with the official AsyncAPI parser (the rules of the
 * AsyncAPI Initiative's Spectral ruleset): any error fails, and every warning is printed, so a new
 * one is seen in CI. Information and hints are left to editors.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DiagnosticSeverity, Parser } from "@asyncapi/parser";

const root = new URL("..", import.meta.url).pathname;
const text = await readFile(join(root, "asyncapi.json"), "utf8");
const diagnostics = await new Parser().validate(text);
const shown = diagnostics.filter((d) => d.severity <= DiagnosticSeverity.Warning);
for (const d of shown) {
  const level = d.severity === DiagnosticSeverity.Error ? "error" : "warning";
  console.log(`${level} ${d.code} at ${d.path.join(".") || "(root)"}: ${d.message}`);
}
const errors = shown.filter((d) => d.severity === DiagnosticSeverity.Error).length;
console.log(`asyncapi.json: ${errors} errors, ${shown.length - errors} warnings`);
if (errors > 0) process.exit(1);
