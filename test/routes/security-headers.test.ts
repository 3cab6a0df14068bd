import { describe, expect, inject, it } from "vitest";
import { api } from "../support/http";

/*
 * Every answer carries nosniff, no framing and no referrer; an API answer is never a document
 * (its CSP loads nothing); the web client's pages and Swagger UI run no inline script and talk
 * only to this origin and object storage.
 */
function directives(csp: string | null): Map<string, string[]> {
  return new Map(
    (csp ?? "")
      .split(";")
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name as string, values]),
  );
}

function expectCommonHeaders(response: Response): void {
  expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  expect(response.headers.get("x-frame-options")).toBe("DENY");
  expect(response.headers.get("referrer-policy")).toBe("no-referrer");
  expect(directives(response.headers.get("content-security-policy")).get("frame-ancestors")).toEqual(["'none'"]);
}

describe("security headers", () => {
  it("are on API answers, successes and problems alike, with a CSP that loads nothing", async () => {
    for (const response of [await api("/health"), await api("/me"), await api(`/nowhere-${crypto.randomUUID()}`)]) {
      expectCommonHeaders(response);
      expect(directives(response.headers.get("content-security-policy")).get("default-src")).toEqual(["'none'"]);
    }
  });

  it("give Swagger UI its own scripts only: no inline script in the page or the policy", async () => {
    const response = await api("/swagger");
    expectCommonHeaders(response);
    const csp = directives(response.headers.get("content-security-policy"));
    expect(csp.get("script-src")).toEqual(["'self'"]);
    expect(csp.get("connect-src")).toEqual(["'self'"]);
    const html = await response.text();
    expect(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g)).toBeNull();
  });

  it("give the web client its own scripts and styles, this origin and object storage, nothing else", async () => {
    const response = await api("/app/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expectCommonHeaders(response);
    const csp = directives(response.headers.get("content-security-policy"));
    const storage = new URL(inject("stack").S3_ENDPOINT).origin;
    expect(csp.get("script-src")).toEqual(["'self'"]);
    expect(csp.get("style-src")).toEqual(["'self'"]);
    expect(csp.get("connect-src")).toEqual(["'self'", storage]);
    expect(csp.get("media-src")).toEqual(["'self'", "blob:", storage]);
    expect(csp.get("object-src")).toEqual(["'none'"]);
    expect(await response.text()).toContain('<script type="module" src="./app.js"></script>');
  });

  it("serve the moderator console's page to anyone under the web client's policy, while its API stays guarded", async () => {
    // The page holds no data: every figure it shows comes from the admin API, which refuses others.
    for (const path of ["/admin", "/admin/"]) {
      const response = await api(path);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/html/);
      expectCommonHeaders(response);
      const csp = directives(response.headers.get("content-security-policy"));
      expect(csp.get("script-src")).toEqual(["'self'"]);
      expect(csp.get("style-src")).toEqual(["'self'"]);
      expect(await response.text()).toContain('<script type="module" src="./admin.js"></script>');
    }
    expect((await api("/admin/reports")).status).toBe(401);
  });
});
