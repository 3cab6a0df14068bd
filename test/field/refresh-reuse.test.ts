import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { refreshTokens } from "../../src/db/schema";
import { sha256Hex } from "../../src/lib/crypto";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { api, apiWith, postJson, readProblem } from "../support/http";

/*
 * Two tabs sharing storage, or a phone retrying after a lost answer, present one refresh token
 * twice. Within the reuse interval (10 s by default) that is a retry: each gets a pair in the same
 * family and the learner stays signed in. Later it is theft: the family is revoked.
 */
const handle = testDatabase();

const refresh = (token: string) => postJson("/auth/refresh", { refresh_token: token });
const meWith = (pair: SignedIn) => api("/me", { headers: bearer(pair) });

/** Moves the moment `token` was spent `ms` into the past, as if that much time had gone by. */
async function spentAgo(token: string, ms: number): Promise<void> {
  await handle.db
    .update(refreshTokens)
    .set({ usedAt: new Date(Date.now() - ms) })
    .where(eq(refreshTokens.tokenHash, await sha256Hex(token)));
}

describe("a refresh token presented twice", () => {
  it.each([1, 2, 3, 4, 5])(
    "at the same moment by two tabs: both get the same successor, and the sign-in goes on as one line (round %i)",
    async () => {
      const session = await signIn();
      const answers = await Promise.all([refresh(session.refresh_token), refresh(session.refresh_token)]);
      expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
      const [left, right] = (await Promise.all(answers.map((answer) => answer.json()))) as [SignedIn, SignedIn];
      expect(left.refresh_token).toBe(right.refresh_token);
      for (const pair of [left, right]) expect((await meWith(pair)).status).toBe(200);
      const next = await refresh(left.refresh_token);
      expect(next.status).toBe(200);
      expect((await meWith((await next.json()) as SignedIn)).status).toBe(200);
    },
  );

  it("by a request that began before the rotation it raced (its spending lies ahead of that request's clock): a retry", async () => {
    const session = await signIn();
    const first = (await (await refresh(session.refresh_token)).json()) as SignedIn;
    await spentAgo(session.refresh_token, -2_000);
    const raced = await refresh(session.refresh_token);
    expect(raced.status).toBe(200);
    expect(((await raced.json()) as SignedIn).refresh_token).toBe(first.refresh_token);
  });

  it("again 9 s after its rotation (a retry whose answer was lost): the same successor, which still works", async () => {
    const session = await signIn();
    const first = (await (await refresh(session.refresh_token)).json()) as SignedIn;
    await spentAgo(session.refresh_token, 9_000);
    const retried = await refresh(session.refresh_token);
    expect(retried.status).toBe(200);
    const again = (await retried.json()) as SignedIn;
    expect(again.refresh_token).toBe(first.refresh_token);
    expect((await meWith(again)).status).toBe(200);
    expect((await refresh(first.refresh_token)).status).toBe(200);
  });

  it("many times within the interval forks nothing: one successor, and later reuse is still caught", async () => {
    const session = await signIn();
    const first = (await (await refresh(session.refresh_token)).json()) as SignedIn;
    const retries = await Promise.all(Array.from({ length: 6 }, () => refresh(session.refresh_token)));
    const tokens = new Set(
      await Promise.all(retries.map(async (answer) => ((await answer.json()) as SignedIn).refresh_token)),
    );
    expect([...tokens]).toEqual([first.refresh_token]);
    // The successor moves on; presenting it again past the interval is theft, and ends the family.
    const second = (await (await refresh(first.refresh_token)).json()) as SignedIn;
    await spentAgo(first.refresh_token, 11_000);
    expect((await readProblem(await refresh(first.refresh_token))).code).toBe("REFRESH_TOKEN_REUSED");
    expect((await refresh(second.refresh_token)).status).toBe(401);
  });

  it("within the interval after its successor was rotated and then revoked: refused", async () => {
    const session = await signIn();
    const first = (await (await refresh(session.refresh_token)).json()) as SignedIn;
    expect((await postJson("/auth/logout", { refresh_token: first.refresh_token })).status).toBe(204);
    expect((await refresh(session.refresh_token)).status).toBe(401);
  });

  it("again 11 s after its rotation: theft, the whole family is revoked", async () => {
    const session = await signIn();
    const first = (await (await refresh(session.refresh_token)).json()) as SignedIn;
    await spentAgo(session.refresh_token, 11_000);
    const replay = await refresh(session.refresh_token);
    expect(replay.status).toBe(401);
    expect((await readProblem(replay)).code).toBe("REFRESH_TOKEN_REUSED");
    const successor = await refresh(first.refresh_token);
    expect(successor.status).toBe(401);
    expect((await readProblem(successor)).code).toBe("INVALID_REFRESH_TOKEN");
  });

  it("within the interval after the sign-in was ended: refused, nothing revived", async () => {
    const session = await signIn();
    await refresh(session.refresh_token);
    expect((await postJson("/auth/logout", { refresh_token: session.refresh_token })).status).toBe(204);
    const replay = await refresh(session.refresh_token);
    expect(replay.status).toBe(401);
    expect((await readProblem(replay)).code).toBe("INVALID_REFRESH_TOKEN");
  });

  it("at once, with the interval set to 0: theft, as before", async () => {
    const session = await signIn();
    const strict = { AUTH_REFRESH_REUSE_INTERVAL_SEC: "0" };
    const refreshStrictly = (token: string) =>
      apiWith(strict, "/auth/refresh", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: token }),
      });
    expect((await refreshStrictly(session.refresh_token)).status).toBe(200);
    const replay = await refreshStrictly(session.refresh_token);
    expect((await readProblem(replay)).code).toBe("REFRESH_TOKEN_REUSED");
  });
});
