import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { findChromium } from "./chromium.ts";
import { signedInLearner, storeTokens } from "./learners.ts";

/*
 * Two tabs of the web client share the learner's tokens. When both find the access token
 * expired at once, they refresh one after the other, never at once, the second taking the pair
 * the first got (or, if its copy of storage lags, getting that same pair back from the API), and
 * both stay signed in on one line of the sign-in. A sign-in as someone else in one tab shows the
 * new learner in the others.
 */
const apiUrl = inject("apiUrl");
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: findChromium(), args: ["--no-sandbox", "--disable-gpu"] });
});
afterAll(async () => {
  await browser?.close();
});

describe("two tabs whose access token has expired", () => {
  it.each([1, 2, 3])("refresh in turn, and both stay signed in on one sign-in (round %i)", async () => {
    const tokens = await signedInLearner(apiUrl, "Tabs", "B1");
    const context = await browser.newContext({ baseURL: apiUrl });
    // An access token the API refuses (as an expired one is), beside a good refresh token, stored
    // from a page of the same origin that is not the client.
    await storeTokens(context, { ...tokens, access_token: `${tokens.access_token}x` });
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

describe("two tabs of one learner", () => {
  it("sign out together: the tab that did not sign out shows the sign-in at once, without a reload", async () => {
    const tokens = await signedInLearner(apiUrl, "Tabs", "B1");
    const context = await browser.newContext({ baseURL: apiUrl });
    await storeTokens(context, tokens);
    const [left, right] = await Promise.all([context.newPage(), context.newPage()]);
    await Promise.all([left.goto("/app/"), right.goto("/app/")]);
    for (const page of [left, right]) await page.getByRole("heading", { name: "Salom, Tabs" }).waitFor();
    const requests: string[] = [];
    right.on("request", (request) => requests.push(new URL(request.url()).pathname));
    await left.getByRole("button", { name: "Sign out" }).click();
    await right.getByRole("button", { name: "Send me a code" }).waitFor({ timeout: 5000 });
    expect(requests.filter((path) => path.startsWith("/app"))).toEqual([]);
    await context.close();
  });
});

describe("a refresh that meets a database blip", () => {
  it("is tried again after the 503's Retry-After, and the learner stays signed in", async () => {
    const tokens = await signedInLearner(apiUrl, "Tabs", "B1");
    const context = await browser.newContext({ baseURL: apiUrl });
    await storeTokens(context, { ...tokens, access_token: `${tokens.access_token}x` });
    const refreshes: number[] = [];
    await context.route("**/auth/refresh", async (route) => {
      refreshes.push(performance.now());
      if (refreshes.length > 1) return route.fallback();
      // What the API answers while Postgres is unreachable.
      await route.fulfill({
        status: 503,
        headers: { "content-type": "application/problem+json", "retry-after": "1" },
        body: JSON.stringify({ status: 503, code: "DEPENDENCY_UNAVAILABLE", dependency: "postgres" }),
      });
    });
    const page = await context.newPage();
    await page.goto("/app/");
    await page.getByRole("heading", { name: "Salom, Tabs" }).waitFor({ timeout: 15_000 });
    expect(refreshes).toHaveLength(2);
    expect((refreshes[1] ?? 0) - (refreshes[0] ?? 0)).toBeGreaterThanOrEqual(1000);
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem("gaplash.tokens") ?? "null"));
    expect(stored?.refresh_token).not.toBe(tokens.refresh_token);
    await context.close();
  });
});

describe("a tab whose learner signs in as someone else in another tab", () => {
  it("shows the new learner's screens, not the last one's", async () => {
    const [aziza, bobur] = [await signedInLearner(apiUrl, "Aziza", "B1"), await signedInLearner(apiUrl, "Bobur", "B1")];
    const context = await browser.newContext({ baseURL: apiUrl });
    await storeTokens(context, aziza);
    const first = await context.newPage();
    await first.goto("/app/");
    await first.getByRole("heading", { name: "Salom, Aziza" }).waitFor();
    // The other tab stores Bobur's sign-in, as its sign-in screen would.
    const second = await context.newPage();
    await second.goto("/app/");
    await second.evaluate((tokens) => localStorage.setItem("gaplash.tokens", JSON.stringify(tokens)), bobur);
    await first.getByRole("heading", { name: "Salom, Bobur" }).waitFor();
    await context.close();
  });
});
