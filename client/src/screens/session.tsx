import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, currentTokens, ok, problemOf, type Success } from "../api";
import { Call, type CallState } from "../call";
import { LiveSocket } from "../live";
import { sendVoiceNote, type VoiceNoteDraft, VoiceRecorder, voiceNoteDraft } from "../recorder";
import { go } from "../router";
import { clock, ErrorNote, Screen, useAction } from "../ui";

type SessionInfo = Success<Awaited<ReturnType<(typeof api.sessions)[":id"]["$get"]>>>;
type Page = Success<Awaited<ReturnType<(typeof api.sessions)[":id"]["messages"]["$get"]>>>;
type Message = Page["items"][number];
type Topic = NonNullable<SessionInfo["topic"]>;

type Reason = Parameters<(typeof api.sessions)[":id"]["report-and-leave"]["$post"]>[0]["json"]["reason"];

/** Each report reason as the learner reads it, in the order offered. */
const reasonLabels: Record<Reason, string> = {
  harassment: "Harassment",
  inappropriate: "Inappropriate",
  underage: "Under age",
  scam: "Scam",
  spam: "Spam",
  other: "Something else",
};
const reasons = Object.keys(reasonLabels) as Reason[];

/** How long "… is typing" stays up after the partner's last `typing` (ms): the room relays one every 2 s at most. */
const typingShownMs = 4000;
/** How often this screen says it is typing (ms), however fast the keys come. */
const typingEveryMs = 2000;
/** How long after sending a message may be edited (ms), as the API allows. */
const editWindowMs = 15 * 60 * 1000;

/** Whether `a` comes after `b` in the session's order: by time, then by id, as the API orders messages. */
const after = (a: Message, b: Message) => a.created_at > b.created_at || (a.created_at === b.created_at && a.id > b.id);

/** Whether `incoming` is an older version of `held`: a tombstone is final, and a later edit wins. */
function isStale(incoming: Message, held: Message | undefined): boolean {
  if (!held) return false;
  if (held.deleted_at) return !incoming.deleted_at;
  return (held.edited_at ?? "") > (incoming.edited_at ?? "");
}

/**
 * Oldest first, each message once, in its newest version: the page, the socket's pushes and this
 * screen's own answers may bring one in any order.
 */
function merge(current: Message[], incoming: Message[]): Message[] {
  const byId = new Map(current.map((message) => [message.id, message]));
  for (const message of incoming) if (!isStale(message, byId.get(message.id))) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
}

