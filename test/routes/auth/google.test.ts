import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../../src/index";
import { bearer, type SignedIn, signIn } from "../../support/auth";
import { api, baseUrl, readProblem } from "../../support/http";

/*
 * Google cannot be reached from here, so its two HTTP endpoints (token exchange and signing
 * keys) are intercepted at the fetch boundary by a small fake that behaves like Google: it
 * checks the client credentials, the redirect URI and the PKCE verifier, and signs real
 * RS256 ID tokens. Everything on our side runs unchanged.
 */
const clientId = "gaplash-test.apps.googleusercontent.com";
const realFetch = globalThis.fetch.bind(globalThis);
let signingKey: CryptoKey;
let publicJwk: JWK & { kid: string };

interface FakeGoogleUser {
  sub: string;
  email: string;
  email_verified: boolean;
  aud?: string;
}
let nextUser: FakeGoogleUser;
let lastChallenge = "";

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  signingKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "test-key-1", alg: "RS256", use: "sig" };
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function interceptGoogle() {
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url === "https://www.googleapis.com/oauth2/v3/certs") return Response.json({ keys: [publicJwk] });
    if (request.url !== "https://oauth2.googleapis.com/token") return realFetch(input, init);
    const form = await request.formData();
    const credentials = atob((request.headers.get("authorization") ?? "").replace(/^Basic /, ""));
    const validClient = credentials === `${clientId}:test-google-client-secret`;
    const validPkce = (await s256(String(form.get("code_verifier") ?? ""))) === lastChallenge;
    if (
      !validClient ||
      !validPkce ||
      form.get("code") !== "good-code" ||
      form.get("redirect_uri") !== "http://gaplash.test/auth/google/callback"
    ) {
      return Response.json({ error: "invalid_grant", error_description: "Bad Request" }, { status: 400 });
    }
    const now = Math.floor(Date.now() / 1000);
    const idToken = await new SignJWT({ email: nextUser.email, email_verified: nextUser.email_verified })
      .setProtectedHeader({ alg: "RS256", kid: publicJwk.kid })
      .setIssuer("https://accounts.google.com")
      .setAudience(nextUser.aud ?? clientId)
      .setSubject(nextUser.sub)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(signingKey);
    return Response.json({ access_token: "ya29.fake", token_type: "Bearer", expires_in: 3599, id_token: idToken });
  });
}

async function startLogin(): Promise<{ state: string; cookie: string; location: URL }> {
  const response = await api("/auth/google/login", { redirect: "manual" });
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get("location") ?? "");
  lastChallenge = location.searchParams.get("code_challenge") ?? "";
  const setCookie = response.headers.get("set-cookie") ?? "";
  return { state: location.searchParams.get("state") ?? "", cookie: setCookie.split(";")[0] ?? "", location };
}

async function finishLogin(query: string, cookie: string): Promise<Response> {
  return api(`/auth/google/callback?${query}`, { headers: { Cookie: cookie } });
}

async function googleSignIn(user: FakeGoogleUser): Promise<Response> {
  interceptGoogle();
  nextUser = user;
  const { state, cookie } = await startLogin();
  return finishLogin(`code=good-code&state=${state}`, cookie);
}

describe("GET /auth/google/login", () => {
  it("redirects to Google with state, PKCE S256 and a signed HttpOnly cookie", async () => {
    const response = await api("/auth/google/login", { redirect: "manual" });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location") ?? "");
    expect(location.origin + location.pathname).toBe("https://accounts.google.com/o/oauth2/v2/auth");
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      client_id: clientId,
      redirect_uri: "http://gaplash.test/auth/google/callback",
      response_type: "code",
      code_challenge_method: "S256",
      state: expect.stringMatching(/^[\w-]{20,}$/),
      code_challenge: expect.stringMatching(/^[\w-]{43}$/),
    });
    expect(location.searchParams.get("scope")?.split(" ")).toEqual(expect.arrayContaining(["openid", "email"]));
    const cookie = response.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^gaplash_google_oauth=/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).toContain("Max-Age=600");
    expect(cookie).not.toContain(location.searchParams.get("code_challenge") ?? "-");
  });
});

