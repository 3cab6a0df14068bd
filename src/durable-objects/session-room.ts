import { z } from "zod";
import { getConfig } from "../config";
import { KeptDatabase } from "../db/kept";
import type { CallEndReason } from "../db/schema/enums";
import { describeError, log } from "../lib/logger";
import {
  type Absence,
  absencesOf,
  awardRetryDelayMs,
  callStartLimit,
  dueEnding,
  firstCallAfterMs,
  judge,
  type LiveCall,
  nextEnding,
  reportConnected,
  type Sender,
  sideOf,
  spokenUntil,
} from "../services/call-machine";
import { awardFirstCall, type CallRecord, insertCall, spokenSeconds, updateCall } from "../services/calls";
import { markRead, readEvent } from "../services/read-state";
import {
  type CallFrame,
  type CallView,
  type ClientFrame,
  ClientFrameSchema,
  clientFrameTypes,
  type RoomErrorCode,
  type RoomEvent,
  type SessionEndReason,
  type SessionEvent,
} from "../services/room-protocol";
import { chooseNextTopic } from "../services/topics";
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

/** Frames each socket may send per window; past that the socket is closed (1008). */
export const frameLimit = { frames: 100, windowMs: 10_000 };
/** How soon a call row the database did not take is written again. */
const resyncAfterMs = 10_000;
/**
 * A socket of a device in a call that has sent nothing, not even `ping`, for this long is taken
 * for gone: a phone that lost power never closes its socket, and its call must not go on counting.
 */
export const silentSocketAfterMs = 60_000;
/** How often the room looks for silent sockets while a call goes on. */
const livenessEveryMs = 30_000;
/** A session's topic changes at most once in this long (SPEC §10), whoever asks. */
export const topicChangeIntervalMs = 20_000;
/** A participant's `typing` is relayed at most once in this long (SPEC §10); the others are dropped. */
export const typingIntervalMs = 2_000;

interface CallRow extends Record<string, SqlStorageValue> {
  call_id: string;
  started_by: string;
  caller_device: string;
  callee_device: string | null;
  started_at: number;
  answered_at: number | null;
  caller_connected_at: number | null;
  callee_connected_at: number | null;
  connected_at: number | null;
  ended_at: number | null;
  end_reason: string | null;
  /** The offer while the call rings, for a device of the callee that joins meanwhile. */
  offer_sdp: string | null;
  /** The answer until the call connects, for the caller's device if it reconnects meanwhile. */
  answer_sdp: string | null;
  badge_awarded: number;
  award_failures: number;
  award_retry_at: number | null;
  synced: number;
}

/** The room's storage, one step per version; a room created before a step runs it on its next start. */
const schemaSteps: ((sql: SqlStorage) => void)[] = [
  (sql) =>
    sql.exec(`
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
      create table if not exists absences (user_id text primary key, since integer not null);
      create table if not exists ending (id integer primary key check (id = 1), event text not null);
    `),
  // A call joins two devices and connects on both reports; FIRST_CALL retries back off; call
  // starts are counted as attempts. A call that was going on knows neither of its devices, so it
  // ends here (peer_gone, as a deploy cut its sockets); per-user absences mean nothing per device.
  (sql) => {
    sql.exec(`
      alter table calls add column caller_device text not null default '';
      alter table calls add column callee_device text;
      alter table calls add column answered_at integer;
      alter table calls add column caller_connected_at integer;
      alter table calls add column callee_connected_at integer;
      alter table calls add column offer_sdp text;
      alter table calls add column answer_sdp text;
      alter table calls add column award_failures integer not null default 0;
      alter table calls add column award_retry_at integer;
      drop table absences;
      create table absences (
        user_id text not null,
        device_id text not null,
        since integer not null,
        primary key (user_id, device_id)
      );
      create table call_attempts (user_id text not null, at integer not null);
    `);
    // When the deploy cut it is not known: it counts what is certain, none of the time after.
    sql.exec(`update calls set ended_at = coalesce(connected_at, started_at), end_reason = 'peer_gone', synced = 0
      where ended_at is null`);
  },
  // When the session's topic last changed, for the one change per 20 s.
  (sql) =>
    sql.exec("create table if not exists topic_change (id integer primary key check (id = 1), at integer not null)"),
];

const sessionEndToCallEnd: Record<SessionEndReason, CallEndReason> = {
  ended: "session_ended",
  blocked: "blocked",
  suspended: "suspended",
  deleted: "deleted",
  reported: "reported",
};