export function Session(props: { id: string }) {
  const me = currentTokens()?.user.id ?? "";
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [draft, setDraft] = useState("");
  const [correcting, setCorrecting] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [recorder, setRecorder] = useState<VoiceRecorder | null>(null);
  const [partnerOnline, setPartnerOnline] = useState(false);
  const [topic, setTopic] = useState<Topic | null>(null);
  const [topicNote, setTopicNote] = useState("");
  const [partnerTypingAt, setPartnerTypingAt] = useState(0);
  const [partnerReadUpTo, setPartnerReadUpTo] = useState<string | null>(null);
  const typingSentAt = useRef(0);
  /** Counts `topic` pushes: a session read that left before the last of them must not put an older topic back. */
  const topicPushes = useRef(0);
  const readSent = useRef<Message | null>(null);
  /** Messages deleted, by id: a version of one that arrives later is shown as the tombstone it is. */
  const deletedEarly = useRef(new Map<string, string>());
  const known = (current: Message[], incoming: Message[]) =>
    merge(
      current,
      incoming.map((message) => {
        const deletedAt = deletedEarly.current.get(message.id);
        return deletedAt && !message.deleted_at
          ? { ...message, text: null, audio_url: null, deleted_at: deletedAt }
          : message;
      }),
    );
  /** When an HTTP read last failed (ms), so a failing one is tried again every few seconds, not every tick. */
  const readFailedAt = useRef(0);
  /** The partner's read position only moves forward, whatever order its pushes and reads arrive in. */
  const moveRead = (upTo: string | null) =>
    setPartnerReadUpTo((current) => {
      if (!upTo || !current) return upTo ?? current;
      const [next, held] = [shown.current.find((m) => m.id === upTo), shown.current.find((m) => m.id === current)];
      return next && held && !after(next, held) ? current : upTo;
    });
  const [ended, setEnded] = useState(false);
  const [call, setCall] = useState<CallState | null>(null);
  const [now, setNow] = useState(Date.now());
  const [rating, setRating] = useState(5);
  const [notes, setNotes] = useState("");
  const [reportReason, setReportReason] = useState<Reason>("inappropriate");
  /** Whether the report-and-leave choice is open, and the reason chosen in it (one, none at first). */
  const [leaving, setLeaving] = useState(false);
  const [leaveReason, setLeaveReason] = useState<Reason | null>(null);
  const leaveHeading = useRef<HTMLHeadingElement>(null);
  const [reportNote, setReportNote] = useState("");
  const [reported, setReported] = useState(false);
  const socket = useRef<LiveSocket | null>(null);
  const callRef = useRef<Call | null>(null);

  const shown = useRef<Message[]>([]);
  shown.current = messages;
  /**
   * The messages missed while away: pages back, newest first, until one already shown. A first
   * load takes the newest page.
   */
  const catchUp = useAction(async () => {
    const seen = new Set(shown.current.map((message) => message.id));
    let cursor: string | null = null;
    do {
      const query: { limit: string; cursor?: string } = { limit: "100", ...(cursor ? { cursor } : {}) };
      const page = await ok(await api.sessions[":id"].messages.$get({ param: { id: props.id }, query }));
      setMessages((current) => known(current, page.items));
      if (seen.size === 0 || page.items.some((message) => seen.has(message.id))) return;
      cursor = page.next_cursor;
    } while (cursor);
  });

  /** The session as the API has it now: its topic and read positions may have moved while this device was away. */
  const refresh = async () => {
    const pushesBefore = topicPushes.current;
    const info = await ok(await api.sessions[":id"].$get({ param: { id: props.id } }));
    setSession(info);
    if (topicPushes.current === pushesBefore) setTopic(info.topic);
    moveRead(info.partner_read_up_to);
    return info;
  };

  const load = useAction(async () => {
    const info = await refresh();
    setEnded(info.status === "ended");
    await catchUp.run();
  });

  useEffect(() => {
    void load.run();
    const live = new LiveSocket(
      `/sessions/${props.id}/ws`,
      // This screen is one device to the room: its reconnections stay in the call it placed or answered.
      { device: crypto.randomUUID() },
      {
        // A reconnection may have missed messages, a topic change and reads: page back to what is
        // already here, and read the session again.
        onOpen: () => {
          // A read sent on the socket that went away may never have landed.
          readSent.current = null;
          void catchUp.run();
          void refresh().catch(() => undefined);
        },
        onState: (state) => {
          if (state === "closed") callRef.current?.lostRoom();
        },
        onMessage: (frame) => {
          switch (frame.type) {
            case "room":
              setPartnerOnline(frame.partner_online === true);
              callRef.current?.joined(frame);
              return;
            case "peer.joined":
              return setPartnerOnline(true);
            case "peer.left":
              return setPartnerOnline(false);
            case "message":
              if ((frame.message as Message).sender_id !== me) setPartnerTypingAt(0);
              return setMessages((current) => known(current, [frame.message as Message]));
            case "message.updated":
              return setMessages((current) => known(current, [frame.message as Message]));
            case "message.deleted": {
              const deletedAt = String(frame.deleted_at);
              // A delete may come before the message it deletes: it waits for it here.
              deletedEarly.current.set(String(frame.message_id), deletedAt);
              return setMessages((current) =>
                current.map((message) =>
                  message.id === frame.message_id
                    ? { ...message, text: null, audio_url: null, deleted_at: deletedAt }
                    : message,
                ),
              );
            }
            case "ended":
              return setEnded(true);
            case "topic":
              topicPushes.current += 1;
              setTopicNote("");
              return setTopic(frame.topic as Topic);
            case "typing":
              return setPartnerTypingAt(Date.now());
            case "read":
              if (frame.user_id !== me) moveRead(String(frame.up_to));
              return;
            case "error":
              // A refused read is sent again (over HTTP if need be); a topic's refusal is shown.
              if (frame.frame === "read") {
                readSent.current = null;
                return;
              }
              if (frame.frame === "topic.next") {
                if (frame.code === "SESSION_ENDED") setEnded(true);
                const waitSec = typeof frame.retry_after_sec === "number" ? frame.retry_after_sec : 0;
                setTopicNote(
                  frame.code === "RATE_LIMITED"
                    ? `A new topic in ${waitSec} s.`
                    : String(frame.message ?? "The topic could not change."),
                );
                if (waitSec > 0) setTimeout(() => setTopicNote(""), waitSec * 1000);
                return;
              }
              if (frame.call_id !== undefined) void callRef.current?.receive(frame);
              return;
            default:
              if (typeof frame.type === "string" && frame.type.startsWith("call.")) {
                void callRef.current?.receive(frame);
              }
          }
        },
      },
    );
    socket.current = live;
    callRef.current = new Call(props.id, live, setCall);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      clearInterval(tick);
      callRef.current?.dispose();
      live.close();
    };
  }, [props.id]);

  const partner = session?.partner;
  const byId = useMemo(() => new Map(messages.map((message) => [message.id, message])), [messages]);

  // Say how far this screen has read: the partner's newest message, once the page is in view.
  useEffect(() => {
    const newest = [...messages].reverse().find((message) => message.sender_id !== me);
    if (!newest || document.visibilityState !== "visible") return;
    if (readSent.current && !after(newest, readSent.current)) return;
    // An ended session has no socket to say it on: the same read goes over HTTP.
    if (!ended && socket.current?.send({ type: "read", up_to: newest.id })) {
      readSent.current = newest;
      return;
    }
    if (Date.now() - readFailedAt.current < 5000) return;
    readSent.current = newest;
    void api.sessions[":id"].read
      .$post({ param: { id: props.id }, json: { up_to: newest.id } })
      .then((response) => {
        if (!response.ok) throw new Error(`the read answered ${response.status}`);
      })
      .catch(() => {
        readSent.current = null;
        readFailedAt.current = Date.now();
      });
  }, [messages, now, ended]);

  const readByPartner = partnerReadUpTo ? byId.get(partnerReadUpTo) : undefined;
  const partnerTyping = now - partnerTypingAt < typingShownMs;

  /** The text send not acknowledged yet, with the client_id a retry of it must reuse. */
  const unacknowledged = useRef<{ payload: string; clientId: string } | null>(null);
  const send = useAction(async () => {
    const text = draft.trim();
    if (!text) return;
    if (editing) {
      const edited = await ok(
        await api.sessions[":id"].messages[":message_id"].$patch({
          param: { id: props.id, message_id: editing.id },
          json: { text },
        }),
      );
      setMessages((current) => known(current, [edited]));
      setDraft("");
      setEditing(null);
      return;
    }
    const message = correcting
      ? { type: "correction" as const, corrects: correcting.id, text }
      : { type: "text" as const, text };
    // Pressing Send again after an answer that never came is a retry: the same client_id, so the
    // API stores the message once. Another text is another message, with a client_id of its own.
    const payload = JSON.stringify(message);
    if (unacknowledged.current?.payload !== payload) {
      unacknowledged.current = { payload, clientId: crypto.randomUUID() };
    }
    const body = { ...message, client_id: unacknowledged.current.clientId };
    const sent = await ok(await api.sessions[":id"].messages.$post({ param: { id: props.id }, json: body }));
    unacknowledged.current = null;
    setMessages((current) => known(current, [sent]));
    setDraft("");
    setCorrecting(null);
  });

  /** The voice note not acknowledged yet: kept, with its client_id, until a retry gets it through. */
  const [unsentVoiceNote, setUnsentVoiceNote] = useState<VoiceNoteDraft | null>(null);
  /** Starts recording, stops and sends, or sends again the voice note whose send failed. */
  const voice = useAction(async (step: "record" | "resend") => {
    let draft = unsentVoiceNote;
    if (step === "record") {
      if (!recorder) {
        setRecorder(await VoiceRecorder.start());
        return;
      }
      setRecorder(null);
      draft = voiceNoteDraft(await recorder.stop(), recorder.type);
    }
    if (!draft) return;
    setUnsentVoiceNote(draft);
    const sent = await sendVoiceNote(props.id, draft);
    setUnsentVoiceNote(null);
    setMessages((current) => known(current, [sent]));
  });

  const remove = useAction(async (message: Message) => {
    const response = await api.sessions[":id"].messages[":message_id"].$delete({
      param: { id: props.id, message_id: message.id },
    });
    if (!response.ok) throw await problemOf(response);
    setMessages((current) =>
      current.map((shown) =>
        shown.id === message.id
          ? { ...shown, text: null, audio_url: null, deleted_at: new Date().toISOString() }
          : shown,
      ),
    );
  });

  const startCall = useAction(async () => callRef.current?.start());
  const answerCall = useAction(async () => callRef.current?.answer());

  const end = useAction(async () => {
    callRef.current?.dispose();
    await ok(
      await api.sessions[":id"].end.$post({
        param: { id: props.id },
        json: { rating, ...(notes.trim() ? { notes } : {}) },
      }),
    );
    go({ screen: "home" });
  });

  /**
   * Reports the partner, blocks them and leaves, in one request: a retry after a lost answer is
   * answered with the same report, so Send may be pressed again. The API ends the call with
   * `reported`; this device only lets go of it, once the API has answered.
   */
  const reportAndLeave = useAction(async () => {
    if (!leaveReason) return;
    await ok(
      await api.sessions[":id"]["report-and-leave"].$post({ param: { id: props.id }, json: { reason: leaveReason } }),
    );
    callRef.current?.leftSession();
    go({ screen: "home" });
  });

  useEffect(() => {
    if (leaving) leaveHeading.current?.focus();
  }, [leaving]);

  const block = useAction(async () => {
    if (!partner) return;
    const response = await api.users[":id"].block.$post({ param: { id: partner.id } });
    if (!response.ok) await ok(response);
    setEnded(true);
  });

  const report = useAction(async () => {
    if (!partner) return;
    await ok(
      await api.reports.$post({
        json: {
          target_user_id: partner.id,
          reason: reportReason,
          session_id: props.id,
          ...(reportNote.trim() ? { note: reportNote } : {}),
        },
      }),
    );
    setReportNote("");
    setReported(true);
  });

  const inCall = call && ["calling", "connecting", "connected"].includes(call.phase);

  return (
    <Screen
      title={partner ? `With ${partner.display_name ?? "a learner"} (${partner.level ?? session?.level})` : "Session"}
      actions={
        <>
          <a href="#/home">Home</a>
          {partner ? (
            <button type="button" class="danger" aria-expanded={leaving} onClick={() => setLeaving(!leaving)}>
              Report and leave
            </button>
          ) : null}
        </>
      }
    >
      {leaving && partner ? (
        <section aria-labelledby="leave-heading" class="leave">
          <h2 id="leave-heading" ref={leaveHeading} tabIndex={-1}>
            Report <bdi>{partner.display_name ?? "your partner"}</bdi> and leave
          </h2>
          <p>
            This ends the session{inCall ? " and the call" : ""}, blocks them, and sends the conversation to the
            moderators.
          </p>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void reportAndLeave.run();
            }}
          >
            <fieldset>
              <legend>What happened?</legend>
              {reasons.map((reason) => (
                <label key={reason} class="choice">
                  <input
                    type="radio"
                    name="leave-reason"
                    value={reason}
                    checked={leaveReason === reason}
                    onChange={() => setLeaveReason(reason)}
                  />
                  {reasonLabels[reason]}
                </label>
              ))}
            </fieldset>
            <button type="submit" class="danger" disabled={!leaveReason || reportAndLeave.busy}>
              Send report and leave
            </button>
            <button type="button" onClick={() => setLeaving(false)}>
              Cancel
            </button>
            <ErrorNote error={reportAndLeave.error} />
          </form>
        </section>
      ) : null}
      <p role="status">
        {partner ? (partnerOnline ? "Your partner is here." : "Your partner is not connected.") : ""}
        {ended ? " This session has ended." : ""}
      </p>
      {load.error || catchUp.error ? (
        <div class="load-failed">
          <ErrorNote error={load.error ?? catchUp.error} />
          <button type="button" disabled={load.busy} onClick={() => void load.run()}>
            Try again
          </button>
        </div>
      ) : null}

      {session && (topic || !ended) ? (
        <section aria-labelledby="topic-heading" class="topic" data-testid="topic">
          <h2 id="topic-heading">{topic ? `Topic: ${topic.title}` : "No topic yet"}</h2>
          {topic ? (
            <ul>
              {topic.prompts.map((prompt, index) => (
                <li key={`${index}-${prompt}`}>{prompt}</li>
              ))}
            </ul>
          ) : null}
          {ended ? null : (
            <button type="button" onClick={() => socket.current?.send({ type: "topic.next" })}>
              Next topic
            </button>
          )}
          {topicNote ? <p role="status">{topicNote}</p> : null}
        </section>
      ) : null}

      <section aria-labelledby="call-heading" class="call">
        <h2 id="call-heading">Voice call</h2>
        {call?.phase === "incoming" ? (
          <div role="alert">
            <p>Your partner is calling.</p>
            <button type="button" class="primary" onClick={() => void answerCall.run()}>
              Answer
            </button>
            <button type="button" onClick={() => callRef.current?.hangUp()}>
              Decline
            </button>
          </div>
        ) : call?.phase === "elsewhere" ? (
          <p role="status" data-testid="call-state">
            A call of this session is on another of your devices.
          </p>
        ) : inCall && call ? (
          <div>
            <p role="status" data-testid="call-state">
              {call.phase === "connected" ? "Connected" : call.phase === "calling" ? "Calling…" : "Connecting…"}
              {call.connectedAt ? ` ${clock((now - call.connectedAt) / 1000)}` : ""}
              {call.connection ? ` (${call.connection})` : ""}
            </p>
            <button type="button" aria-pressed={call.muted} onClick={() => callRef.current?.toggleMute()}>
              {call.muted ? "Unmute" : "Mute"}
            </button>
            <button type="button" onClick={() => callRef.current?.hangUp()}>
              Hang up
            </button>
          </div>
        ) : (
          <>
            {call?.phase === "ended" ? <p role="status">Call ended ({call.endedReason}).</p> : null}
            <button
              type="button"
              class="primary"
              disabled={ended || !partnerOnline || startCall.busy}
              onClick={() => void startCall.run()}
            >
              Call
            </button>
          </>
        )}
        <ErrorNote error={startCall.error ?? answerCall.error} />
      </section>

      <section aria-labelledby="chat-heading">
        <h2 id="chat-heading">Messages</h2>
        <ol class="messages" aria-live="polite" aria-relevant="additions">
          {messages.map((message) => {
            const mine = message.sender_id === me;
            const corrected = message.corrects ? byId.get(message.corrects) : undefined;
            return (
              <li key={message.id} class={mine ? "mine" : "theirs"} data-type={message.type}>
                <span class="sender">
                  <bdi>{mine ? "You" : (partner?.display_name ?? "Partner")}</bdi>:{" "}
                </span>
                {message.deleted_at ? (
                  <span class="deleted">This message was deleted.</span>
                ) : message.type === "voice" && message.audio_url ? (
                  <audio controls preload="metadata" src={message.audio_url} aria-label="Voice note" />
                ) : message.type === "correction" ? (
                  <span>
                    <span class="correction-of">
                      corrects “<bdi>{corrected?.text ?? "a message"}</bdi>”:
                    </span>{" "}
                    <bdi>{message.text}</bdi>
                  </span>
                ) : (
                  <bdi>{message.text}</bdi>
                )}
                {message.edited_at && !message.deleted_at ? <span class="muted"> (edited)</span> : null}
                {mine && !message.deleted_at ? (
                  <>
                    {!ended && message.type !== "voice" && now - Date.parse(message.created_at) < editWindowMs ? (
                      <button
                        type="button"
                        class="link"
                        aria-label={`Edit “${message.text}”`}
                        onClick={() => {
                          setCorrecting(null);
                          setEditing(message);
                          setDraft(message.text ?? "");
                        }}
                      >
                        Edit
                      </button>
                    ) : null}
                    <button
                      type="button"
                      class="link"
                      aria-label={message.type === "voice" ? "Delete this recording" : `Delete “${message.text}”`}
                      onClick={() => {
                        if (confirm("Delete this message for both of you?")) void remove.run(message);
                      }}
                    >
                      Delete
                    </button>
                  </>
                ) : null}
                {mine && readByPartner && !after(message, readByPartner) ? (
                  <span class="read-tick" title="Read">
                    {" "}
                    ✓✓
                  </span>
                ) : null}
                {!mine && message.type === "text" && !message.deleted_at && !ended ? (
                  <button
                    type="button"
                    class="link"
                    aria-label={`Correct “${message.text}”`}
                    onClick={() => {
                      setEditing(null);
                      setCorrecting(message);
                      setDraft(message.text ?? "");
                    }}
                  >
                    Correct
                  </button>
                ) : null}
              </li>
            );
          })}
        </ol>
        {partnerTyping && !ended ? (
          <p role="status" class="typing">
            <bdi>{partner?.display_name ?? "Your partner"}</bdi> is typing…
          </p>
        ) : null}
        {ended ? null : (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void send.run();
            }}
          >
            {editing ? (
              <p>
                Editing “{editing.text}”{" "}
                <button
                  type="button"
                  class="link"
                  onClick={() => {
                    setEditing(null);
                    setDraft("");
                  }}
                >
                  Cancel edit
                </button>
              </p>
            ) : null}
            {correcting ? (
              <p>
                Correcting “{correcting.text}”{" "}
                <button type="button" class="link" onClick={() => setCorrecting(null)}>
                  Cancel correction
                </button>
              </p>
            ) : null}
            <label for="draft">{editing ? "Edited text" : correcting ? "Corrected text" : "Message"}</label>
            <input
              id="draft"
              maxLength={4000}
              value={draft}
              onInput={(event) => {
                setDraft(event.currentTarget.value);
                if (Date.now() - typingSentAt.current >= typingEveryMs && socket.current?.send({ type: "typing" })) {
                  typingSentAt.current = Date.now();
                }
              }}
            />
            <button type="submit" disabled={send.busy}>
              Send
            </button>
            <button type="button" aria-pressed={recorder !== null} onClick={() => void voice.run("record")}>
              {recorder ? "Stop and send voice note" : "Record voice note"}
            </button>
            {unsentVoiceNote && !voice.busy ? (
              <button type="button" onClick={() => void voice.run("resend")}>
                Send voice note again
              </button>
            ) : null}
            <ErrorNote error={send.error ?? voice.error ?? remove.error} />
          </form>
        )}
      </section>

      <section aria-labelledby="end-heading">
        <h2 id="end-heading">{ended ? "Rate this session" : "End the session"}</h2>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void end.run();
          }}
        >
          <fieldset>
            <legend>How did it go?</legend>
            {[1, 2, 3, 4, 5].map((stars) => (
              <label key={stars} class="star">
                <input
                  type="radio"
                  name="rating"
                  value={stars}
                  checked={rating === stars}
                  onChange={() => setRating(stars)}
                />
                {stars} {stars === 1 ? "star" : "stars"}
              </label>
            ))}
          </fieldset>
          <label for="notes">Notes (only you see them)</label>
          <textarea
            id="notes"
            maxLength={1000}
            value={notes}
            onInput={(event) => setNotes(event.currentTarget.value)}
          />
          <button type="submit" class="primary" disabled={end.busy}>
            {ended ? "Save rating" : "End session"}
          </button>
          <ErrorNote error={end.error} />
        </form>
      </section>

      {partner ? (
        <section aria-labelledby="safety-heading">
          <h2 id="safety-heading">Safety</h2>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void report.run();
            }}
          >
            <label for="report-reason">Reason</label>
            <select
              id="report-reason"
              value={reportReason}
              onChange={(event) => setReportReason(event.currentTarget.value as Reason)}
            >
              {reasons.map((reason) => (
                <option key={reason} value={reason}>
                  {reasonLabels[reason]}
                </option>
              ))}
            </select>
            <label for="report-note">What happened</label>
            <input
              id="report-note"
              maxLength={1000}
              value={reportNote}
              onInput={(e) => setReportNote(e.currentTarget.value)}
            />
            <button type="submit" disabled={report.busy}>
              Report <bdi>{partner.display_name ?? "partner"}</bdi>
            </button>
            {reported ? <p role="status">Thank you: moderators will look at it.</p> : null}
            <ErrorNote error={report.error} />
          </form>
          <button type="button" onClick={() => void block.run()} disabled={block.busy}>
            Block <bdi>{partner.display_name ?? "partner"}</bdi>
          </button>
          <ErrorNote error={block.error} />
        </section>
      ) : null}
    </Screen>
  );
}