describe("GET /auth/google/callback", () => {
  it("signs a new user in and records a verified Google identity", async () => {
    const email = `google-${crypto.randomUUID()}@gmail.com`;
    const response = await googleSignIn({ sub: crypto.randomUUID(), email, email_verified: true });
    expect(response.status).toBe(200);
    const session = (await response.json()) as SignedIn;
    expect(session.user).toMatchObject({ email, role: "user" });
    const me = (await (await api("/me", { headers: bearer(session) })).json()) as {
      identities: { provider: string; email: string; email_verified: boolean }[];
    };
    expect(me.identities).toEqual([expect.objectContaining({ provider: "google", email, email_verified: true })]);
  });

  it("links Google to the account that signed in by email with the same address: one user, two identities", async () => {
    const byEmail = await signIn();
    const response = await googleSignIn({
      sub: crypto.randomUUID(),
      email: byEmail.user.email.toUpperCase(),
      email_verified: true,
    });
    expect(response.status).toBe(200);
    const byGoogle = (await response.json()) as SignedIn;
    expect(byGoogle.user.id).toBe(byEmail.user.id);
    const me = (await (await api("/me", { headers: bearer(byGoogle) })).json()) as {
      identities: { provider: string }[];
    };
    expect(me.identities.map((identity) => identity.provider)).toEqual(["email", "google"]);
  });

  it("signs the same Google account in to the same user every time", async () => {
    const sub = crypto.randomUUID();
    const email = `google-${crypto.randomUUID()}@gmail.com`;
    const first = (await (await googleSignIn({ sub, email, email_verified: true })).json()) as SignedIn;
    const second = (await (await googleSignIn({ sub, email, email_verified: true })).json()) as SignedIn;
    expect(second.user.id).toBe(first.user.id);
  });

  it("refuses an address Google has not verified", async () => {
    const response = await googleSignIn({
      sub: crypto.randomUUID(),
      email: "unverified@example.com",
      email_verified: false,
    });
    expect(response.status).toBe(403);
    expect((await readProblem(response)).code).toBe("EMAIL_NOT_VERIFIED");
  });

  it("refuses an ID token issued for another client", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const response = await googleSignIn({
      sub: crypto.randomUUID(),
      email: "someone@gmail.com",
      email_verified: true,
      aud: "another-app.apps.googleusercontent.com",
    });
    expect(response.status).toBe(502);
  });

  it("refuses a state that does not match the cookie", async () => {
    interceptGoogle();
    const { cookie } = await startLogin();
    const response = await finishLogin("code=good-code&state=forged-state", cookie);
    expect(response.status).toBe(400);
    expect((await readProblem(response)).code).toBe("OAUTH_STATE_MISMATCH");
  });

  it("refuses a callback without the login cookie", async () => {
    const { state } = await startLogin();
    const response = await finishLogin(`code=good-code&state=${state}`, "");
    expect((await readProblem(response)).code).toBe("OAUTH_STATE_MISMATCH");
  });

  it("refuses a code Google rejects", async () => {
    interceptGoogle();
    const { state, cookie } = await startLogin();
    const response = await finishLogin(`code=stolen-code&state=${state}`, cookie);
    expect(response.status).toBe(400);
    expect((await readProblem(response)).code).toBe("OAUTH_CODE_REJECTED");
  });

  it("reports a sign-in the user cancelled at Google", async () => {
    const { state, cookie } = await startLogin();
    const response = await finishLogin(`error=access_denied&state=${state}`, cookie);
    expect(response.status).toBe(400);
    expect((await readProblem(response)).detail).toContain("access_denied");
  });
});

describe("Google sign-in without configuration", () => {
  it("answers 503 on both routes", async () => {
    const {
      GOOGLE_CLIENT_ID: _id,
      GOOGLE_CLIENT_SECRET: _secret,
      GOOGLE_REDIRECT_URI: _uri,
      ...unconfigured
    } = env as unknown as Record<string, unknown>;
    for (const path of ["/auth/google/login", "/auth/google/callback?code=x&state=y"]) {
      const ctx = createExecutionContext();
      const response = await worker.fetch(new Request(`${baseUrl}${path}`), unconfigured as unknown as Env, ctx);
      await waitOnExecutionContext(ctx);
      expect(response.status).toBe(503);
      expect((await readProblem(response)).code).toBe("GOOGLE_NOT_CONFIGURED");
    }
  });
});
