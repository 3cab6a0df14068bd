import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../../src/index";
import { assertConforms } from "./contract";

export const baseUrl = "http://gaplash.test";

/**
 * Calls the Worker exactly as a client would: through its own `fetch`, inside workerd. Every
 * answer is held to the published document (see `assertConforms`).
 */
export async function api(path: string, init?: RequestInit): Promise<Response> {
  const request = new Request(`${baseUrl}${path}`, init);
  const response = await exports.default.fetch(request.clone());
  await assertConforms(request, response);
  return response;
}

/**
 * Calls the Worker with some of its bindings replaced (or removed, with `undefined`), such as a
 * dependency pointed at a server that never answers. The Durable Objects keep their own bindings.
 */
export async function apiWith(
  overrides: Record<string, string | undefined>,
  path: string,
  init?: RequestInit,
): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`${baseUrl}${path}`, init);
  const response = await worker.fetch(request.clone(), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  await assertConforms(request, response);
  return response;
}

/**
 * A random IPv4 address in 10.0.0.0/8 for `cf-connecting-ip`, so that a test's per-network
 * counters are its own (one in about 16 million to meet another test's).
 */
export function randomIp(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `10.${a}.${b}.${c}`;
}

export function postJson(path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return api(path, {
    ...init,
    method: init.method ?? "POST",
    headers: { "content-type": "application/json", ...init.headers },
    body: JSON.stringify(body),
  });
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id: string;
  errors?: { field: string; message: string }[];
  [extension: string]: unknown;
}

/** Asserts the response is an RFC 9457 problem and returns its body. */
export async function readProblem(response: Response): Promise<ProblemBody> {
  const contentType = response.headers.get("content-type") ?? "";
  if (!contentType.startsWith("application/problem+json")) {
    throw new Error(`expected a problem, got ${response.status} ${contentType}: ${await response.text()}`);
  }
  return (await response.json()) as ProblemBody;
}
