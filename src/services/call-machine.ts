import type { CallEndReason } from "../db/schema/enums";
import type { CallFrame, RoomErrorCode } from "./room-protocol";

/**
 * The rules of a session's call, as pure functions of the room's state: what a frame does, when
 * a call ends by itself, and when the room must next wake for it. The session room applies the
 * outcomes one at a time (docs/calls.md has them as a table).
 */

/** How long the callee's devices ring before the call ends as `no_answer` (ms). */
export const ringForMs = 45_000;
/** How long an answered call may take to connect before it ends as `failed` (ms). */
export const connectWithinMs = 45_000;
/** A device in the call with no open socket for this long ends it as `peer_gone`, at the moment it left (ms). */
export const peerGoneAfterMs = 15_000;
/** A call connected this long earns both learners `FIRST_CALL` (ms). */
export const firstCallAfterMs = 60_000;
/** Calls one participant may try to start in one session per window, across all their sockets. */
export const callStartLimit = { calls: 5, windowMs: 60_000 };

/**
 * The call that is ringing or going on; instants in epoch ms. A call joins two devices: the one
 * that sent the offer and, once answered, the one that answered. Every device of the callee rings
 * until then.
 */
export interface LiveCall {
  callId: string;
  startedBy: string;
  callerDevice: string;
  calleeDevice: string | null;
  startedAt: number;
  answeredAt: number | null;
  callerConnectedAt: number | null;
  calleeConnectedAt: number | null;
  connectedAt: number | null;
}

/** Who sent a frame: the user and the device (a client-chosen id kept across reconnections). */
export interface Sender {
  userId: string;
  deviceId: string;
}

/** A device of a participant that has had no open socket since `since` (epoch ms). */
export interface Absence {
  userId: string;
  deviceId: string;
  since: number;
}

/** What the room knows when a frame is applied. */
export interface RoomView {
  live: LiveCall | undefined;
  /** Whether `callId` names a call of this room that has ended. */
  hasEnded(callId: string): boolean;
  partner: string | undefined;
  partnerOnline: boolean;
  /** When the sender tried to start a call within the last `callStartLimit.windowMs`, oldest first (epoch ms). */
  recentStarts: number[];
  now: number;
}

export type Outcome =
  | { kind: "refuse"; code: RoomErrorCode; message: string; retryAfterSec?: number }
  /** Record the new call and ring the partner's devices; `supersedes` is the call that yields to it (glare). */
  | { kind: "start"; supersedes: string | undefined }
  /** The frame goes to the other side of the call: the other device, or every ringing device. */
  | { kind: "relay" }
  /** The callee's device takes the call: it becomes the call's second device, and the answer goes to the caller. */
  | { kind: "answer" }
  /** A device in the call reports its connection up. */
  | { kind: "report" }
  | { kind: "end"; reason: Extract<CallEndReason, "hangup" | "declined"> };

/** Which part a sender plays in the live call. */
export type Side = "caller" | "callee" | "ringing" | "elsewhere";

export function sideOf(call: LiveCall, sender: Sender): Side {
  if (sender.userId === call.startedBy) return sender.deviceId === call.callerDevice ? "caller" : "elsewhere";
  if (call.calleeDevice === null) return "ringing";
  return sender.deviceId === call.calleeDevice ? "callee" : "elsewhere";
}

const refuse = (code: RoomErrorCode, message: string): Outcome => ({ kind: "refuse", code, message });
const notInCall = refuse("NOT_IN_CALL", "this device is not in the call; it goes on on the other devices");

/**
 * What `frame` from `sender` does, given only the room's state when it is applied. Glare — both
 * participants offering a new call at once — is resolved by the roles of perfect negotiation the
 * room hands out (the participant whose id sorts first is polite): a ringing call started by the
 * polite side yields to the impolite side's offer, and the polite side's offer while the impolite
 * side's call rings is refused, so either order of arrival keeps the same call.
 */
