import { z } from "zod";
import { getConfig } from "../config";
import { KeptDatabase } from "../db/kept";
import type { CallEndReason } from "../db/schema/enums";
import { describeError, log } from "../lib/logger";
import { awardFirstCall, type CallRecord, recordCall, spokenSeconds } from "../services/calls";
import {
  type ClientFrame,
  ClientFrameSchema,
  clientFrameTypes,
  type RoomErrorCode,
  type RoomEvent,
  type SessionEndReason,
  type SessionEvent,
} from "../services/room-protocol";
import { closeCodes, type SocketAttachment, SocketHub } from "./socket-hub";

/** The header through which the Worker tells the room which session it serves and who is in it. */
export const roomSessionHeader = "x-gaplash-session";

export const RoomSessionSchema = z.object({
  id: z.uuid(),
  participants: z.array(z.uuid()).min(1).max(2),
  ended: z.boolean(),
  /** When the session ended, for a socket that joins it afterwards (ISO 8601). */
  ended_at: z.iso.datetime().nullable(),
});
export type RoomSession = z.infer<typeof RoomSessionSchema>;

/** A side with no open socket for this long, during a call, ends it (`peer_gone`). */
export const peerGoneAfterMs = 15_000;
/** A call connected this long earns both learners `FIRST_CALL`. */
export const firstCallAfterMs = 60_000;
/** Frames each socket may send per window; past that the socket is closed (1008). */
export const frameLimit = { frames: 100, windowMs: 10_000 };
/** How soon a call row the database did not take is written again. */
const resyncAfterMs = 10_000;

interface CallRow extends Record<string, SqlStorageValue> {
  call_id: string;
  started_by: string;
  started_at: number;
  connected_at: number | null;
  ended_at: number | null;
  end_reason: string | null;
  badge_awarded: number;
  synced: number;
}

const sessionEndToCallEnd: Record<SessionEndReason, CallEndReason> = {
  ended: "session_ended",
  blocked: "blocked",
  suspended: "suspended",
  deleted: "deleted",
};

/**
 * One object per practice session: the live room both participants' sockets join. It pushes the
 * session's messages and its end, and relays WebRTC call signalling between the two participants
 * (each frame to the partner only). It keeps the call's state — ringing, active, ended, who
 * started it — in its storage, so a call survives the object hibernating, and records every call
 * in Postgres as it moves on. A call ends on a hang-up, when the session ends (for whatever
 * reason), or when one side has had no open socket for 15 s.
 */
