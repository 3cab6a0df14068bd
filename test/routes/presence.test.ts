import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../src/config";
import { getRedis } from "../../src/lib/redis";
import { bearer, signIn } from "../support/auth";
import { api, readProblem } from "../support/http";
import { learner, ping } from "../support/match";

interface PresenceList {
  items: { user_id: string; online: boolean }[];
}

describe("POST /presence/ping", () => {
  it("marks the user online for 60 s at their level", async () => {
    const session = await learner("C2");
    const response = await ping(session);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "online", expires_in: 60, level: "C2" });
    const redis = getRedis(getConfig(env).redis);
    const ttl = await redis.ttl(`online:${session.user.id}`);
    expect(ttl).toBeGreaterThan(55);
    expect(await redis.zscore("presence:level:C2", session.user.id)).not.toBeNull();
  });

  it("moves the user to the index of their new level", async () => {
    const session = await learner("A1");
    await api("/me", {
      method: "PATCH",
      headers: { ...bearer(session), "content-type": "application/json" },
      body: JSON.stringify({ level: "A2" }),
    });
    await ping(session);
    const redis = getRedis(getConfig(env).redis);
    expect(await redis.zscore("presence:level:A1", session.user.id)).toBeNull();
    expect(await redis.zscore("presence:level:A2", session.user.id)).not.toBeNull();
  });

  it("needs a signed-in user", async () => {
    expect((await api("/presence/ping", { method: "POST" })).status).toBe(401);
  });
});

describe("GET /presence/online", () => {
  it("counts online users per level", async () => {
    const viewer = await signIn();
    await learner("B2");
    await learner("B2");
    const after = (await (await api("/presence/online", { headers: bearer(viewer) })).json()) as {
      total: number;
      levels: Record<string, number>;
    };
    expect(Object.keys(after.levels).sort()).toEqual(["A1", "A2", "B1", "B2", "C1", "C2"]);
    // Learners of earlier tests drop out of the 60 s window meanwhile: only floors hold.
    expect(after.levels.B2).toBeGreaterThanOrEqual(2);
    expect(after.total).toBeGreaterThanOrEqual(Object.values(after.levels).reduce((sum, n) => sum + n, 0));
  });
});

describe("GET /presence?user_ids=", () => {
  it("tells which of the given users are online, in the order asked", async () => {
    const viewer = await signIn();
    const online = await learner("B1");
    const offline = await signIn();
    const response = await api(`/presence?user_ids=${offline.user.id},${online.user.id}`, { headers: bearer(viewer) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      items: [
        { user_id: offline.user.id, online: false },
        { user_id: online.user.id, online: true },
      ],
    });
  });

  it("refuses more than 50 ids or ids that are not uuids", async () => {
    const viewer = await signIn();
    const many = Array.from({ length: 51 }, () => crypto.randomUUID()).join(",");
    const tooMany = await api(`/presence?user_ids=${many}`, { headers: bearer(viewer) });
    expect(tooMany.status).toBe(400);
    expect((await readProblem(tooMany)).errors?.[0]?.field).toBe("query.user_ids");
    expect((await api("/presence?user_ids=abc", { headers: bearer(viewer) })).status).toBe(400);
  });
});

describe("GET /presence for someone who blocked you", () => {
  it("always reads as offline to you, and as online to everyone else", async () => {
    const blocker = await learner("A1", "blocker");
    const blocked = await learner("A1", "blocked");
    const bystander = await learner("A1", "bystander");
    expect((await api(`/users/${blocked.user.id}/block`, { method: "POST", headers: bearer(blocker) })).status).toBe(
      204,
    );
    const asked = async (who: typeof blocker, about: string) =>
      ((await (await api(`/presence?user_ids=${about}`, { headers: bearer(who) })).json()) as PresenceList).items;
    expect(await asked(blocked, blocker.user.id)).toEqual([{ user_id: blocker.user.id, online: false }]);
    expect(await asked(blocker, blocked.user.id)).toEqual([{ user_id: blocked.user.id, online: false }]);
    expect(await asked(bystander, blocker.user.id)).toEqual([{ user_id: blocker.user.id, online: true }]);
  });
});
