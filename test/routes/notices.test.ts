import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { makeAdmin, testDatabase } from "../support/db";
import { api, postJson, readProblem } from "../support/http";

const handle = testDatabase();
let admin: SignedIn;

beforeAll(async () => {
  admin = await signIn();
  await makeAdmin(handle, admin.user.id);
});
afterAll(() => handle.close());

interface Notice {
  id: string;
  action: string;
  reason: string;
  created_at: string;
}

async function notices(who: SignedIn): Promise<Notice[]> {
  const response = await api("/me", { headers: bearer(who) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { notices: Notice[] }).notices;
}

/** Files a report on `target` and closes it with `action`. */
async function decided(target: SignedIn, reason: string, action: "none" | "warn" | "suspend"): Promise<void> {
  const reporter = await signIn();
  const filed = await postJson("/reports", { target_user_id: target.user.id, reason }, { headers: bearer(reporter) });
  const { id } = (await filed.json()) as { id: string };
  const closed = await postJson(
    `/admin/reports/${id}/close`,
    { resolution: "seen", action },
    { headers: bearer(admin) },
  );
  expect(closed.status).toBe(200);
}

const ack = (who: SignedIn, id: string) => api(`/me/notices/${id}/ack`, { method: "POST", headers: bearer(who) });

describe("moderation notices", () => {
  it("show a warning in GET /me with its reason and date, never the reporter, until acknowledged", async () => {
    const warned = await signIn();
    expect(await notices(warned)).toEqual([]);
    const before = Date.now();
    await decided(warned, "spam", "warn");
    await decided(warned, "harassment", "warn");
    const shown = await notices(warned);
    expect(shown.map(({ action, reason }) => ({ action, reason }))).toEqual([
      { action: "warn", reason: "spam" },
      { action: "warn", reason: "harassment" },
    ]);
    expect(Object.keys(shown[0] ?? {}).sort()).toEqual(["action", "created_at", "id", "reason"]);
    expect(Date.parse(shown[0]?.created_at ?? "")).toBeGreaterThanOrEqual(before - 1000);

    const [first, second] = shown as [Notice, Notice];
    expect((await ack(warned, first.id)).status).toBe(204);
    expect((await ack(warned, first.id)).status).toBe(204);
    expect((await notices(warned)).map((notice) => notice.id)).toEqual([second.id]);
  });

  it("are nobody else's: another user's notice id is 404, as is an unknown one", async () => {
    const warned = await signIn();
    const other = await signIn();
    await decided(warned, "scam", "warn");
    const [notice] = await notices(warned);
    const foreign = await ack(other, notice?.id ?? "");
    expect(foreign.status).toBe(404);
    expect((await readProblem(foreign)).code).toBe("NOT_FOUND");
    expect((await ack(other, crypto.randomUUID())).status).toBe(404);
    expect((await ack(other, "not-an-id")).status).toBe(400);
    // Still the warned user's to acknowledge.
    expect(await notices(warned)).toHaveLength(1);
  });

  it("are not left by a report closed without action; a suspension's is seen once it is lifted", async () => {
    const dismissed = await signIn();
    await decided(dismissed, "other", "none");
    expect(await notices(dismissed)).toEqual([]);

    const suspended = await signIn();
    await decided(suspended, "inappropriate", "suspend");
    const lifted = await api(`/admin/users/${suspended.user.id}/unsuspend`, {
      method: "POST",
      headers: bearer(admin),
    });
    expect(lifted.status).toBe(200);
    expect((await notices(suspended)).map(({ action, reason }) => ({ action, reason }))).toEqual([
      { action: "suspend", reason: "inappropriate" },
    ]);
  });
});