export class SessionRoom extends SocketHub {
  /** A 20 KB SDP inside its JSON frame. */
  protected override readonly maxFrameBytes = 24 * 1024;
  private readonly database = new KeptDatabase(getConfig(this.env).database, "session room");
  /** Frames per socket in the current window; forgotten on hibernation, which needs a quiet socket anyway. */
  private readonly frameCounts = new WeakMap<WebSocket, { windowStart: number; count: number }>();
  /** The session as the request now joining read it: `onConnect` runs within that request. */
  private joining: RoomSession | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      create table if not exists room (
        id integer primary key check (id = 1),
        session_id text not null,
        participants text not null,
        ended integer not null
      );
      create table if not exists calls (
        call_id text primary key,
        started_by text not null,
        started_at integer not null,
        connected_at integer,
        ended_at integer,
        end_reason text,
        badge_awarded integer not null default 0,
        synced integer not null default 0
      );
      create table if not exists absences (
        user_id text primary key,
        since integer not null
      );
      create table if not exists ending (
        id integer primary key check (id = 1),
        event text not null
      );
    `);
  }

  override async fetch(request: Request): Promise<Response> {
    const header = request.headers.get(roomSessionHeader);
    const parsed = header ? RoomSessionSchema.safeParse(JSON.parse(header)) : undefined;
    if (!parsed?.success) return new Response("expected the session this room serves", { status: 426 });
    const session = parsed.data;
    this.joining = session;
    this.ctx.storage.sql.exec(
      `insert into room (id, session_id, participants, ended) values (1, ?, ?, ?)
       on conflict (id) do update set participants = excluded.participants, ended = max(room.ended, excluded.ended)`,
      session.id,
      JSON.stringify(session.participants),
      session.ended ? 1 : 0,
    );
    return super.fetch(request);
  }

  private session(): Omit<RoomSession, "ended_at"> | null {
    const row = this.ctx.storage.sql
      .exec<{ session_id: string; participants: string; ended: number }>("select * from room")
      .toArray()[0];
    if (!row) return null;
    return { id: row.session_id, participants: JSON.parse(row.participants) as string[], ended: row.ended === 1 };
  }

  /**
   * The `ended` event as it was pushed, or, if the room never saw it pushed, one from the session
   * row the joining request read (`endedAt`).
   */
  private ending(sessionId: string, endedAt: string | null): SessionEvent {
    const kept = this.ctx.storage.sql.exec<{ event: string }>("select event from ending").toArray()[0];
    if (kept) return JSON.parse(kept.event) as SessionEvent;
    return {
      type: "ended",
      session_id: sessionId,
      ended_at: endedAt ?? new Date().toISOString(),
      ended_by: null,
      reason: "ended",
    };
  }

  private partnerOf(userId: string): string | undefined {
    return this.session()?.participants.find((participant) => participant !== userId);
  }

  private isOnline(userId: string): boolean {
    return this.openSockets(userId).length > 0;
  }

  private send(socket: WebSocket, event: RoomEvent): void {
    try {
      socket.send(JSON.stringify(event));
    } catch {
      // Closed meanwhile.
    }
  }

  private refuse(socket: WebSocket, code: RoomErrorCode, message: string, callId?: string): void {
    this.send(socket, { type: "error", code, message, ...(callId ? { call_id: callId } : {}) });
  }

  /** Pushes a session event to everyone in the room; the end of the session also ends a call. */
  async broadcast(event: SessionEvent): Promise<number> {
    const delivered = this.push(event);
    if (event.type === "ended") {
      this.ctx.storage.sql.exec("update room set ended = 1");
      // Kept for a socket that joins later: it learns how the session ended, not only that it did.
      this.ctx.storage.sql.exec(
        "insert into ending (id, event) values (1, ?) on conflict (id) do nothing",
        JSON.stringify(event),
      );
      const call = this.liveCall();
      if (call) await this.endCall(call, sessionEndToCallEnd[event.reason]);
    }
    return delivered;
  }

  protected override async onConnect(socket: WebSocket, attachment: SocketAttachment): Promise<void> {
    const session = this.session();
    if (session?.ended) {
      // A client that missed the push and reconnects to catch up learns at once that it is over.
      this.send(socket, this.ending(session.id, this.joining?.ended_at ?? null));
      this.close(socket, closeCodes.sessionEnded, "the session has ended");
      return;
    }
    const you = attachment.userId;
    const partner = this.partnerOf(you);
    this.ctx.storage.sql.exec("delete from absences where user_id = ?", you);
    this.send(socket, {
      type: "room",
      you,
      partner_online: partner ? this.isOnline(partner) : false,
      // "Perfect negotiation": the participant whose id sorts first yields when both offer at once.
      polite: partner === undefined || you < partner,
    });
    if (partner && this.openSockets(you).length === 1) this.push({ type: "peer.joined", user_id: you }, partner);
  }

  protected override async onDisconnect(attachment: SocketAttachment): Promise<void> {
    const gone = attachment.userId;
    if (this.isOnline(gone)) return;
    this.ctx.storage.sql.exec(
      "insert into absences (user_id, since) values (?, ?) on conflict do nothing",
      gone,
      Date.now(),
    );
    const partner = this.partnerOf(gone);
    if (partner) this.push({ type: "peer.left", user_id: gone }, partner);
    await this.rescheduleAlarm();
  }

  private withinFrameLimit(socket: WebSocket): boolean {
    const now = Date.now();
    const counted = this.frameCounts.get(socket);
    if (!counted || now - counted.windowStart >= frameLimit.windowMs) {
      this.frameCounts.set(socket, { windowStart: now, count: 1 });
      return true;
    }
    counted.count += 1;
    return counted.count <= frameLimit.frames;
  }

  protected override async onFrame(
    socket: WebSocket,
    attachment: SocketAttachment,
    frame: string | ArrayBuffer,
  ): Promise<void> {
    if (!this.withinFrameLimit(socket)) {
      this.close(socket, closeCodes.unsupportedFrame, `at most ${frameLimit.frames} frames every 10 s`);
      return;
    }
    let data: unknown;
    try {
      data = typeof frame === "string" ? JSON.parse(frame) : undefined;
    } catch {
      data = undefined;
    }
    const type = typeof data === "object" && data !== null && "type" in data ? data.type : undefined;
    if (typeof type !== "string") {
      this.close(socket, closeCodes.unsupportedFrame, "frames are JSON objects with a type, or ping");
      return;
    }
    if (!clientFrameTypes.includes(type as ClientFrame["type"])) {
      this.refuse(socket, "UNKNOWN_FRAME", `unknown frame type ${type.slice(0, 40)}`);
      return;
    }
    const parsed = ClientFrameSchema.safeParse(data);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || type}: ${issue.message}`);
      this.refuse(socket, "INVALID_FRAME", problems.join("; "));
      return;
    }
    if (this.session()?.ended ?? true) {
      this.refuse(socket, "SESSION_ENDED", "this session has ended; no more calls", parsed.data.call_id);
      return;
    }
    await this.signal(socket, attachment.userId, parsed.data);
  }

  /** Moves the call along and relays the frame to the partner, with who sent it. */
  private async signal(socket: WebSocket, from: string, frame: ClientFrame): Promise<void> {
    const partner = this.partnerOf(from);
    let call = this.liveCall();
    if (call && call.call_id !== frame.call_id) {
      this.refuse(socket, "CALL_IN_PROGRESS", "another call of this session is in progress", call.call_id);
      return;
    }
    if (!call) {
      if (frame.type !== "call.offer") {
        this.refuse(socket, "UNKNOWN_CALL", "no such call in progress", frame.call_id);
        return;
      }
      if (!partner || !this.isOnline(partner)) {
        this.refuse(socket, "PEER_OFFLINE", "your partner is not here to answer", frame.call_id);
        return;
      }
      const started = await this.startCall(frame.call_id, from);
      if (started !== "started") {
        this.refuse(
          socket,
          started === "taken" ? "INVALID_FRAME" : "UNAVAILABLE",
          started === "taken"
            ? "call_id is already in use; make a new one"
            : "the call could not be recorded; try again",
          frame.call_id,
        );
        return;
      }
      call = this.liveCall();
    }
    if (!call || !partner) return;
    if (frame.type === "call.hangup") {
      await this.endCall(call, "hangup");
      return;
    }
    if (frame.type === "call.connected") {
      if (call.connected_at !== null) return;
      this.ctx.storage.sql.exec(
        "update calls set connected_at = ?, synced = 0 where call_id = ?",
        Date.now(),
        call.call_id,
      );
      await this.sync();
    }
    this.push({ ...frame, from }, partner);
    await this.rescheduleAlarm();
  }

  /** The call that is ringing or active, if any. */
  private liveCall(): CallRow | undefined {
    return this.ctx.storage.sql
      .exec<CallRow>("select * from calls where ended_at is null order by started_at desc limit 1")
      .toArray()[0];
  }

  private record(row: CallRow): CallRecord {
    return {
      id: row.call_id,
      sessionId: this.session()?.id ?? "",
      startedBy: row.started_by,
      startedAt: row.started_at,
      connectedAt: row.connected_at,
      endedAt: row.ended_at,
      endReason: row.end_reason as CallEndReason | null,
    };
  }

  /** A call starts ringing only once its row is in Postgres: a call that cannot be recorded does not start. */
  private async startCall(callId: string, startedBy: string): Promise<"started" | "taken" | "unavailable"> {
    const startedAt = Date.now();
    const row: CallRow = {
      call_id: callId,
      started_by: startedBy,
      started_at: startedAt,
      connected_at: null,
      ended_at: null,
      end_reason: null,
      badge_awarded: 0,
      synced: 1,
    };
    try {
      const recorded = await this.database.run((db) => recordCall(db, this.record(row), startedAt));
      if (!recorded) return "taken";
    } catch (error) {
      log("warn", "call not recorded", { call_id: callId, ...describeError(error) });
      return "unavailable";
    }
    this.ctx.storage.sql.exec(
      "insert into calls (call_id, started_by, started_at, synced) values (?, ?, ?, 1)",
      callId,
      startedBy,
      startedAt,
    );
    return "started";
  }

  /** Ends the call for both, tells them how long they spoke, and records it. */
  private async endCall(call: CallRow, reason: CallEndReason): Promise<void> {
    const endedAt = Date.now();
    this.ctx.storage.sql.exec(
      "update calls set ended_at = ?, end_reason = ?, synced = 0 where call_id = ?",
      endedAt,
      reason,
      call.call_id,
    );
    const durationSec = spokenSeconds({ connectedAt: call.connected_at, endedAt }, endedAt);
    this.push({ type: "call.ended", call_id: call.call_id, reason, duration_sec: durationSec });
    if (durationSec * 1000 >= firstCallAfterMs) await this.awardBadge(call.call_id);
    await this.sync();
    await this.rescheduleAlarm();
  }

  /** `FIRST_CALL` for both learners, once a call of theirs has been connected for a minute. */
  private async awardBadge(callId: string): Promise<void> {
    const participants = this.session()?.participants ?? [];
    try {
      await this.database.run((db) => awardFirstCall(db, participants, new Date()));
      this.ctx.storage.sql.exec("update calls set badge_awarded = 1 where call_id = ?", callId);
    } catch (error) {
      log("warn", "FIRST_CALL not awarded yet", { call_id: callId, ...describeError(error) });
    }
  }

  /** Writes every call row Postgres does not have as it is here; what fails is retried on the alarm. */
  private async sync(): Promise<void> {
    const now = Date.now();
    for (const row of this.ctx.storage.sql.exec<CallRow>("select * from calls where synced = 0").toArray()) {
      try {
        await this.database.run((db) => recordCall(db, this.record(row), now));
        // Only if the call did not move on while the row was being written.
        this.ctx.storage.sql.exec(
          "update calls set synced = 1 where call_id = ? and connected_at is ? and ended_at is ?",
          row.call_id,
          row.connected_at,
          row.ended_at,
        );
      } catch (error) {
        log("warn", "call state not recorded yet", { call_id: row.call_id, ...describeError(error) });
      }
    }
  }

  protected override nextWake(): number | undefined {
    const now = Date.now();
    const moments: number[] = [];
    const call = this.liveCall();
    if (call) {
      for (const { since } of this.ctx.storage.sql.exec<{ since: number }>("select since from absences").toArray()) {
        moments.push(since + peerGoneAfterMs);
      }
      if (call.connected_at !== null && call.badge_awarded === 0) moments.push(call.connected_at + firstCallAfterMs);
    }
    const unsynced = this.ctx.storage.sql.exec<{ n: number }>("select count(*) as n from calls where synced = 0").one();
    if (unsynced.n > 0) moments.push(now + resyncAfterMs);
    return moments.length > 0 ? Math.min(...moments) : undefined;
  }

  protected override async onAlarm(): Promise<void> {
    const now = Date.now();
    const call = this.liveCall();
    if (call) {
      const participants = this.session()?.participants ?? [];
      const absences = this.ctx.storage.sql
        .exec<{ user_id: string; since: number }>("select * from absences")
        .toArray();
      const gone = absences.some(
        ({ user_id, since }) => participants.includes(user_id) && now - since >= peerGoneAfterMs,
      );
      if (gone) await this.endCall(call, "peer_gone");
      else if (call.connected_at !== null && call.badge_awarded === 0 && now - call.connected_at >= firstCallAfterMs) {
        await this.awardBadge(call.call_id);
      }
    }
    await this.sync();
  }
}
