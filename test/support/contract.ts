import { exports } from "cloudflare:workers";
import { type Schema, Validator } from "@cfworker/json-schema";

/**
 * Holds every response the tests see to the published contract: the `/openapi.json` the Worker
 * serves, read through a JSON Schema validator that shares no code with the zod schemas it was
 * generated from. A status the operation does not list, a media type it does not declare or a
 * body its schema refuses fails the test that made the request.
 */

interface MediaType {
  schema?: Schema;
}
interface Operation {
  operationId: string;
  responses: Record<string, { content?: Record<string, MediaType>; headers?: Record<string, unknown> }>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
}

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

let published: Promise<OpenApiDocument> | undefined;

/** The document as the Worker serves it, read once per run. */
export function publishedDocument(): Promise<OpenApiDocument> {
  published ??= exports.default
    .fetch(new Request("http://gaplash.test/openapi.json"))
    .then((response) => response.json() as Promise<OpenApiDocument>);
  return published;
}

function pathPattern(template: string): RegExp {
  const source = template
    .split(/\{[^}]+\}/)
    .map((literal) => literal.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
    .join("[^/]+");
  return new RegExp(`^${source}$`);
}

const patterns = new Map<string, RegExp>();
function pathItemFor(document: OpenApiDocument, path: string): Record<string, Operation> | undefined {
  for (const [template, item] of Object.entries(document.paths)) {
    let pattern = patterns.get(template);
    if (!pattern) {
      pattern = pathPattern(template);
      patterns.set(template, pattern);
    }
    if (pattern.test(path)) return item;
  }
  return undefined;
}

const validators = new Map<string, Validator>();
function validatorFor(document: OpenApiDocument, key: string, schema: Schema): Validator {
  let validator = validators.get(key);
  if (!validator) {
    // The document's `#/components/...` references resolve against this root.
    validator = new Validator({ ...schema, components: document.components } as Schema, "2020-12", false);
    validators.set(key, validator);
  }
  return validator;
}

export class ContractViolation extends Error {
  override name = "ContractViolation";
}

/**
 * Headers an answer may carry without its operation declaring them, because every HTTP answer
 * may, alike (docs/contract.md says which and why): the representation's own (OpenAPI ignores a
 * declared `Content-Type`), the connection's, CORS's, the security headers every answer carries,
 * and a WebSocket handshake's. Any other header an answer carries must be declared on it.
 */
const undeclaredAlike = [
  /^content-(type|length|encoding)$/,
  /^(date|connection|keep-alive|transfer-encoding|vary)$/,
  /^access-control-/,
  /^(content-security-policy|strict-transport-security|x-content-type-options|x-frame-options|referrer-policy)$/,
  /^(cross-origin-(opener|resource|embedder)-policy|origin-agent-cluster|x-dns-prefetch-control)$/,
  /^(x-download-options|x-permitted-cross-domain-policies|x-xss-protection)$/,
  /^(upgrade|sec-websocket-[a-z]+)$/,
];

interface HeaderObject {
  schema?: { type?: string; minimum?: number };
}

/** A header of a response: its own declaration, or the shared component it references. */
function headerObject(document: OpenApiDocument, declared: unknown): HeaderObject {
  const ref = (declared as { $ref?: string }).$ref;
  if (!ref) return declared as HeaderObject;
  const headers = document.components.headers as Record<string, HeaderObject>;
  return headers[ref.replace("#/components/headers/", "")] ?? {};
}

