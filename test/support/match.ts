import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import type { Database, PoolDatabase } from "../../src/db/client";
import { matchAttempts } from "../../src/db/schema";
import type { TopicView } from "../../src/services/topics";
import { bearer, type SignedIn, signIn } from "./auth";
import { api, postJson } from "./http";
import { openSocket } from "./sockets";

export type Level = "A1" | "A2" | "B1" | "B2" | "C1" | "C2";

/** A signed-in learner with a display name, level and interests who has pinged presence. */
export async function learner(level: Level, name = `learner-${level}`, interests: string[] = []): Promise<SignedIn> {
  const session = await signIn();
  const patched = await postJson(
    "/me",
    { display_name: name, level, interests },
    { method: "PATCH", headers: bearer(session) },
  );
  if (patched.status !== 200) throw new Error(`profile update answered ${patched.status}`);
  await ping(session);
  return session;
}

export async function ping(session: SignedIn): Promise<Response> {
  return api("/presence/ping", { method: "POST", headers: bearer(session) });
}

export interface AttemptBody {
  status: "queued" | "matched";
  attempt_id: string;
  session_id?: string;
  partner?: { id: string; display_name: string | null; level: Level };
  topic?: TopicView | null;
  shared_interests?: string[];
}

export async function attempt(session: SignedIn, level: Level): Promise<{ status: number; body: AttemptBody }> {
  const response = await postJson("/match/attempt", { desired_level: level }, { headers: bearer(session) });
  return { status: response.status, body: (await response.json()) as AttemptBody };
}

export async function matchStatus(session: SignedIn): Promise<Record<string, unknown>> {
  return (await (await api("/match/status", { headers: bearer(session) })).json()) as Record<string, unknown>;
}

export async function cancelAttempt(session: SignedIn): Promise<Response> {
  return api("/match/attempt", { method: "DELETE", headers: bearer(session) });
}

/** Opens `/match/ws` with the token in the query string, as a browser would, and collects pushes. */
export function openMatchSocket(session: SignedIn, level?: Level) {
  const query = new URLSearchParams({ token: session.access_token, ...(level ? { level } : {}) });
  return openSocket(`/match/ws?${query}`);
}

export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 3000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Moves a queued learner's wait `ms` into the past, in their level's object and in the database. */
export async function backdateAttempt(db: Database, level: Level, user: SignedIn, ms: number): Promise<void> {
  await runInDurableObject(env.MATCHMAKER.get(env.MATCHMAKER.idFromName(level)), (_, state) => {
    state.storage.sql.exec("update queue set enqueued_at = enqueued_at - ? where user_id = ?", ms, user.user.id);
  });
  await db
    .update(matchAttempts)
    .set({ createdAt: sql`${matchAttempts.createdAt} - make_interval(secs => ${ms / 1000})` })
    .where(eq(matchAttempts.userId, user.user.id));
}

/**
 * A match attempt written straight to the database for `who`, as the attempt route writes it, for
 * tests that hand it to a level's Matchmaker themselves.
 */
export async function attemptRow(db: PoolDatabase, who: SignedIn, level: Level, status: "queued" | "cancelled") {
  const [row] = await db
    .insert(matchAttempts)
    .values({ userId: who.user.id, level, status })
    .returning({ id: matchAttempts.id, createdAt: matchAttempts.createdAt });
  if (!row) throw new Error("no attempt");
  return row;
}
