import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { authEmailTokens, authIdentities, profiles, users } from "../../../src/db/schema";
import {
  bearer,
  latestCode,
  newEmail,
  requestCode,
  type SignedIn,
  signIn,
  startSignIn,
  verify,
} from "../../support/auth";
import { passResendCooldown, testDatabase } from "../../support/db";
import { api } from "../../support/http";

const handle = testDatabase();
afterAll(() => handle.close());

describe("POST /auth/email/request", () => {
  it("answers 202 with a login id and mails a 6-digit code to a new address", async () => {
    const email = newEmail();
    const response = await requestCode(email);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ status: "sent", login_id: expect.any(String), expires_in: 600 });
    expect(await latestCode(email)).toMatch(/^\d{6}$/);
  });

  it("answers the same way for an address that already has an account", async () => {
    const existing = await signIn();
    await passResendCooldown(existing.user.email);
    const known = await requestCode(existing.user.email);
    const unknown = await requestCode(newEmail());
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    const shape = (body: Record<string, unknown>) => Object.keys(body).sort();
    expect(shape(await known.json())).toEqual(shape(await unknown.json()));
  });

  it("normalises the address: trimmed and lower-cased", async () => {
    const email = newEmail();
    expect((await requestCode(`  ${email.toUpperCase()} `)).status).toBe(202);
    expect(await latestCode(email)).toMatch(/^\d{6}$/);
  });

  it("stores only a keyed hash of the code", async () => {
    const email = newEmail();
    await requestCode(email);
    const code = await latestCode(email);
    const rows = await handle.db.select().from(authEmailTokens).where(eq(authEmailTokens.email, email));
    expect(JSON.stringify(rows)).not.toContain(code);
    expect(rows[0]?.codeHash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("POST /auth/email/verify", () => {
  it("creates the user, an empty profile and a verified email identity on first sign-in", async () => {
    const { email, loginId, code } = await startSignIn();
    const response = await verify(email, loginId, code);
    expect(response.status).toBe(200);
    const session = (await response.json()) as SignedIn;
    expect(session).toMatchObject({
      token_type: "Bearer",
      expires_in: 900,
      user: { email, role: "user", status: "active" },
    });
    expect(session.access_token.split(".")).toHaveLength(3);
    expect(session.refresh_token.length).toBeGreaterThanOrEqual(40);

    const [profile] = await handle.db.select().from(profiles).where(eq(profiles.userId, session.user.id));
    expect(profile).toMatchObject({ displayName: null, level: null, timezone: "UTC", interests: [] });
    const identities = await handle.db.select().from(authIdentities).where(eq(authIdentities.userId, session.user.id));
    expect(identities).toEqual([
      expect.objectContaining({ provider: "email", providerUserId: email, email, emailVerified: true }),
    ]);
  });

  it("signs a returning user in to the same account", async () => {
    const first = await signIn();
    await passResendCooldown(first.user.email);
    const second = await signIn(first.user.email);
    expect(second.user.id).toBe(first.user.id);
    const rows = await handle.db.select().from(users).where(eq(users.email, first.user.email));
    expect(rows).toHaveLength(1);
  });

  it("gives the admin role to addresses in ADMIN_EMAILS", async () => {
    // Other files sign this address in too.
    await passResendCooldown("moderator@gaplash.test");
    const session = await signIn("moderator@gaplash.test");
    expect(session.user.role).toBe("admin");
    const me = await api("/me", { headers: bearer(session) });
    expect(((await me.json()) as { user: { role: string } }).user.role).toBe("admin");
  });
});
