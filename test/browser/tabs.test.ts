import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { findChromium } from "./chromium.ts";

/*
 * Two tabs of the web client share the learner's tokens. When both find the access token
 * expired at once, they refresh one after the other, never at once, the second taking the pair
 * the first got (or, if its copy of storage lags, getting that same pair back from the API), and
 * both stay signed in on one line of the sign-in.
 */
const apiUrl = inject("apiUrl");
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: findChromium(), args: ["--no-sandbox", "--disable-gpu"] });
});
afterAll(async () => {
  await browser?.close();
});

/** A learner signed in through the public API, with a name, as the client stores them. */
async function signedInTokens(name: string): Promise<{ access_token: string; refresh_token: string; user: unknown }> {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${apiUrl}${path}`, {
      method: path === "/me" ? "PATCH" : "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const email = `${name.toLowerCase()}-${crypto.randomUUID()}@example.com`;
  const { login_id } = (await (await post("/auth/email/request", { email })).json()) as { login_id: string };
  const mailbox = (await (await fetch(`${apiUrl}/dev/mailbox?email=${encodeURIComponent(email)}`)).json()) as {
    items: { text?: string }[];
  };
  const code = /\b(\d{6})\b/.exec(mailbox.items[0]?.text ?? "")?.[1] ?? "";
  const tokens = (await (await post("/auth/email/verify", { email, login_id, code })).json()) as {
    access_token: string;
    refresh_token: string;
    user: unknown;
  };
  await post("/me", { display_name: name, level: "B1" }, { authorization: `Bearer ${tokens.access_token}` });
  return tokens;
}

describe("two tabs whose access token has expired", () => {
  it.each([1, 2, 3])("refresh in turn, and both stay signed in on one sign-in (round %i)", async () => {
    const tokens = await signedInTokens("Tabs");
    const context = await browser.newContext({ baseURL: apiUrl });
    // An access token the API refuses (as an expired one is), beside a good refresh token, stored
    // from a page of the same origin that is not the client.
    const seeding = await context.newPage();
    await seeding.goto("/health");
    await seeding.evaluate(
      (stored) => localStorage.setItem("gaplash.tokens", stored),
      JSON.stringify({ ...tokens, access_token: `${tokens.access_token}x` }),
    );
    await seeding.close();
    const refreshes: { started: number; finished?: number; status?: number }[] = [];
    context.on("request", (request) => {
      if (new URL(request.url()).pathname === "/auth/refresh") refreshes.push({ started: performance.now() });
    });
    context.on("requestfinished", async (request) => {
      if (new URL(request.url()).pathname !== "/auth/refresh") return;
      const open = refreshes.find((refresh) => refresh.finished === undefined);
      if (open) {
        open.finished = performance.now();
        open.status = (await request.response())?.status();
      }
    });
    const [left, right] = await Promise.all([context.newPage(), context.newPage()]);
    await Promise.all([left.goto("/app/"), right.goto("/app/")]);
    for (const page of [left, right]) {
      await page.getByRole("heading", { name: "Salom, Tabs" }).waitFor({ timeout: 15_000 });
    }
    // Never two refreshes at once, and never one that fails: the tabs take turns under the lock,
    // and a tab whose copy of storage is not yet up to date (storage reaches other tabs' processes
    // a moment later) presents the spent token within the reuse interval and gets the same pair.
    expect(refreshes.length).toBeGreaterThanOrEqual(1);
    expect(refreshes.length).toBeLessThanOrEqual(2);
    expect(refreshes.every((refresh) => refresh.status === 200)).toBe(true);
    const [first, second] = refreshes;
    if (first && second) expect(second.started).toBeGreaterThanOrEqual(first.finished ?? Number.POSITIVE_INFINITY);
    const stored = await left.evaluate(() => JSON.parse(localStorage.getItem("gaplash.tokens") ?? "null"));
    expect(stored?.refresh_token).not.toBe(tokens.refresh_token);
    // The sign-in is one line that goes on: the stored pair still refreshes.
    const next = await fetch(`${apiUrl}/auth/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: stored?.refresh_token }),
    });
    expect(next.status).toBe(200);
    await context.close();
  });
});