const toLiveCall = (row: CallRow): LiveCall => ({
  callId: row.call_id,
  startedBy: row.started_by,
  callerDevice: row.caller_device,
  calleeDevice: row.callee_device,
  startedAt: row.started_at,
  answeredAt: row.answered_at,
  callerConnectedAt: row.caller_connected_at,
  calleeConnectedAt: row.callee_connected_at,
  connectedAt: row.connected_at,
});

/** The end of a session whose `ended` push the room never saw: who ended it and why are not known here. */
const unseenEnding = (sessionId: string, endedAt: string | null): SessionEvent => ({
  type: "ended",
  session_id: sessionId,
  ended_at: endedAt ?? new Date().toISOString(),
  ended_by: null,
  reason: "ended",
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * One object per practice session: the live room both participants' sockets join. It pushes the
 * session's messages and its end, and runs the session's voice call: it relays WebRTC signalling
 * between the call's two devices, tells every socket of both participants how the call stands,
 * and records every call in Postgres as it moves on. Every change of the call is applied in turn,
 * one after another, each judged on the state it finds (`judge`), so nothing that arrives while
 * the database is asked can act on a state that no longer holds. The call's state lives in the
 * object's storage, so it survives the object hibernating.
 */
export class SessionRoom extends SocketHub {
  /** A 20 KB SDP inside its JSON frame. */
  protected override readonly maxFrameBytes = 24 * 1024;
  private readonly database = new KeptDatabase(getConfig(this.env).database, "session room");
  /** Frames per socket in the current window; forgotten on hibernation, which needs a quiet socket anyway. */
  private readonly frameCounts = new WeakMap<WebSocket, { windowStart: number; count: number }>();
  /** The end of the queue of changes: each waits for the one before it. */
  private queue: Promise<unknown> = Promise.resolve();
  /** `topic.next` takes turns of its own: its round trip to Postgres never holds up call signalling. */
  private topicQueue: Promise<unknown> = Promise.resolve();
  /** The write to Postgres under way, and whether another is wanted after it. */
  private persisting: Promise<void> | undefined;
  private persistAgain = false;
  /** When each participant's last `typing` was relayed (epoch ms); lost with the instance, which only lets one more through. */
  private readonly typingRelayedAt = new Map<string, number>();
  /** Each participant's `read` being recorded, and the newest one waiting behind it (`queueRead`). */
  private readonly readsInFlight = new Map<string, Promise<void>>();
  private readonly nextRead = new Map<string, { socket: WebSocket; upTo: string }>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.transactionSync(() => {
      const sql = ctx.storage.sql;
      sql.exec("create table if not exists schema_version (version integer not null)");
      const version = sql.exec<{ version: number }>("select version from schema_version").toArray()[0]?.version ?? 0;
      for (const step of schemaSteps.slice(version)) step(sql);
      sql.exec("delete from schema_version");
      sql.exec("insert into schema_version (version) values (?)", schemaSteps.length);
    });
  }

  /** Runs `work` once every change queued before it has been applied (a failed one included). */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  override async fetch(request: Request): Promise<Response> {
    const header = request.headers.get(roomSessionHeader);
    const parsed = header ? RoomSessionSchema.safeParse(JSON.parse(header)) : undefined;
    if (!parsed?.success) return new Response("expected the session this room serves", { status: 426 });
    const session = parsed.data;
    this.ctx.storage.sql.exec(
      `insert into room (id, session_id, participants, ended) values (1, ?, ?, ?)
       on conflict (id) do update set participants = excluded.participants, ended = max(room.ended, excluded.ended)`,
      session.id,
      JSON.stringify(session.participants),
      session.ended ? 1 : 0,
    );
    if (session.ended) {
      // The room never saw the end pushed: a socket joining now still learns when it ended, and
      // a call still going on ends with the session.
      this.keepEnding(unseenEnding(session.id, session.ended_at));
      await this.inTurn(async () => this.endLiveCall("session_ended"));
      await this.persist();
      await this.rescheduleAlarm();
    }
    return super.fetch(request);
  }

  private session(): Omit<RoomSession, "ended_at"> | null {
    const row = this.ctx.storage.sql
      .exec<{ session_id: string; participants: string; ended: number }>("select * from room")
      .toArray()[0];
    if (!row) return null;
    return { id: row.session_id, participants: JSON.parse(row.participants) as string[], ended: row.ended === 1 };
  }

  /** Keeps the first `ended` event the room learns of, for sockets that join after it. */
  private keepEnding(event: SessionEvent): void {
    this.ctx.storage.sql.exec(
      "insert into ending (id, event) values (1, ?) on conflict (id) do nothing",
      JSON.stringify(event),
    );
  }

  private ending(): SessionEvent | undefined {
    const kept = this.ctx.storage.sql.exec<{ event: string }>("select event from ending").toArray()[0];
    return kept ? (JSON.parse(kept.event) as SessionEvent) : undefined;
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

  private refuse(
    socket: WebSocket,
    code: RoomErrorCode,
    message: string,
    callId?: string,
    retryAfterSec?: number,
    frame?: "topic.next" | "read",
  ): void {
    this.send(socket, {
      type: "error",
      code,
      message,
      ...(callId ? { call_id: callId } : {}),
      ...(frame ? { frame } : {}),
      ...(retryAfterSec ? { retry_after_sec: retryAfterSec } : {}),
    });
  }

  /** Refuses a frame that is not a call's (`topic.next`, `read`), naming it so the client knows which. */
  private refuseFrame(
    socket: WebSocket,
    frame: "topic.next" | "read",
    code: RoomErrorCode,
    message: string,
    retryAfterSec?: number,
  ): void {
    this.refuse(socket, code, message, undefined, retryAfterSec, frame);
  }

  /** Pushes a session event to everyone in the room; the end of the session also ends a call. */
  async broadcast(event: SessionEvent): Promise<number> {
    if (event.type !== "ended") return this.push(event);
    return this.inTurn(async () => {
      const delivered = this.push(event);
      this.ctx.storage.sql.exec("update room set ended = 1");
      this.keepEnding(event);
      this.endLiveCall(sessionEndToCallEnd[event.reason]);
      await this.rescheduleAlarm();
      return delivered;
    }).finally(async () => {
      await this.persist();
      await this.rescheduleAlarm();
    });
  }

  protected override onConnect(socket: WebSocket, attachment: SocketAttachment): Promise<void> {
    return this.inTurn(async () => {
      const session = this.session();
      if (session?.ended) {
        const ending = this.ending() ?? unseenEnding(session.id, null);
        // A client that missed the push and reconnects to catch up learns at once that it is over.
        this.send(socket, ending);
        this.close(socket, closeCodes.sessionEnded, "the session has ended");
        return;
      }
      const you = attachment.userId;
      const partner = this.partnerOf(you);
      // One socket per device: an older one of this device is what a network change left half-open.
      for (const { socket: older, attachment: other } of this.openSockets(you)) {
        if (older !== socket && other.deviceId === attachment.deviceId) {
          this.close(older, closeCodes.replaced, "replaced by a newer connection of this device");
        }
      }
      const live = this.liveCall();
      const due = live ? dueEnding(toLiveCall(live), this.absences(), Date.now()) : undefined;
      // A device back after its grace period ran out (the alarm was late) does not save the call.
      if (live && due) this.endCall(live, due.reason, due.endedAt);
      // A device of the call that is back within the grace period is still in it.
      this.ctx.storage.sql.exec("delete from absences where user_id = ? and device_id = ?", you, attachment.deviceId);
      const call = this.liveCall();
      this.send(socket, {
        type: "room",
        you,
        partner_online: partner ? this.isOnline(partner) : false,
        // "Perfect negotiation": the participant whose id sorts first yields when both offer at once.
        polite: partner === undefined || you < partner,
        call: call ? this.view(call, attachment) : null,
      });
      if (call?.offer_sdp && call.callee_device === null && call.started_by !== you) {
        // Another device of the callee joins while the call rings: it rings too.
        this.send(socket, { type: "call.offer", call_id: call.call_id, sdp: call.offer_sdp, from: call.started_by });
      }
      if (call?.answer_sdp && partner && sideOf(toLiveCall(call), this.sender(attachment)) === "caller") {
        // The caller's device is back before the call connected: the answer may have missed it.
        this.send(socket, { type: "call.answer", call_id: call.call_id, sdp: call.answer_sdp, from: partner });
      }
      if (partner && this.openSockets(you).length === 1) this.push({ type: "peer.joined", user_id: you }, partner);
    });
  }

  protected override onDisconnect(attachment: SocketAttachment): Promise<void> {
    // The moment it left, not the moment its turn came.
    const leftAt = Date.now();
    return this.inTurn(async () => {
      const gone = attachment.userId;
      const call = this.liveCall();
      const deviceStillHere = this.openSockets(gone).some(({ attachment: other }) => {
        return other.deviceId === attachment.deviceId;
      });
      if (call && !deviceStillHere && this.isCallDevice(call, { userId: gone, deviceId: attachment.deviceId })) {
        this.ctx.storage.sql.exec(
          "insert into absences (user_id, device_id, since) values (?, ?, ?) on conflict do nothing",
          gone,
          attachment.deviceId,
          leftAt,
        );
      }
      const partner = this.partnerOf(gone);
      if (partner && !this.isOnline(gone)) this.push({ type: "peer.left", user_id: gone }, partner);
      await this.rescheduleAlarm();
    });
  }

  private isCallDevice(call: CallRow, who: Sender): boolean {
    const side = sideOf(toLiveCall(call), who);
    return side === "caller" || side === "callee";
  }

  private sender(attachment: SocketAttachment): Sender {
    return { userId: attachment.userId, deviceId: attachment.deviceId };
  }

  /** A socket of a device in the call outlasts the others when a fourth socket replaces one. */
  protected override isEngaged(attachment: SocketAttachment): boolean {
    const call = this.liveCall();
    return call !== undefined && this.isCallDevice(call, this.sender(attachment));
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
    // Kept in the attachment, so it survives hibernation: the runtime answers `ping`s itself.
    socket.serializeAttachment({ ...attachment, lastFrameAt: Date.now() } satisfies SocketAttachment);
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
    const frameData = parsed.data;
    switch (frameData.type) {
      case "topic.next": {
        const turn = this.topicQueue.then(() => this.nextTopic(socket, this.sender(attachment)));
        this.topicQueue = turn.catch(() => undefined);
        await turn;
        return;
      }
      case "typing":
        this.relayTyping(this.sender(attachment));
        return;
      case "read":
        // Not in turn with the call: a read only moves forward, whatever order two of them land in.
        await this.queueRead(socket, this.sender(attachment), frameData.up_to);
        return;
    }
    await this.inTurn(() => this.apply(socket, this.sender(attachment), frameData)).catch((error: unknown) => {
      log("error", "call frame not applied", { frame: type, ...describeError(error) });
      this.refuse(socket, "UNAVAILABLE", "the frame could not be applied; try again", frameData.call_id);
    });
    await this.persist();
    await this.rescheduleAlarm();
  }

  /** `typing` (SPEC §10): to the partner's sockets only, never stored, at most once every 2 s per sender. */
  private relayTyping(sender: Sender): void {
    const partner = this.partnerOf(sender.userId);
    const now = Date.now();
    const last = this.typingRelayedAt.get(sender.userId);
    if (!partner || this.session()?.ended || (last !== undefined && now - last < typingIntervalMs)) return;
    this.typingRelayedAt.set(sender.userId, now);
    const event: RoomEvent = { type: "typing", from: sender.userId };
    this.push(event, partner);
  }

  /**
   * One participant's `read` frames, one at a time: while one is recorded, the newest frame that
   * came meanwhile replaces the others, so a burst costs the database two statements, not one a
   * frame (a replaced frame gets no answer; the position only moves forward anyway).
   */
  private queueRead(socket: WebSocket, sender: Sender, upTo: string): Promise<void> {
    this.nextRead.set(sender.userId, { socket, upTo });
    const running = this.readsInFlight.get(sender.userId) ?? Promise.resolve();
    const turn = running.then(async () => {
      const waiting = this.nextRead.get(sender.userId);
      if (!waiting) return;
      this.nextRead.delete(sender.userId);
      await this.read(waiting.socket, sender, waiting.upTo);
    });
    this.readsInFlight.set(
      sender.userId,
      turn.catch(() => undefined),
    );
    return turn;
  }

  /** `read {up_to}` (SPEC §10): recorded as `POST /sessions/{id}/read` does, then pushed to everyone in the room. */
  private async read(socket: WebSocket, sender: Sender, upTo: string): Promise<void> {
    const sessionId = this.session()?.id ?? "";
    let outcome: Awaited<ReturnType<typeof markRead>>;
    try {
      outcome = await this.database.run((db) => markRead(db, sessionId, sender.userId, upTo, new Date()));
    } catch (error) {
      log("warn", "read position not recorded", { session_id: sessionId, ...describeError(error) });
      this.refuseFrame(socket, "read", "UNAVAILABLE", "the read position could not be recorded; try again");
      return;
    }
    if (outcome.kind === "not-found") {
      this.refuseFrame(socket, "read", "INVALID_FRAME", "up_to: not a message of this session");
      return;
    }
    if (outcome.kind === "moved") this.push(readEvent(sender.userId, outcome.position));
  }

  /**
   * `topic.next` (SPEC §10): the next topic is chosen and recorded in Postgres, then pushed to
   * every socket of both participants; at most one change every 20 s per session, whoever asks
   * (a refusal says when, `retry_after_sec`). A change the database did not record is not counted.
   */
  private async nextTopic(socket: WebSocket, sender: Sender): Promise<void> {
    const session = this.session();
    if (!session || session.ended) {
      this.refuseFrame(socket, "topic.next", "SESSION_ENDED", "this session has ended; no more topics");
      return;
    }
    const now = Date.now();
    const last = this.ctx.storage.sql.exec<{ at: number }>("select at from topic_change").toArray()[0]?.at;
    if (last !== undefined && now - last < topicChangeIntervalMs) {
      const waitSec = Math.ceil((last + topicChangeIntervalMs - now) / 1000);
      this.refuseFrame(socket, "topic.next", "RATE_LIMITED", "the topic changes at most once every 20 s", waitSec);
      return;
    }
    let outcome: Awaited<ReturnType<typeof chooseNextTopic>>;
    try {
      outcome = await this.database.run((db) => chooseNextTopic(db, session.id, sender.userId, new Date(now)));
    } catch (error) {
      log("warn", "topic not changed", { session_id: session.id, ...describeError(error) });
      this.refuseFrame(socket, "topic.next", "UNAVAILABLE", "the topic could not be changed; try again");
      return;
    }
    if (outcome.kind === "ended") {
      // The session ended without its push reaching the room: the room ends with it, as it does
      // when it is told, and everyone in it learns so.
      this.keepEnding(unseenEnding(session.id, outcome.endedAt?.toISOString() ?? null));
      this.ctx.storage.sql.exec("update room set ended = 1");
      const ending = this.ending();
      if (ending) this.push(ending);
      await this.inTurn(async () => this.endLiveCall("session_ended"));
      await this.persist();
      await this.rescheduleAlarm();
      this.refuseFrame(socket, "topic.next", "SESSION_ENDED", "this session has ended; no more topics");
      return;
    }
    if (outcome.kind === "none") {
      this.refuseFrame(socket, "topic.next", "NO_TOPIC", "no topic is available at this session's level");
      return;
    }
    this.ctx.storage.sql.exec(
      "insert into topic_change (id, at) values (1, ?) on conflict (id) do update set at = excluded.at",
      now,
    );
    const event: RoomEvent = { type: "topic", topic: outcome.topic, chosen_by: sender.userId };
    this.push(event);
  }

  /** Applies one call frame to the state the room is in now. */
  private async apply(socket: WebSocket, sender: Sender, frame: CallFrame): Promise<void> {
    if (this.session()?.ended ?? true) {
      this.endLiveCall("session_ended");
      this.refuse(socket, "SESSION_ENDED", "this session has ended; no more calls", frame.call_id);
      return;
    }
    const now = Date.now();
    const partner = this.partnerOf(sender.userId);
    const row = this.liveCall();
    const outcome = judge(frame, sender, {
      live: row ? toLiveCall(row) : undefined,
      hasEnded: (callId) =>
        this.ctx.storage.sql.exec("select 1 from calls where call_id = ? and ended_at is not null", callId).toArray()
          .length > 0,
      partner,
      partnerOnline: partner !== undefined && this.isOnline(partner),
      recentStarts: this.ctx.storage.sql
        .exec<{ at: number }>(
          "select at from call_attempts where user_id = ? and at > ? order by at",
          sender.userId,
          now - callStartLimit.windowMs,
        )
        .toArray()
        .map(({ at }) => at),
      now,
    });
    switch (outcome.kind) {
      case "refuse":
        this.refuse(
          socket,
          outcome.code,
          outcome.message,
          // The call in progress is the one a refused new call should adopt.
          outcome.code === "CALL_IN_PROGRESS" ? row?.call_id : frame.call_id,
          outcome.retryAfterSec,
        );
        return;
      case "start":
        // Counted before the database is asked: a start that fails, or names a taken id, counts too.
        this.ctx.storage.sql.exec("delete from call_attempts where at <= ?", now - callStartLimit.windowMs);
        this.ctx.storage.sql.exec("insert into call_attempts (user_id, at) values (?, ?)", sender.userId, now);
        if (frame.type === "call.offer") await this.startCall(socket, sender, frame, outcome.supersedes);
        break;
      case "relay":
        if (!row) return;
        // What a device that (re)joins before the call connects is given: the newest offer and answer.
        if (frame.type === "call.offer" && row.callee_device === null) {
          this.ctx.storage.sql.exec("update calls set offer_sdp = ? where call_id = ?", frame.sdp, row.call_id);
        }
        if (frame.type === "call.answer" && row.connected_at === null) {
          this.ctx.storage.sql.exec("update calls set answer_sdp = ? where call_id = ?", frame.sdp, row.call_id);
        }
        this.relay(row, sender, frame);
        return;
      case "answer": {
        if (!row || frame.type !== "call.answer") return;
        this.ctx.storage.sql.exec(
          "update calls set callee_device = ?, answered_at = ?, offer_sdp = null, answer_sdp = ? where call_id = ?",
          sender.deviceId,
          now,
          frame.sdp,
          row.call_id,
        );
        const answered = this.callRow(row.call_id);
        this.relay(answered, sender, frame);
        this.pushState(answered);
        break;
      }
      case "report": {
        if (!row) return;
        const side = sideOf(toLiveCall(row), sender) === "caller" ? "caller" : "callee";
        const reported = reportConnected(toLiveCall(row), side, now);
        this.ctx.storage.sql.exec(
          `update calls set caller_connected_at = ?, callee_connected_at = ?, connected_at = ?,
             answer_sdp = case when ? is null then answer_sdp end,
             synced = case when connected_at is ? then synced else 0 end
           where call_id = ?`,
          reported.callerConnectedAt,
          reported.calleeConnectedAt,
          reported.connectedAt,
          reported.connectedAt,
          reported.connectedAt,
          row.call_id,
        );
        if (row.connected_at === null && reported.connectedAt !== null) this.pushState(this.callRow(row.call_id));
        break;
      }
      case "end":
        if (row) this.endCall(row, outcome.reason, now);
        break;
    }
    await this.rescheduleAlarm();
  }

  /** The frame goes to the other side of the call, with who sent it. */
  private relay(call: CallRow, sender: Sender, frame: CallFrame): void {
    const payload = JSON.stringify({ ...frame, from: sender.userId });
    const fromCaller = sideOf(toLiveCall(call), sender) === "caller";
    const to = fromCaller ? this.partnerOf(call.started_by) : call.started_by;
    const device = fromCaller ? call.callee_device : call.caller_device;
    if (!to) return;
    for (const { socket, attachment } of this.openSockets(to)) {
      if (device !== null && attachment.deviceId !== device) continue;
      try {
        socket.send(payload);
      } catch {
        // Closed meanwhile: the device is back within the grace period or the call ends.
      }
    }
  }

  /** Tells every socket of both participants how the call stands. */
  private pushState(call: CallRow): void {
    for (const { socket, attachment } of this.openSockets()) {
      this.send(socket, { type: "call.state", ...this.view(call, attachment) });
    }
  }

  private view(call: CallRow, attachment: SocketAttachment): CallView {
    return {
      call_id: call.call_id,
      state: call.connected_at !== null ? "connected" : call.answered_at !== null ? "answered" : "ringing",
      started_by: call.started_by,
      started_at: new Date(call.started_at).toISOString(),
      connected_at: iso(call.connected_at),
      here: this.isCallDevice(call, { userId: attachment.userId, deviceId: attachment.deviceId }),
    };
  }

  /** The call that is ringing or going on, if any. */
  private liveCall(): CallRow | undefined {
    return this.ctx.storage.sql
      .exec<CallRow>("select * from calls where ended_at is null order by started_at desc limit 1")
      .toArray()[0];
  }

  private callRow(callId: string): CallRow {
    return this.ctx.storage.sql.exec<CallRow>("select * from calls where call_id = ?", callId).one();
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

  /**
   * A call starts ringing only once its row is in Postgres: a call that cannot be recorded does
   * not start. Runs in its turn, so the state `judge` saw still holds when the row is in.
   */
  private async startCall(
    socket: WebSocket,
    caller: Sender,
    offer: Extract<CallFrame, { type: "call.offer" }>,
    supersedes: string | undefined,
  ): Promise<void> {
    const startedAt = Date.now();
    const sessionId = this.session()?.id ?? "";
    let started: Awaited<ReturnType<typeof insertCall>>;
    try {
      started = await this.database.run((db) =>
        insertCall(db, { id: offer.call_id, sessionId, startedBy: caller.userId, startedAt }),
      );
    } catch (error) {
      log("warn", "call not recorded", { call_id: offer.call_id, ...describeError(error) });
      this.refuse(socket, "UNAVAILABLE", "the call could not be recorded; try again", offer.call_id);
      return;
    }
    if (started === "taken") {
      this.refuse(socket, "INVALID_FRAME", "call_id is already in use; make a new one", offer.call_id);
      return;
    }
    if (started === "ended") {
      // The session ended without its push reaching the room: the room ends with it.
      this.ctx.storage.sql.exec("update room set ended = 1");
      this.endLiveCall("session_ended");
      this.refuse(socket, "SESSION_ENDED", "this session has ended; no more calls", offer.call_id);
      return;
    }
    if (supersedes) this.endCall(this.callRow(supersedes), "glare", startedAt);
    this.ctx.storage.sql.exec(
      `insert into calls (call_id, started_by, caller_device, started_at, offer_sdp, synced)
       values (?, ?, ?, ?, ?, 1)`,
      offer.call_id,
      caller.userId,
      caller.deviceId,
      startedAt,
      offer.sdp,
    );
    const call = this.callRow(offer.call_id);
    this.relay(call, caller, offer);
    this.pushState(call);
  }

  /**
   * Ends the call for both at `endedAt` (epoch ms), or when a device of it left if one is away,
   * and tells every socket how long they spoke. Postgres learns of it on the next `persist`.
   */
  private endCall(call: CallRow, reason: CallEndReason, endedAt: number): void {
    const ended = Math.max(
      call.connected_at ?? call.started_at,
      spokenUntil(toLiveCall(call), this.absences(), endedAt),
    );
    this.ctx.storage.sql.exec(
      `update calls set ended_at = ?, end_reason = ?, offer_sdp = null, answer_sdp = null, synced = 0
       where call_id = ?`,
      ended,
      reason,
      call.call_id,
    );
    this.ctx.storage.sql.exec("delete from absences");
    const durationSec = spokenSeconds({ connectedAt: call.connected_at, endedAt: ended }, ended);
    this.push({ type: "call.ended", call_id: call.call_id, reason, duration_sec: durationSec });
  }

  private endLiveCall(reason: CallEndReason): void {
    const call = this.liveCall();
    if (call) this.endCall(call, reason, Date.now());
  }

  /**
   * Writes to Postgres what it does not have yet — call rows, `FIRST_CALL` — outside the queue,
   * so a slow database never holds up signalling. One write at a time; one asked for meanwhile
   * runs right after.
   */
  private persist(): Promise<void> {
    if (this.persisting) {
      this.persistAgain = true;
      return this.persisting;
    }
    this.persisting = (async () => {
      do {
        this.persistAgain = false;
        const now = Date.now();
        for (const owed of this.owedBadges(now)) {
          if ((owed.award_retry_at ?? 0) <= now) await this.awardBadge(owed.call_id);
        }
        await this.sync();
      } while (this.persistAgain);
    })().finally(() => {
      this.persisting = undefined;
    });
    return this.persisting;
  }

  /** `FIRST_CALL` for both learners; a failure is tried again later, each time after a longer wait. */
  private async awardBadge(callId: string): Promise<void> {
    const participants = this.session()?.participants ?? [];
    try {
      await this.database.run((db) => awardFirstCall(db, participants, new Date()));
      this.ctx.storage.sql.exec("update calls set badge_awarded = 1 where call_id = ?", callId);
    } catch (error) {
      log("warn", "FIRST_CALL not awarded yet", { call_id: callId, ...describeError(error) });
      const failures = this.callRow(callId).award_failures + 1;
      this.ctx.storage.sql.exec(
        "update calls set award_failures = ?, award_retry_at = ? where call_id = ?",
        failures,
        Date.now() + awardRetryDelayMs(failures),
        callId,
      );
    }
  }

  /**
   * Calls owed `FIRST_CALL`: connected for a minute and not awarded yet. An ended call counts its
   * spoken time; a live one counts to `now`, or to when a device of it left.
   */
  private owedBadges(now: number): CallRow[] {
    const absences = this.absences();
    return this.ctx.storage.sql
      .exec<CallRow>("select * from calls where badge_awarded = 0 and connected_at is not null")
      .toArray()
      .filter((call) => {
        // A live call counts only as far as both its devices have been heard: one that went dark
        // 2 s in is not silent long enough to be taken for gone yet, but it is not talking either.
        const until =
          call.ended_at ??
          Math.min(spokenUntil(toLiveCall(call), absences, now), ...this.callDevices(call).map((d) => this.heardAt(d)));
        return until - (call.connected_at ?? until) >= firstCallAfterMs;
      });
  }

  /** Writes every call row Postgres does not have as it is here; what fails is retried on the alarm. */
  private async sync(): Promise<void> {
    const now = Date.now();
    for (const row of this.ctx.storage.sql.exec<CallRow>("select * from calls where synced = 0").toArray()) {
      try {
        await this.database.run((db) => updateCall(db, this.record(row), now));
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

  private absences(): Absence[] {
    return this.ctx.storage.sql
      .exec<{ user_id: string; device_id: string; since: number }>("select * from absences")
      .toArray()
      .map((row) => ({ userId: row.user_id, deviceId: row.device_id, since: row.since }));
  }

  protected override nextWake(): number | undefined {
    const now = Date.now();
    const moments: number[] = [];
    const call = this.liveCall();
    if (call) {
      const absences = this.absences();
      const ending = nextEnding(toLiveCall(call), absences);
      if (ending !== undefined) moments.push(ending);
      const away = absencesOf(toLiveCall(call), absences).length > 0;
      if (call.connected_at !== null && call.badge_awarded === 0 && !away) {
        moments.push(Math.max(call.connected_at + firstCallAfterMs, call.award_retry_at ?? 0));
      }
      moments.push(now + livenessEveryMs);
    }
    for (const owed of this.owedBadges(now)) moments.push(owed.award_retry_at ?? now);
    const unsynced = this.ctx.storage.sql.exec<{ n: number }>("select count(*) as n from calls where synced = 0").one();
    if (unsynced.n > 0) moments.push(now + resyncAfterMs);
    return moments.length > 0 ? Math.min(...moments) : undefined;
  }

  /** The call's devices: the caller's, and the callee's once it answered. */
  private callDevices(call: CallRow): Sender[] {
    const callee = this.partnerOf(call.started_by);
    return [
      { userId: call.started_by, deviceId: call.caller_device },
      ...(call.callee_device && callee ? [{ userId: callee, deviceId: call.callee_device }] : []),
    ];
  }

  private socketsOf(device: Sender): { socket: WebSocket; attachment: SocketAttachment }[] {
    return this.openSockets(device.userId).filter(({ attachment }) => attachment.deviceId === device.deviceId);
  }

  /** When the room last heard from the device (epoch ms): a frame, a `ping`, or its socket opening; 0 if never. */
  private heardAt(device: Sender): number {
    return Math.max(
      0,
      ...this.socketsOf(device).map(({ socket, attachment }) =>
        Math.max(
          attachment.connectedAt,
          attachment.lastFrameAt ?? 0,
          this.ctx.getWebSocketAutoResponseTimestamp(socket)?.getTime() ?? 0,
        ),
      ),
    );
  }

  /**
   * A device of the call whose sockets are all closed, or all silent for `silentSocketAfterMs`, is
   * away from the moment it was last heard: a closed socket whose close never reached the room,
   * or a phone that went dark, leaves like one that said goodbye.
   */
  private noticeSilentDevices(call: CallRow, now: number): void {
    for (const device of this.callDevices(call)) {
      const sockets = this.socketsOf(device);
      const heardAt = this.heardAt(device);
      if (sockets.length > 0 && now - heardAt < silentSocketAfterMs) continue;
      for (const { socket } of sockets)
        this.close(socket, closeCodes.silent, "nothing heard from this socket for 60 s");
      this.ctx.storage.sql.exec(
        "insert into absences (user_id, device_id, since) values (?, ?, ?) on conflict do nothing",
        device.userId,
        device.deviceId,
        // Silent for a minute is longer than any grace period: this makes the call end at once.
        heardAt || now,
      );
    }
  }

  protected override async onAlarm(): Promise<void> {
    await this.inTurn(async () => {
      const now = Date.now();
      const call = this.liveCall();
      if (!call) return;
      this.noticeSilentDevices(call, now);
      const due = dueEnding(toLiveCall(call), this.absences(), now);
      if (due) this.endCall(call, due.reason, due.endedAt);
    });
    // The deadlines stand even if the database is slow to take what follows.
    await this.rescheduleAlarm();
    await this.persist();
  }
}
