import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { findChromium } from "./chromium.ts";

/*
 * Swagger UI as an integrator opens it: in Chromium, with every request to another host refused,
 * so a page that leaned on a CDN would stay blank here.
 */

const apiUrl = inject("apiUrl");
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: findChromium(), args: ["--no-sandbox", "--disable-gpu"] });
});
afterAll(() => browser?.close());

describe("Swagger UI at /swagger", () => {
  it("renders every operation of the document without reaching any other host or breaking its CSP", async () => {
    const published = (await (await fetch(`${apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const operationIds = Object.values(published.paths).flatMap((item) =>
      Object.values(item).map((operation) => operation.operationId),
    );

    const context = await browser.newContext({ baseURL: apiUrl });
    const elsewhere: string[] = [];
    await context.route(
      (url) => url.origin !== new URL(apiUrl).origin,
      (route) => {
        elsewhere.push(route.request().url());
        return route.abort();
      },
    );
    await context.addInitScript(() => {
      const violations: string[] = [];
      Object.assign(window, { gaplashCspViolations: violations });
      document.addEventListener("securitypolicyviolation", (event) =>
        violations.push(`${event.effectiveDirective} ${event.blockedURI}`),
      );
    });
    const page = await context.newPage();
    await page.goto("/swagger");
    await expect.poll(() => page.locator(".opblock").count(), { timeout: 20_000 }).toBe(operationIds.length);
    // Swagger UI gives each operation the id `operations-<tag>-<operationId>`.
    const missing: string[] = [];
    for (const operationId of operationIds) {
      if ((await page.locator(`[id^="operations-"][id$="-${operationId}"]`).count()) !== 1) missing.push(operationId);
    }
    expect(missing).toEqual([]);
    expect(await page.locator(".info .title").textContent()).toContain("Gaplash API");
    expect(elsewhere).toEqual([]);
    // It runs under its Content-Security-Policy without one violation.
    expect(
      await page.evaluate(() => (window as unknown as { gaplashCspViolations: string[] }).gaplashCspViolations),
    ).toEqual([]);
    await context.close();
  });
});