export function judge(frame: CallFrame, sender: Sender, room: RoomView): Outcome {
  const live = room.live;
  const ofLiveCall = live !== undefined && live.callId === frame.call_id;
  if (!ofLiveCall && room.hasEnded(frame.call_id)) {
    return refuse("CALL_ENDED", "that call has ended; start a new call with a new call_id");
  }
  if (!ofLiveCall) {
    if (frame.type !== "call.offer") return refuse("UNKNOWN_CALL", "no such call in progress");
    const yields =
      live !== undefined &&
      live.answeredAt === null &&
      live.startedBy !== sender.userId &&
      live.startedBy < sender.userId;
    if (live && !yields) return refuse("CALL_IN_PROGRESS", "another call of this session is in progress");
    if (!room.partner || !room.partnerOnline) return refuse("PEER_OFFLINE", "your partner is not here to answer");
    const oldest = room.recentStarts[0];
    if (oldest !== undefined && room.recentStarts.length >= callStartLimit.calls) {
      return {
        kind: "refuse",
        code: "RATE_LIMITED",
        message: `at most ${callStartLimit.calls} calls a minute; try again later`,
        retryAfterSec: Math.max(1, Math.ceil((oldest + callStartLimit.windowMs - room.now) / 1000)),
      };
    }
    return { kind: "start", supersedes: live?.callId };
  }
  const side = sideOf(live, sender);
  const answered = live.answeredAt !== null;
  switch (frame.type) {
    case "call.offer":
      // Renegotiation (an ICE restart after a network change) by either device of the call.
      return side === "caller" || side === "callee" ? { kind: "relay" } : notInCall;
    case "call.answer":
      if (side === "ringing") return { kind: "answer" };
      if (side === "caller" && !answered) return refuse("INVALID_FRAME", "a caller cannot answer its own call");
      return side === "caller" || side === "callee" ? { kind: "relay" } : notInCall;
    case "call.ice":
      // A ringing device gathers candidates only once it has answered.
      return side === "caller" || side === "callee" ? { kind: "relay" } : notInCall;
    case "call.connected":
      if (side !== "caller" && side !== "callee") return notInCall;
      return answered ? { kind: "report" } : refuse("INVALID_FRAME", "the call has not been answered yet");
    case "call.hangup":
      if (side === "ringing") return { kind: "end", reason: "declined" };
      return side === "elsewhere" ? notInCall : { kind: "end", reason: "hangup" };
  }
}

/**
 * The call after a device of it reported its connection up: connected once both devices have,
 * which needs the answer relayed first (`judge` refuses a report before it); spoken time counts
 * from the second report.
 */
export function reportConnected(call: LiveCall, side: "caller" | "callee", now: number): LiveCall {
  const reported =
    side === "caller"
      ? { ...call, callerConnectedAt: call.callerConnectedAt ?? now }
      : { ...call, calleeConnectedAt: call.calleeConnectedAt ?? now };
  const both = reported.callerConnectedAt !== null && reported.calleeConnectedAt !== null;
  return { ...reported, connectedAt: call.connectedAt ?? (both ? now : null) };
}

/** The absences that count for the call: its own devices', not the participants' other devices'. */
export function absencesOf(call: LiveCall, absences: Absence[]): Absence[] {
  return absences.filter(
    (absence) =>
      (absence.userId === call.startedBy && absence.deviceId === call.callerDevice) ||
      (absence.userId !== call.startedBy && absence.deviceId === call.calleeDevice),
  );
}

/** The moments the call would end by itself, each with its reason and the instant it ends at. */
function endings(call: LiveCall, absences: Absence[]): { at: number; endedAt: number; reason: CallEndReason }[] {
  const moments: { at: number; endedAt: number; reason: CallEndReason }[] = absencesOf(call, absences).map(
    ({ since }) => ({
      at: since + peerGoneAfterMs,
      // Spoken time stops when the device left, not when the grace period ran out.
      endedAt: since,
      reason: "peer_gone",
    }),
  );
  if (call.answeredAt === null) {
    const at = call.startedAt + ringForMs;
    moments.push({ at, endedAt: at, reason: "no_answer" });
  } else if (call.connectedAt === null) {
    const at = call.answeredAt + connectWithinMs;
    moments.push({ at, endedAt: at, reason: "failed" });
  }
  return moments.sort((a, b) => a.at - b.at);
}

/** How the call ends by itself at `now`, if it does: the reason and the instant it ended (epoch ms). */
export function dueEnding(
  call: LiveCall,
  absences: Absence[],
  now: number,
): { reason: CallEndReason; endedAt: number } | undefined {
  const due = endings(call, absences).find(({ at }) => at <= now);
  return due ? { reason: due.reason, endedAt: Math.max(due.endedAt, call.startedAt) } : undefined;
}

/** When the call next ends by itself if nothing happens meanwhile (epoch ms). */
export function nextEnding(call: LiveCall, absences: Absence[]): number | undefined {
  return endings(call, absences)[0]?.at;
}

/**
 * Until when the call has been spoken (epoch ms): `now`, or the moment a device of the call left
 * if one is away, since nobody speaks through a device that is gone (its grace period included).
 */
export function spokenUntil(call: LiveCall, absences: Absence[], now: number): number {
  return Math.min(now, ...absencesOf(call, absences).map(({ since }) => since));
}

/** How long to wait before awarding `FIRST_CALL` again after `failures` failed tries: 1 s doubling to 5 min. */
export function awardRetryDelayMs(failures: number): number {
  return Math.min(300_000, 1000 * 2 ** Math.max(0, failures - 1));
}
