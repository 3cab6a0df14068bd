import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { messages, profiles, sessionParticipants, sessions } from "../../src/db/schema";
import { bearer, newEmail, type SignedIn, signIn } from "../support/auth";
import { passResendCooldown, testDatabase } from "../support/db";
import { api, postJson, readProblem } from "../support/http";

const handle = testDatabase();
afterAll(() => handle.close());

interface Me {
  user: { id: string; email: string; role: string };
  profile: {
    display_name: string | null;
    about: string | null;
    level: string | null;
    timezone: string;
    interests: string[];
    avatar_url: string | null;
    updated_at: string;
  };
  identities: { provider: string }[];
}

const patchMe = (session: SignedIn, body: unknown) =>
  postJson("/me", body, { method: "PATCH", headers: bearer(session) });
const getMe = async (session: SignedIn) => (await (await api("/me", { headers: bearer(session) })).json()) as Me;

describe("GET /me", () => {
  it("shows the user, an empty profile and the email identity after the first sign-in", async () => {
    const session = await signIn();
    const me = await getMe(session);
    expect(me.user).toMatchObject({ id: session.user.id, email: session.user.email, role: "user" });
    expect(me.profile).toMatchObject({
      display_name: null,
      about: null,
      level: null,
      timezone: "UTC",
      interests: [],
      avatar_url: null,
    });
    expect(me.identities).toEqual([expect.objectContaining({ provider: "email", email_verified: true })]);
  });
});

describe("PATCH /me", () => {
  it("changes the sent fields, sets updated_at, and GET shows the change", async () => {
    const session = await signIn();
    const before = await getMe(session);
    const response = await patchMe(session, {
      display_name: "  Aziza ",
      about: "I love football",
      level: "B1",
      timezone: "Asia/Tashkent",
      interests: ["Travel", "football", "travel"],
    });
    expect(response.status).toBe(200);
    const after = await getMe(session);
    expect(after.profile).toMatchObject({
      display_name: "Aziza",
      about: "I love football",
      level: "B1",
      timezone: "Asia/Tashkent",
      interests: ["travel", "football"],
    });
    expect(Date.parse(after.profile.updated_at)).toBeGreaterThan(Date.parse(before.profile.updated_at));
    expect(await response.json()).toEqual(after);
  });

  it("leaves fields that were not sent alone, and clears one sent as null", async () => {
    const session = await signIn();
    await patchMe(session, { display_name: "Bobur", about: "hi", level: "A2" });
    await patchMe(session, { about: null });
    expect((await getMe(session)).profile).toMatchObject({ display_name: "Bobur", about: null, level: "A2" });
  });

  it.each([
    [{ level: "B3" }, "body.level"],
    [{ timezone: "Mars/Olympus_Mons" }, "body.timezone"],
    [{ timezone: "+05:00" }, "body.timezone"],
    [{ display_name: "" }, "body.display_name"],
    [{ interests: Array.from({ length: 11 }, (_, i) => `tag${i}`) }, "body.interests"],
    [{ interests: ["<script>"] }, "body.interests.0"],
  ])("refuses %j with a 400 naming %s, and changes nothing", async (body, field) => {
    const session = await signIn();
    await patchMe(session, { display_name: "Kept", level: "C1", timezone: "Europe/Berlin" });
    const before = await getMe(session);
    const response = await patchMe(session, body);
    expect(response.status).toBe(400);
    expect((await readProblem(response)).errors?.map((error) => error.field)).toContain(field);
    expect(await getMe(session)).toEqual(before);
  });

  it.each(["role", "status", "email"])("refuses the field %s instead of storing or ignoring it", async (field) => {
    const session = await signIn();
    const response = await patchMe(session, { display_name: "Sneaky", [field]: field === "role" ? "admin" : "x" });
    expect(response.status).toBe(400);
    expect((await readProblem(response)).errors).toContainEqual({
      field: `body.${field}`,
      message: "is not a field you can set",
    });
    const me = await getMe(session);
    expect(me.user.role).toBe("user");
    expect(me.profile.display_name).toBeNull();
  });

  it("refuses an empty patch", async () => {
    const session = await signIn();
    expect((await patchMe(session, {})).status).toBe(400);
  });

  it("needs a signed-in user", async () => {
    expect((await postJson("/me", { level: "B1" }, { method: "PATCH" })).status).toBe(401);
  });
});

describe("DELETE /me", () => {
  it("deletes the account and personal data, keeps the partner's history with the sender shown as deleted", async () => {
    const leaving = await signIn();
    const partner = await signIn();
    await patchMe(leaving, { display_name: "Leaving", about: "bye" });
    const [session] = await handle.db.insert(sessions).values({ level: "B1" }).returning();
    const sessionId = session?.id ?? "";
    await handle.db.insert(sessionParticipants).values([
      { sessionId, userId: leaving.user.id },
      { sessionId, userId: partner.user.id },
    ]);
    await handle.db.insert(messages).values([
      { sessionId, senderId: leaving.user.id, type: "text", text: "Salom!" },
      { sessionId, senderId: partner.user.id, type: "text", text: "Hello!" },
    ]);

    const response = await api("/me", { method: "DELETE", headers: bearer(leaving) });
    expect(response.status).toBe(204);

    expect((await api("/me", { headers: bearer(leaving) })).status).toBe(401);
    expect(await handle.db.select().from(profiles).where(eq(profiles.userId, leaving.user.id))).toHaveLength(0);
    const history = await handle.db.select().from(messages).where(eq(messages.sessionId, sessionId));
    expect(history.map((message) => [message.text, message.senderId]).sort()).toEqual(
      [
        ["Hello!", partner.user.id],
        ["Salom!", null],
      ].sort(),
    );
    const refresh = await postJson("/auth/refresh", { refresh_token: leaving.refresh_token });
    expect(refresh.status).toBe(401);
  });

  it("lets the same address sign up again as a new account", async () => {
    const email = newEmail();
    const first = await signIn(email);
    await api("/me", { method: "DELETE", headers: bearer(first) });
    await passResendCooldown(email);
    const second = await signIn(email);
    expect(second.user.id).not.toBe(first.user.id);
  });
});
