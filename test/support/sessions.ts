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

/** A session of the two, active, or `ended` a moment ago (they met, and neither is in a session now). */
export async function sessionBetween(
  handle: ReturnType<typeof testDatabase>,
  a: SignedIn,
  b: SignedIn,
  status: "active" | "ended" = "active",
): Promise<string> {
  const startedAt = new Date();
  const [session] = await handle.db
    .insert(sessions)
    .values({
      level: "B1",
      startedAt,
      status,
      ...(status === "ended" ? { endedAt: startedAt, durationSec: 0 } : {}),
    })
    .returning();
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

/** A socket of `who` in the session's room, as the device `device` if given (else a device of its own). */
export function openSessionSocket(who: SignedIn, sessionId: string, device?: string) {
  return openSocket(`/sessions/${sessionId}/ws?token=${who.access_token}${device ? `&device=${device}` : ""}`);
}

export interface UploadedVoiceNote {
  upload_url: string;
  headers: Record<string, string>;
  /** What a voice message's `audio_url` names. */
  url: string;
}

/** Presigns a voice-note upload for `who` and puts `bytes` there, as the app does before sending it. */
export async function uploadVoiceNote(who: SignedIn, bytes: Uint8Array): Promise<UploadedVoiceNote> {
  const response = await postJson(
    "/uploads/presign",
    { kind: "voice", content_type: "audio/webm", size: bytes.byteLength },
    { headers: bearer(who) },
  );
  const presigned = (await response.json()) as UploadedVoiceNote;
  const put = await fetch(presigned.upload_url, { method: "PUT", headers: presigned.headers, body: bytes });
  if (put.status !== 200) throw new Error(`the voice-note upload answered ${put.status}: ${await put.text()}`);
  return presigned;
}
