import { hc } from "hono/client";
import { describe, expect, it } from "vitest";
import type { AppType } from "../src/app";
import { latestCode, newEmail } from "./support/auth";
import { api, baseUrl } from "./support/http";

/*
 * The typed client an integrator writing TypeScript gets for free: `hc<AppType>`. Its calls and
 * answers are typed from the same zod schemas as the document, so if a route's path, input or
 * output changed shape, this file would stop compiling (`npm run typecheck`) before it ran.
 */
const client = hc<AppType>(baseUrl, {
  // Through the same helper as every other test, so the contract check sees these calls too.
  fetch: (input: RequestInfo | URL, init?: RequestInit) => {
    // hc calls fetch with the full URL as a string and the rest in `init`.
    const url = new URL(String(input));
    return api(`${url.pathname}${url.search}`, init);
  },
});

describe("hc<AppType>, the typed client", () => {
  it("signs in by email, updates the profile and reads it back, typed end to end", async () => {
    const email = newEmail("typed");
    const requested = await client.auth.email.request.$post({ json: { email } });
    expect(requested.status).toBe(202);
    if (requested.status !== 202) return;
    const { login_id } = await requested.json();

    const verified = await client.auth.email.verify.$post({ json: { email, login_id, code: await latestCode(email) } });
    expect(verified.status).toBe(200);
    if (verified.status !== 200) return;
    const { access_token, user } = await verified.json();
    const headers = { Authorization: `Bearer ${access_token}` };

    const patched = await client.me.$patch({ json: { display_name: "Typed Tursunoy", level: "B2" } }, { headers });
    expect(patched.status).toBe(200);

    const me = await client.me.$get({}, { headers });
    expect(me.status).toBe(200);
    if (me.status !== 200) return;
    const body = await me.json();
    expect(body.user.id).toBe(user.id);
    expect(body.profile.display_name).toBe("Typed Tursunoy");
    expect(body.profile.level).toBe("B2");
  });

  it("gets the problem of a refused call as the documented error type", async () => {
    const refused = await client.me.$get({}, { headers: { Authorization: "Bearer not-a-token" } });
    expect(refused.status).toBe(401);
    if (refused.status !== 401) return;
    expect((await refused.json()).code).toBe("UNAUTHORIZED");
  });
});
