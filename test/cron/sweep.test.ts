import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { authEmailTokens, refreshTokens } from "../../src/db/schema";
import worker from "../../src/index";
import { insertUsers, testDatabase } from "../support/db";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the every-minute cron trigger", () => {
  it("runs the sweep and logs it as one structured line", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    const controller = createScheduledController({
      cron: "* * * * *",
      scheduledTime: Date.parse("2026-11-26T12:00:00Z"),
    });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({ msg: "cron sweep", cron: "* * * * *", scheduled_time: "2026-11-26T12:00:00.000Z" }),
    );
  });
});

describe("the sweep's housekeeping", () => {
  const handle = testDatabase();
  afterAll(() => handle.close());

  it("deletes sign-in codes a day past expiry and refresh tokens past expiry, and keeps the rest", async () => {
    const [user] = await insertUsers(handle, 1);
    if (!user) throw new Error("no user");
    const dayMs = 24 * 3600 * 1000;
    const ago = (ms: number) => new Date(Date.now() - ms);
    const codes = await handle.db
      .insert(authEmailTokens)
      .values([
        { email: user.email, codeHash: "a".repeat(64), expiresAt: ago(2 * dayMs) },
        { email: user.email, codeHash: "b".repeat(64), expiresAt: ago(60_000) },
      ])
      .returning({ id: authEmailTokens.id });
    const tokens = await handle.db
      .insert(refreshTokens)
      .values([
        { userId: user.id, familyId: crypto.randomUUID(), tokenHash: crypto.randomUUID(), expiresAt: ago(1000) },
        { userId: user.id, familyId: crypto.randomUUID(), tokenHash: crypto.randomUUID(), expiresAt: ago(-dayMs) },
      ])
      .returning({ id: refreshTokens.id });

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);

    const codesLeft = await handle.db
      .select({ id: authEmailTokens.id })
      .from(authEmailTokens)
      .where(eq(authEmailTokens.email, user.email));
    expect(codesLeft.map((row) => row.id)).toEqual([codes[1]?.id]);
    const tokensLeft = await handle.db
      .select({ id: refreshTokens.id })
      .from(refreshTokens)
      .where(eq(refreshTokens.userId, user.id));
    expect(tokensLeft.map((row) => row.id)).toEqual([tokens[1]?.id]);
  });
});
