import { type ClientResponse, hc } from "hono/client";
import type { AppType } from "../../src/app";

/** The tokens of the signed-in learner, kept across reloads. */
export interface Tokens {
  access_token: string;
  refresh_token: string;
  user: { id: string; email: string; role: string };
}

const storageKey = "gaplash.tokens";
const listeners = new Set<(tokens: Tokens | null) => void>();

export function currentTokens(): Tokens | null {
  const stored = localStorage.getItem(storageKey);
  return stored ? (JSON.parse(stored) as Tokens) : null;
}

export function setTokens(tokens: Tokens | null): void {
  if (tokens) {
    signedOutFor = null;
    localStorage.setItem(storageKey, JSON.stringify(tokens));
  } else localStorage.removeItem(storageKey);
  for (const listener of listeners) listener(tokens);
}

/**
 * Called whenever the learner signs in, refreshes or is signed out (a refused refresh, a 401), in
 * this tab or in another: the `storage` event brings another tab's change, so every tab signs out
 * (or in, as another learner) with the one that did.
 */
export function onTokens(listener: (tokens: Tokens | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

addEventListener("storage", (event) => {
  if (event.key !== storageKey && event.key !== null) return;
  const tokens = currentTokens();
  // A sign-in in another tab ends this tab's suspension notice as one here does (`setTokens`): a
  // later sign-out, the learner's own, must not tell them of a suspension that may have been lifted.
  if (tokens) signedOutFor = null;
  for (const listener of listeners) listener(tokens);
});

/** What an `ACCOUNT_SUSPENDED` problem says: since when (ISO 8601; null when not known) and why. */
export interface Suspension {
  since: string | null;
  /** The reason category of the report the suspension closed; null for one a moderator made directly. */
  reason: string | null;
}

/** An RFC 9457 problem the API answered with. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly errors: { field: string; message: string }[] = [],
    readonly suspension: Suspension | null = null,
  ) {
    super(detail);
  }
}

export async function problemOf(response: Pick<Response, "json" | "status" | "statusText">): Promise<Problem> {
  const body = (await response.json().catch(() => ({}))) as Partial<{
    code: string;
    detail: string;
    errors: { field: string; message: string }[];
    suspended_at: string | null;
    reason: string | null;
  }>;
  const suspension =
    body.code === "ACCOUNT_SUSPENDED" ? { since: body.suspended_at ?? null, reason: body.reason ?? null } : null;
  return new Problem(
    response.status,
    body.code ?? "UNKNOWN",
    body.detail ?? response.statusText,
    body.errors,
    suspension,
  );
}

/** The problem that ended this tab's sign-in (a suspension), until the next sign-in. */
let signedOutFor: Problem | null = null;

/** Why the API ended the sign-in, for the sign-in screen to say: a suspension, with since when and why. */
export function signOutProblem(): Problem | null {
  return signedOutFor;
}

/** The problem of `response` when it says the account is suspended; the response stays unread. */
async function suspensionIn(response: Response): Promise<Problem | null> {
  if (response.status !== 403) return null;
  const problem = await problemOf(response.clone());
  return problem.code === "ACCOUNT_SUSPENDED" ? problem : null;
}

let refreshing: Promise<boolean> | null = null;

/**
 * Swaps the refresh token for a new pair, once even when many requests ask at the same time, and
 * once across tabs: the tabs share the tokens in `localStorage`, so they take turns under one Web
 * Lock, and a tab that gets the lock after another tab rotated the token uses the new pair rather
 * than presenting the spent one again (the server would take that as a retry within its reuse
 * interval, or, later, as theft that signs the learner out everywhere). `stale` is the refresh
 * token of the pair a refused request was sent with: if storage holds another by now, that one is
 * fresh already. Resolves true with fresh tokens, false once the API said the sign-in is over
 * (the learner is signed out), and rejects when it could not tell (offline, a 503).
 */
export function refreshTokens(stale = currentTokens()?.refresh_token): Promise<boolean> {
  refreshing ??= withRefreshLock(async () => {
    const tokens = currentTokens();
    if (!tokens) return false;
    if (stale && tokens.refresh_token !== stale) return true;
    const response = await refreshOnce(tokens.refresh_token);
    // Only the API's word that the sign-in is over signs the learner out; a 503 is tried again later.
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      signedOutFor = await suspensionIn(response);
      setTokens(null);
      return false;
    }
    if (!response.ok) throw new Error(`the refresh answered ${response.status}; try again shortly`);
    setTokens((await response.json()) as Tokens);
    return true;
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** The longest `Retry-After` of a 503 a refresh waits out before trying again (s), and how often it does. */
const refreshRetry = { maxWaitSec: 10, attempts: 3 };

/**
 * One refresh, each try bounded so that a hung one cannot hold every tab waiting on the lock. A
 * 503 (the database blinked) is tried again after its `Retry-After`, if that is short; past that,
 * or past the tries, the 503 is the answer.
 */
async function refreshOnce(refreshToken: string): Promise<Response> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch("/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: refreshToken }),
      signal: AbortSignal.timeout(10_000),
    });
    const waitSec = Number(response.headers.get("retry-after"));
    const retry = response.status === 503 && waitSec > 0 && waitSec <= refreshRetry.maxWaitSec;
    if (!retry || attempt >= refreshRetry.attempts) return response;
    await new Promise((resolve) => setTimeout(resolve, waitSec * 1000));
  }
}

/** Runs `work` holding the tabs' one refresh lock, where the browser has Web Locks. */
function withRefreshLock(work: () => Promise<boolean>): Promise<boolean> {
  return "locks" in navigator ? navigator.locks.request("gaplash.refresh", work) : work();
}

function withToken(init: RequestInit | undefined, tokens: Tokens | null): RequestInit {
  const headers = new Headers(init?.headers);
  if (tokens) headers.set("authorization", `Bearer ${tokens.access_token}`);
  return { ...init, headers };
}

/** Every call carries the access token; a 401 refreshes it once and retries, or signs the learner out. */
async function authorizedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const sent = currentTokens();
  const response = await fetch(input, withToken(init, sent));
  // Nothing works for a suspended account: the learner is signed out, and the sign-in screen says
  // since when and why, instead of leaving them on screens whose every action fails.
  // Only while the sign-in is still the one the request was sent with: another learner signed in
  // meanwhile (in another tab) is not suspended by it, and signing them out would say it of them.
  const suspended = sent ? await suspensionIn(response) : null;
  if (suspended && currentTokens()?.user.id === sent?.user.id) {
    signedOutFor = suspended;
    setTokens(null);
  }
  if (response.status !== 401 || !sent) return response;
  if (!(await refreshTokens(sent.refresh_token))) return response;
  return fetch(input, withToken(init, currentTokens()));
}

/** The API, typed by its own route declarations. */
export const api = hc<AppType>(location.origin, { fetch: authorizedFetch });

/** The body a response carries when it succeeds. */
export type Success<R> =
  R extends ClientResponse<infer Body, infer Status, "json"> ? (Status extends 200 | 201 | 202 ? Body : never) : never;

/** The body of a successful answer, or the API's problem, thrown. */
export async function ok<R extends ClientResponse<unknown, number, "json">>(response: R): Promise<Success<R>> {
  if (!response.ok) throw await problemOf(response);
  return (await response.json()) as Success<R>;
}

/** A WebSocket URL of the API with the access token in the query, as browsers cannot send headers. */
export function socketUrl(path: string, query: Record<string, string> = {}): string {
  const url = new URL(path, location.origin);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  for (const [name, value] of Object.entries({ ...query, token: currentTokens()?.access_token ?? "" })) {
    url.searchParams.set(name, value);
  }
  return url.toString();
}
