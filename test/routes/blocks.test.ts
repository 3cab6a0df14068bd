import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { sessionParticipants, sessions } from "../../src/db/schema";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { api, postJson, readProblem } from "../support/http";

const handle = testDatabase();
afterAll(() => handle.close());

const block = (who: SignedIn, target: string) =>
  api(`/users/${target}/block`, { method: "POST", headers: bearer(who) });
const unblock = (who: SignedIn, target: string) =>
  api(`/users/${target}/block`, { method: "DELETE", headers: bearer(who) });

interface BlockPage {
  items: { user_id: string; display_name: string | null; blocked_at: string }[];
  next_cursor: string | null;
}
const myBlocks = async (who: SignedIn, query = "") =>
  (await (await api(`/me/blocks${query}`, { headers: bearer(who) })).json()) as BlockPage;

describe("POST /users/{id}/block", () => {
  it("blocks once however often asked, and lists the user in /me/blocks", async () => {
    const me = await signIn();
    const other = await signIn();
    await postJson("/me", { display_name: "Noisy" }, { method: "PATCH", headers: bearer(other) });
    expect((await block(me, other.user.id)).status).toBe(204);
    expect((await block(me, other.user.id)).status).toBe(204);
    expect((await myBlocks(me)).items).toEqual([
      { user_id: other.user.id, display_name: "Noisy", blocked_at: expect.any(String) },
    ]);
  });

  it("refuses blocking yourself (400) and an unknown user (404)", async () => {
    const me = await signIn();
    const self = await block(me, me.user.id);
    expect(self.status).toBe(400);
    expect((await readProblem(self)).errors?.[0]?.field).toBe("path.id");
    expect((await block(me, crypto.randomUUID())).status).toBe(404);
    expect((await api("/users/not-a-uuid/block", { method: "POST", headers: bearer(me) })).status).toBe(400);
  });

  it("ends any active session between the two", async () => {
    const me = await signIn();
    const other = await signIn();
    const [session] = await handle.db.insert(sessions).values({ level: "A1" }).returning();
    const sessionId = session?.id ?? "";
    await handle.db.insert(sessionParticipants).values([
      { sessionId, userId: me.user.id },
      { sessionId, userId: other.user.id },
    ]);
    expect((await block(other, me.user.id)).status).toBe(204);
    const [ended] = await handle.db.select().from(sessions).where(eq(sessions.id, sessionId));
    expect(ended).toMatchObject({ status: "ended", durationSec: expect.any(Number) });
    expect(ended?.endedAt).toBeInstanceOf(Date);
  });

  it("needs a signed-in user", async () => {
    expect((await api(`/users/${crypto.randomUUID()}/block`, { method: "POST" })).status).toBe(401);
  });
});

describe("DELETE /users/{id}/block", () => {
  it("unblocks, and answers 204 again when there is nothing to undo", async () => {
    const me = await signIn();
    const other = await signIn();
    await block(me, other.user.id);
    expect((await unblock(me, other.user.id)).status).toBe(204);
    expect((await unblock(me, other.user.id)).status).toBe(204);
    expect((await myBlocks(me)).items).toEqual([]);
  });

  it("never removes a block someone else made", async () => {
    const me = await signIn();
    const other = await signIn();
    await block(other, me.user.id);
    await unblock(me, other.user.id);
    expect((await myBlocks(other)).items.map((item) => item.user_id)).toEqual([me.user.id]);
  });
});

describe("GET /me/blocks", () => {
  it("pages newest first with a cursor, and shows nobody else's blocks", async () => {
    const me = await signIn();
    const targets = await Promise.all([signIn(), signIn(), signIn()]);
    for (const target of targets) await block(me, target.user.id);
    const first = await myBlocks(me, "?limit=2");
    expect(first.items).toHaveLength(2);
    const second = await myBlocks(me, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.items).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
    const all = [...first.items, ...second.items];
    expect(all.map((item) => item.user_id).sort()).toEqual(targets.map((target) => target.user.id).sort());
    const times = all.map((item) => Date.parse(item.blocked_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect((await myBlocks(targets[0] as SignedIn)).items).toEqual([]);
  });

  it("refuses a limit outside 1–100 and a forged cursor", async () => {
    const me = await signIn();
    expect((await api("/me/blocks?limit=0", { headers: bearer(me) })).status).toBe(400);
    expect((await api("/me/blocks?limit=101", { headers: bearer(me) })).status).toBe(400);
    expect((await api("/me/blocks?cursor=forged", { headers: bearer(me) })).status).toBe(400);
  });
});
