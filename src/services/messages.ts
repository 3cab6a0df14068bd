import { type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import type { ReportReason } from "../db/schema/enums";
import { sha256Hex } from "../lib/crypto";
import type { SuspensionDetails } from "../lib/errors";
import { describeError, log } from "../lib/logger";
import type { KeysetPosition, RankedPosition } from "../lib/pagination";
import { deleteObject, type S3Config } from "./storage";
import { attachVoiceNote, type VoiceNoteSigner } from "./uploads";

export type NewMessage =
  | { type: "text"; text: string }
  | { type: "voice"; audioKey: string; durationMs: number }
  | { type: "correction"; text: string; corrects: string };

export type MessageRow = {
  id: string;
  session_id: string;
  sender_id: string | null;
  type: "text" | "voice" | "correction";
  text: string | null;
  audio_key: string | null;
  duration_ms: number | null;
  corrects_id: string | null;
  client_id: string | null;
  created_at: string | Date;
  edited_at: string | Date | null;
  deleted_at: string | Date | null;
};

export interface MessageView {
  id: string;
  session_id: string;
  sender_id: string | null;
  type: "text" | "voice" | "correction";
  text: string | null;
  audio_url: string | null;
  duration_ms: number | null;
  corrects: string | null;
  client_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
}

const isoOrNull = (value: string | Date | null) => (value === null ? null : new Date(value).toISOString());

/** The message as its readers see it; a voice note comes with a freshly signed, short-lived URL. */
export async function toMessageView(row: MessageRow, signVoiceNote: VoiceNoteSigner): Promise<MessageView> {
  return {
    id: row.id,
    session_id: row.session_id,
    sender_id: row.sender_id,
    type: row.type,
    text: row.text,
    audio_url: row.audio_key ? await signVoiceNote(row.audio_key) : null,
    duration_ms: row.duration_ms,
    corrects: row.corrects_id,
    client_id: row.client_id,
    created_at: new Date(row.created_at).toISOString(),
    edited_at: isoOrNull(row.edited_at),
    deleted_at: isoOrNull(row.deleted_at),
  };
}

/** What a client sends (`POST /sessions/{id}/messages`'s body, validated). */
export type SendBody = { client_id?: string } & (
  | { type: "text"; text: string }
  | { type: "correction"; text: string; corrects: string }
  | { type: "voice"; audio_url: string; duration_ms: number }
);

/**
 * Posts what a client sent to `sessionId` (SPEC §6): a voice note's upload is copied to the
 * session's private prefix first (`attachVoiceNote`), then the message is stored (`sendMessage`,
 * idempotent by `client_id`). When nothing new was stored (a retry, a refusal) the copy made for
 * it is nobody's, so it is deleted after the answer (`waitUntil`). `bad-voice-note`: `audio_url`
 * is not an upload presigned for the sender.
 */
export async function postMessage(
  deps: { db: Database; s3: S3Config; waitUntil(work: Promise<unknown>): void },
  senderId: string,
  sessionId: string,
  body: SendBody,
  now: Date,
): Promise<SendOutcome | { kind: "bad-voice-note" }> {
  let message: NewMessage;
  if (body.type === "voice") {
    const audioKey = await attachVoiceNote(deps.s3, senderId, sessionId, body.audio_url);
    if (!audioKey) return { kind: "bad-voice-note" };
    message = { type: "voice", audioKey, durationMs: body.duration_ms };
  } else if (body.type === "correction") {
    message = { type: "correction", text: body.text, corrects: body.corrects };
  } else {
    message = { type: "text", text: body.text };
  }
  const key = body.client_id ? { clientId: body.client_id, fingerprint: await sendFingerprint(body) } : null;
  const outcome = await sendMessage(deps.db, senderId, sessionId, message, key, now);
  if (message.type === "voice" && outcome.kind !== "created") {
    const copy = message.audioKey;
    deps.waitUntil(
      deleteObject(deps.s3, copy).catch((error) =>
        log("warn", "unused voice note copy not deleted", { key: copy, ...describeError(error) }),
      ),
    );
  }
  return outcome;
}

export type SendOutcome =
  | { kind: "created"; message: MessageRow }
  | { kind: "replayed"; message: MessageRow }
  | { kind: "client-id-reused"; message: MessageRow; clientId: string }
  | { kind: "not-found" }
  | { kind: "ended" }
  /** The sender's account, suspended since the request was admitted: told since when and why. */
  | { kind: "suspended"; suspension: SuspensionDetails }
  | { kind: "bad-correction" };

const messageColumns = sql`id, session_id, sender_id, type, text, audio_key, duration_ms, corrects_id, client_id, created_at,
  edited_at, deleted_at`;
/** `messageColumns` of the messages row aliased `m`, where another relation has the same names. */
const messageColumnsOfM = sql`m.id, m.session_id, m.sender_id, m.type, m.text, m.audio_key, m.duration_ms, m.corrects_id,
  m.client_id, m.created_at, m.edited_at, m.deleted_at`;

/**
 * A send's client-chosen idempotency key (`client_id`) and the fingerprint of what it carried,
 * so that a retry is told from a second message that reused the key.
 */
export interface SendKey {
  clientId: string;
  /** SHA-256 hex of the request's payload, as `sendFingerprint` computes it. */
  fingerprint: string;
}

/**
 * The fingerprint of a send's payload as the client sent it, after validation (trimmed text):
 * `audio_url` rather than the voice note's stored key, which is new on every attempt.
 */
export function sendFingerprint(payload: {
  type: string;
  text?: string;
  corrects?: string;
  audio_url?: string;
  duration_ms?: number;
}): Promise<string> {
  const { type, text, corrects, audio_url, duration_ms } = payload;
  return sha256Hex(JSON.stringify([type, text ?? null, corrects ?? null, audio_url ?? null, duration_ms ?? null]));
}

/**
 * Stores a message in one statement that is also the membership check: it inserts only when the
 * sender is an active participant of an active session (and a correction names the partner's
 * message in it). A send retried with the same `client_id` and payload stores nothing new and
 * replays the first message; the same `client_id` with another payload is `client-id-reused`
 * (the IETF Idempotency-Key draft's 422), never a silent success. Only when nothing was stored
 * does a second query say why, so a send costs at most two round trips. Both run on the HTTP
 * path: one statement needs no connection.
 */
export async function sendMessage(
  db: Database,
  senderId: string,
  sessionId: string,
  message: NewMessage,
  key: SendKey | null,
  now: Date,
): Promise<SendOutcome> {
  const clientId = key?.clientId ?? null;
  const text = message.type === "voice" ? null : message.text;
  const audioKey = message.type === "voice" ? message.audioKey : null;
  const durationMs = message.type === "voice" ? message.durationMs : null;
  const corrects = message.type === "correction" ? message.corrects : null;
  const inserted = await db.execute<MessageRow>(sql`
    insert into messages (session_id, sender_id, type, text, audio_key, duration_ms, corrects_id, client_id, client_fingerprint, created_at)
    select s.id, ${senderId}, ${message.type}, ${text}, ${audioKey}, ${durationMs}, ${corrects}, ${clientId}, ${key?.fingerprint ?? null}, ${now}
    from sessions s
    join session_participants p on p.session_id = s.id and p.user_id = ${senderId}
    join users u on u.id = p.user_id and u.status = 'active'
    where s.id = ${sessionId} and s.status = 'active'
      and (${corrects}::uuid is null or exists (
        select 1 from messages c
        where c.id = ${corrects}::uuid and c.session_id = s.id and c.sender_id is not null and c.sender_id <> ${senderId}
          and c.deleted_at is null))
    on conflict (session_id, sender_id, client_id) do nothing
    returning ${messageColumns}
  `);
  const row = inserted.rows[0];
  if (row) return { kind: "created", message: row };

  const why = await db.execute<{
    participant: boolean;
    session_status: "active" | "ended";
    user_status: "active" | "suspended" | null;
    suspended_at: string | Date | null;
    suspension_reason: ReportReason | null;
    existing: (MessageRow & { client_fingerprint: string | null }) | null;
  }>(sql`
    select p.user_id is not null as participant, s.status as session_status, u.status as user_status,
      u.suspended_at, u.suspension_reason,
      (select row_to_json(m) from (select ${messageColumns}, client_fingerprint from messages
         where session_id = s.id and sender_id = ${senderId} and client_id = ${clientId}::uuid) m) as existing
    from sessions s
    left join session_participants p on p.session_id = s.id and p.user_id = ${senderId}
    left join users u on u.id = ${senderId}
    where s.id = ${sessionId}
  `);
  const state = why.rows[0];
  if (!state?.participant) return { kind: "not-found" };
  // Only a message sent with a client_id has one to be found by.
  if (state.existing && key) {
    const { client_fingerprint: fingerprint, ...existing } = state.existing;
    // Messages stored before fingerprints were kept cannot be told apart: they replay.
    if (fingerprint === null || fingerprint === key.fingerprint) return { kind: "replayed", message: existing };
    return { kind: "client-id-reused", message: existing, clientId: key.clientId };
  }
  // A send admitted before the suspension's revocation reached Redis: the account says since when
  // and why, as every other way in does (docs/moderation.md#users-are-told).
  if (state.user_status !== "active") {
    const since = state.suspended_at === null ? null : new Date(state.suspended_at);
    return { kind: "suspended", suspension: { since, reason: state.suspension_reason } };
  }
  if (state.session_status !== "active") return { kind: "ended" };
  return { kind: "bad-correction" };
}

/**
 * A page of a session's messages, newest first, in one round trip: the participant row is the
 * driving table, so an outsider gets no row at all (not found) rather than an empty page. It runs
 * on the HTTP path.
 */
export async function pageMessages(
  db: Database,
  userId: string,
  sessionId: string,
  limit: number,
  after?: KeysetPosition,
): Promise<MessageRow[] | undefined> {
  const result = await db.execute<{ member: string } & Partial<MessageRow>>(sql`
    select p.user_id as member, m.*
    from session_participants p
    left join lateral (
      select ${messageColumns} from messages
      where session_id = p.session_id
        ${after ? sql`and (created_at, id) < (${after.at}, ${after.id}::uuid)` : sql``}
      order by created_at desc, id desc
      limit ${limit + 1}
    ) m on true
    where p.session_id = ${sessionId} and p.user_id = ${userId}
  `);
  if (result.rows.length === 0) return undefined;
  return result.rows.filter((row) => row.id).map((row) => row as MessageRow);
}

/** `score` as Postgres's `numeric` text (exact, so a cursor can compare it for equality). */
export type SearchHit = MessageRow & { score: string };

/** `query` as a LIKE pattern that matches it literally anywhere: `%` and `_` are not wildcards. */
function containing(query: string): string {
  return `%${query.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

/**
 * Searches the messages of the caller's own sessions, best match first, in one statement over the
 * HTTP path. A message that contains the query (case-insensitive, `ILIKE`) is a hit in any script,
 * spaced or not (Japanese, Chinese, Thai), and ranks above one that only resembles it by trigram
 * word similarity (`<%`, for typos in spaced scripts): `score` is 0.5 for containing it plus half
 * the word similarity, 0–1, rounded to 6 places. Pages are a keyset over `(score, created_at, id)`
 * descending, so a walk never repeats or skips a hit that existed when it started (SPEC §4, §10).
 *
 * A containing hit scores at least 0.5 and a look-alike at most 0.5 (both exactly 0.5 only for a
 * fragment such as `n-` that makes no trigram of its own text), so the statement ranks the
 * containing hits first and looks for look-alikes only when those above 0.5 do not fill the page: word similarity, the costly part, is then
 * computed for the containing hits alone on most searches. Both branches are confined to the
 * caller's sessions, whose messages Postgres finds by the session index and, where the query makes
 * trigrams, by the GIN trigram index as well (`bench/README.md` shows the plans).
 */
export async function searchMessages(
  db: Database,
  userId: string,
  query: string,
  limit: number,
  after?: RankedPosition,
): Promise<SearchHit[]> {
  return (await db.execute<SearchHit>(searchStatement(userId, query, limit, after))).rows;
}

/** `searchMessages`'s statement, for `limit + 1` rows: the bench explains it as it runs. */
export function searchStatement(userId: string, query: string, limit: number, after?: RankedPosition): SQL {
  const pattern = containing(query);
  const mine = sql`session_id = any(array(select session_id from session_participants where user_id = ${userId}))`;
  const belowCursor = after
    ? sql`and (score, created_at, id) < (${after.score}::numeric, ${after.at}, ${after.id}::uuid)`
    : sql``;
  const ranked = sql`order by score desc, created_at desc, id desc limit ${limit + 1}`;
  return sql`
    with containing as (
      select * from (
        select ${messageColumns}, round((0.5 + word_similarity(${query}, text) / 2)::numeric, 6) as score
        from messages where ${mine} and text ilike ${pattern}
      ) hits where true ${belowCursor}
      ${ranked}
    ), resembling as (
      select * from (
        select ${messageColumns}, round((word_similarity(${query}, text) / 2)::numeric, 6) as score
        from messages
        where (select count(*) from containing where score > 0.5) <= ${limit} and ${mine}
          and ${query} <% text and text not ilike ${pattern}
      ) hits where true ${belowCursor}
      ${ranked}
    )
    select ${messageColumns}, score::text as score
    from (select * from containing union all select * from resembling) hits
    ${ranked}
  `;
}

/** How long after sending its sender may edit a message (SPEC §10): 15 minutes. */
export const editWindowMs = 15 * 60 * 1000;

export type EditOutcome =
  | { kind: "edited"; message: MessageRow }
  | { kind: "unchanged"; message: MessageRow }
  | { kind: "not-found" }
  | { kind: "ended" }
  | { kind: "too-late" }
  | { kind: "not-editable"; why: "voice" | "deleted" };

interface TargetRow extends MessageRow {
  session_status: "active" | "ended";
}

/**
 * The sender's message `messageId` of `sessionId`, locked for the statement: the one row an edit
 * or a delete may change. Only its sender finds it, while their account is active (anyone else,
 * `not-found`: SPEC §10). Edits and deletes stamp themselves with `clock_timestamp()`, the time
 * they got the lock, so the revisions of racing edits are in the order they were made.
 */
const targetOf = (senderId: string, sessionId: string, messageId: string) => sql`
  select ${messageColumnsOfM}, s.status as session_status
  from messages m join sessions s on s.id = m.session_id
  join users u on u.id = m.sender_id and u.status = 'active'
  where m.id = ${messageId} and m.session_id = ${sessionId} and m.sender_id = ${senderId}
  for update of m
`;

/**
 * Its sender edits a text or a correction (SPEC §10), in one statement: within 15 minutes of
 * sending, while the session is active, never a voice note or a deleted message. The text before
 * the edit is kept for moderators (`message_revisions`, kind `edited`). The same text again is
 * `unchanged`, whenever it comes: a retry changes and records nothing.
 */
export async function editMessage(
  db: Database,
  senderId: string,
  sessionId: string,
  messageId: string,
  text: string,
  now: Date,
): Promise<EditOutcome> {
  const openedAfter = new Date(now.getTime() - editWindowMs);
  const result = await db.execute<{ target: TargetRow | null; edited: MessageRow | null }>(sql`
    with target as (${targetOf(senderId, sessionId, messageId)}),
    editable as (
      select * from target
      where session_status = 'active' and deleted_at is null and type <> 'voice' and created_at > ${openedAfter}
        and text is distinct from ${text}
    ), revised as (
      insert into message_revisions (message_id, kind, text, audio_key, revised_at)
      select id, 'edited', text, audio_key, clock_timestamp() from editable
      returning message_id
    ), edited as (
      update messages m set text = ${text}, edited_at = clock_timestamp()
      from editable where m.id = editable.id
      returning ${messageColumnsOfM}
    )
    select (select row_to_json(target) from target) as target, (select row_to_json(edited) from edited) as edited
  `);
  const row = result.rows[0];
  const target = row?.target;
  if (!target) return { kind: "not-found" };
  if (row.edited) return { kind: "edited", message: row.edited };
  if (target.deleted_at !== null) return { kind: "not-editable", why: "deleted" };
  if (target.type === "voice") return { kind: "not-editable", why: "voice" };
  // A retry of an edit that landed (its answer lost) is a success, whenever it comes.
  const { session_status: status, ...message } = target;
  if (target.text === text) return { kind: "unchanged", message };
  if (status !== "active") return { kind: "ended" };
  return { kind: "too-late" };
}

export type DeleteOutcome =
  | { kind: "deleted"; message: MessageRow }
  | { kind: "already-deleted" }
  | { kind: "not-found" };

/**
 * Its sender deletes a message (SPEC §10), at any time, in one statement: it becomes a tombstone
 * (`deleted_at`, no text, no audio) and what it was is kept for moderators (`message_revisions`,
 * kind `deleted`; a voice note's recording stays in the private bucket under the revision, out
 * of every reader's reach, until the sweep deletes both after 30 days). A message deleted already
 * is `already-deleted`, so a retried delete succeeds and changes nothing.
 */
export async function deleteMessage(
  db: Database,
  senderId: string,
  sessionId: string,
  messageId: string,
): Promise<DeleteOutcome> {
  const result = await db.execute<{ target: TargetRow | null; deleted: MessageRow | null }>(sql`
    with target as (${targetOf(senderId, sessionId, messageId)}),
    revised as (
      insert into message_revisions (message_id, kind, text, audio_key, revised_at)
      select id, 'deleted', text, audio_key, clock_timestamp() from target where deleted_at is null
      returning message_id
    ), deleted as (
      update messages m set text = null, audio_key = null, deleted_at = clock_timestamp()
      from revised where m.id = revised.message_id
      returning ${messageColumnsOfM}
    )
    select (select row_to_json(target) from target) as target, (select row_to_json(deleted) from deleted) as deleted
  `);
  const row = result.rows[0];
  if (!row?.target) return { kind: "not-found" };
  if (!row.deleted) return { kind: "already-deleted" };
  return { kind: "deleted", message: row.deleted };
}