/** Every header `response` carries is declared on it (or alike on every answer), and an integer one is an integer. */
function assertHeadersDeclared(
  document: OpenApiDocument,
  where: string,
  status: number,
  response: Response,
  declared: Record<string, unknown> | undefined,
): void {
  const byName = new Map(Object.entries(declared ?? {}).map(([name, header]) => [name.toLowerCase(), header]));
  const undeclared: string[] = [];
  for (const [name, value] of response.headers) {
    const header = byName.get(name);
    if (header === undefined) {
      if (!undeclaredAlike.some((alike) => alike.test(name))) undeclared.push(name);
      continue;
    }
    const schema = headerObject(document, header).schema;
    if (schema?.type === "integer" && !(/^\d+$/.test(value) && Number(value) >= (schema.minimum ?? 0))) {
      throw new ContractViolation(
        `${where} answered ${status} with ${name}: ${value}, which is not the integer declared`,
      );
    }
  }
  if (undeclared.length > 0) {
    throw new ContractViolation(
      `${where} answered ${status} with headers its response does not declare: ${undeclared.join(", ")}`,
    );
  }
}

/**
 * Throws a `ContractViolation` when `response` to `request` breaks the document. Paths the
 * document does not describe (development routes, the document itself, the web client) are not
 * checked; a documented path asked with a method it does not have must answer 405.
 */
export async function assertConforms(request: Request, response: Response): Promise<void> {
  // A CORS preflight is answered before routing, for every path alike.
  if (request.method === "OPTIONS" && request.headers.has("access-control-request-method")) return;
  const document = await publishedDocument();
  const url = new URL(request.url);
  const item = pathItemFor(document, url.pathname);
  if (!item) return;
  const method = request.method.toLowerCase();
  // RFC 9110 §9.3.2: HEAD is GET without the content, so GET's operation describes it.
  const operation = methods.includes(method) ? (item[method] ?? (method === "head" ? item.get : undefined)) : undefined;
  const where = `${request.method} ${url.pathname}`;
  // The body limit comes before routing, so any method may meet it (docs/contract.md).
  if (!operation && response.status === 413) return;
  if (!operation) {
    if (response.status !== 405) {
      throw new ContractViolation(
        `${where}: the path has no ${request.method}, so 405 was due, not ${response.status}`,
      );
    }
    // No operation can list this answer, so the shared components describe its headers.
    const shared = document.components.headers as Record<string, unknown>;
    assertHeadersDeclared(document, where, 405, response, {
      Allow: shared.Allow,
      "X-Request-Id": shared["X-Request-Id"],
      "Server-Timing": shared["Server-Timing"],
    });
    if (!response.headers.has("allow")) throw new ContractViolation(`${where} answered 405 without Allow`);
    return;
  }
  const documented = operation.responses[String(response.status)];
  if (!documented) {
    throw new ContractViolation(
      `${where} (${operation.operationId}) answered ${response.status}, which the document does not list ` +
        `(it lists ${Object.keys(operation.responses).join(", ")}): ${await response.clone().text()}`,
    );
  }
  assertHeadersDeclared(document, `${where} (${operation.operationId})`, response.status, response, documented.headers);
  const body =
    response.status === 101 || response.status === 204 || method === "head" ? "" : await response.clone().text();
  if (!documented.content) {
    if (body !== "" && response.status < 300) {
      throw new ContractViolation(`${where} answered ${response.status} with a body the document does not describe`);
    }
    return;
  }
  const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const content = documented.content[mediaType];
  if (!content) {
    throw new ContractViolation(
      `${where} answered ${response.status} as "${mediaType}", but the document says ${Object.keys(documented.content).join(" or ")}`,
    );
  }
  if (!content.schema || !mediaType.endsWith("json") || method === "head") return;
  const result = validatorFor(
    document,
    `${operation.operationId} ${response.status} ${mediaType}`,
    content.schema,
  ).validate(JSON.parse(body));
  if (!result.valid) {
    const reasons = result.errors
      .filter((error) => error.keyword !== "properties" && error.keyword !== "$ref" && error.keyword !== "allOf")
      .map((error) => `${error.instanceLocation}: ${error.error}`)
      .slice(0, 5);
    throw new ContractViolation(
      `${where} (${operation.operationId}) answered ${response.status} with a body its schema refuses: ${reasons.join("; ")}\n${body.slice(0, 500)}`,
    );
  }
}
