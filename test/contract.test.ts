import { describe, expect, it } from "vitest";
import { publishedDocument } from "./support/contract";

/** Every schema object in the document, wherever it sits. */
function* schemaObjects(node: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(node)) {
    for (const item of node) yield* schemaObjects(item);
  } else if (typeof node === "object" && node !== null) {
    yield node as Record<string, unknown>;
    for (const value of Object.values(node)) yield* schemaObjects(value);
  }
}

describe("the published document", () => {
  it("has patterns that every conformant validator reads: ECMA-262 in Unicode mode, accepting their own examples", async () => {
    const patterned = [...schemaObjects(await publishedDocument())].filter(
      (schema) => typeof schema.pattern === "string",
    );
    expect(patterned.length).toBeGreaterThan(0);
    for (const schema of patterned) {
      const pattern = schema.pattern as string;
      // A JavaScript flag leaking into the string (`…$/u`) would still compile here, so say it outright.
      expect(pattern, "a pattern carries no /flags").not.toMatch(/\/[dgimsuvy]*$/);
      const regex = new RegExp(pattern, "u");
      expect(schema.example, `pattern ${pattern} has an example`).toBeDefined();
      const examples = [schema.example, ...(Array.isArray(schema.examples) ? schema.examples : [])];
      for (const example of examples) expect(regex.test(String(example)), `${pattern} accepts ${example}`).toBe(true);
    }
  });

  it("names every operation with a unique camelCase operationId", async () => {
    const document = await publishedDocument();
    const ids = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((operation) => operation.operationId),
    );
    expect(ids.length).toBeGreaterThan(40);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z]+$/);
  });
});
