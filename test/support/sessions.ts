import { sessionParticipants, sessions } from "../../src/db/schema";
import { bearer, type SignedIn } from "./auth";
import type { testDatabase } from "./db";
import { postJson } from "./http";
import { learner } from "./match";
import { openSocket } from "./sockets";

/**
 * Two learners in an active session. The matchmaker's own tests pair learners through the API;
 * chat tests start from the session row so that they do not compete for a level's queue with
 * the matchmaking tests running beside them.
 */
export async function pairInSession(
  handle: ReturnType<typeof testDatabase>,
  names: [string, string] = ["Aziza", "Bobur"],
): Promise<{ a: SignedIn; b: SignedIn; sessionId: string }> {
  const [a, b] = await Promise.all([learner("B1", names[0]), learner("B1", names[1])]);
  return { a, b, sessionId: await sessionBetween(handle, a, b) };
}

export async function sessionBetween(
  handle: ReturnType<typeof testDatabase>,
  a: SignedIn,
  b: SignedIn,
): Promise<string> {
  const [session] = await handle.db.insert(sessions).values({ level: "B1", startedAt: new Date() }).returning();
  if (!session) throw new Error("no session");
  await handle.db.insert(sessionParticipants).values([
    { sessionId: session.id, userId: a.user.id },
    { sessionId: session.id, userId: b.user.id },
  ]);
  return session.id;
}

export function send(who: SignedIn, sessionId: string, body: unknown): Promise<Response> {
  return postJson(`/sessions/${sessionId}/messages`, body, { headers: bearer(who) });
}

export function endWith(who: SignedIn, sessionId: string, body: unknown): Promise<Response> {
  return postJson(`/sessions/${sessionId}/end`, body, { headers: bearer(who) });
}

export function openSessionSocket(who: SignedIn, sessionId: string) {
  return openSocket(`/sessions/${sessionId}/ws?token=${who.access_token}`);
}
