import { useEffect, useRef, useState } from "preact/hooks";
import { api, currentTokens, ok, Problem, type Success, setTokens } from "../api";
import { LiveSocket } from "../live";
import { go } from "../router";
import { clock, ErrorNote, type Level, Screen, useAction } from "../ui";

type Status = Success<Awaited<ReturnType<typeof api.match.status.$get>>>;
type Streak = Success<Awaited<ReturnType<typeof api.me.streaks.$get>>>;
type Online = Success<Awaited<ReturnType<typeof api.presence.online.$get>>>;
type Notice = Success<Awaited<ReturnType<typeof api.me.$get>>>["notices"][number];

/** What a moderation notice says: the decision and what the report was about, never who made it. */
function noticeText(notice: Notice): string {
  const day = new Date(notice.created_at).toLocaleDateString(undefined, { dateStyle: "medium" });
  return notice.action === "warn"
    ? `On ${day} a moderator warned you after a report for ${notice.reason}. Please keep to the community rules.`
    : `On ${day} your account was suspended after a report for ${notice.reason}; the suspension has been lifted.`;
}

export function Home() {
  const [name, setName] = useState<string | null>(null);
  const [level, setLevel] = useState<Level | null>(null);
  const [streak, setStreak] = useState<Streak | null>(null);
  const [badges, setBadges] = useState<string[]>([]);
  const [online, setOnline] = useState<Online | null>(null);
  const [waiting, setWaiting] = useState<Status | null>(null);
  const [notices, setNotices] = useState<Notice[]>([]);
  /** Why the wait ended without a partner, when the learner should know: a hold while waiting. */
  const [waitEnded, setWaitEnded] = useState<string | null>(null);
  const socket = useRef<LiveSocket | null>(null);

  const load = useAction(async () => {
    const [me, streaks, earned, counts, status] = await Promise.all([
      ok(await api.me.$get()),
      ok(await api.me.streaks.$get()),
      ok(await api.me.badges.$get()),
      ok(await api.presence.online.$get()),
      ok(await api.match.status.$get()),
    ]);
    if (!me.profile.level || !me.profile.display_name) return go({ screen: "profile" });
    setName(me.profile.display_name);
    setNotices(me.notices);
    setLevel(me.profile.level);
    setStreak(streaks);
    setBadges(earned.items.map((badge) => badge.badge));
    setOnline(counts);
    setWaiting(status.status === "queued" ? status : null);
  });
  useEffect(() => void load.run(), []);

  // While waiting: the matchmaker pushes the match on its socket; the band and the wait are polled.
  useEffect(() => {
    if (!waiting || !level) return;
    socket.current = new LiveSocket(
      "/match/ws",
      { level: waiting.level ?? level },
      {
        onMessage: (event) => {
          if (event.type === "matched" && typeof event.session_id === "string") {
            go({ screen: "session", id: event.session_id });
          }
          if (event.type === "expired") {
            setWaiting(null);
            // A hold is not a time-out: finding a partner again would only be refused until a moderator looks.
            if (event.reason === "under_review") {
              setWaitEnded(
                "Reports about your account are with a moderator: you can look for partners once they have looked.",
              );
            }
          }
        },
      },
    );
    const poll = setInterval(async () => {
      const status = await ok(await api.match.status.$get()).catch(() => null);
      if (status?.status === "matched" && status.session_id) go({ screen: "session", id: status.session_id });
      else if (status) setWaiting(status.status === "queued" ? status : null);
    }, 3000);
    return () => {
      clearInterval(poll);
      socket.current?.close();
    };
  }, [waiting?.attempt_id, level]);

  const find = useAction(async () => {
    if (!level) return;
    setWaitEnded(null);
    const response = await api.match.attempt.$post({ json: { desired_level: level } });
    if (response.status === 200) {
      const matched = await response.json();
      return go({ screen: "session", id: matched.session_id });
    }
    const problem = response.ok ? null : await ok(response).catch((error: unknown) => error);
    if (problem instanceof Problem && problem.code === "ALREADY_IN_SESSION") {
      const sessions = await ok(await api.sessions.$get({ query: { limit: "1" } }));
      const active = sessions.items.find((session) => session.status === "active");
      if (active) return go({ screen: "session", id: active.id });
    }
    if (problem) throw problem;
    setWaiting(await ok(await api.match.status.$get()));
  });

  const cancel = useAction(async () => {
    const response = await api.match.attempt.$delete();
    if (!response.ok && response.status !== 404) await ok(response);
    setWaiting(null);
  });

  const acknowledge = useAction(async (id: string) => {
    const response = await api.me.notices[":id"].ack.$post({ param: { id } });
    if (!response.ok && response.status !== 404) await ok(response);
    setNotices((shown) => shown.filter((notice) => notice.id !== id));
  });

  const signOut = useAction(async () => {
    const tokens = currentTokens();
    if (tokens) await api.auth.logout.$post({ json: { refresh_token: tokens.refresh_token, everywhere: false } });
    setTokens(null);
  });

  return (
    <Screen
      title={name ? `Salom, ${name}` : "Gaplash"}
      actions={
        <>
          <a href="#/history">History</a> <a href="#/corrections">My corrections</a> <a href="#/profile">Profile</a>{" "}
          <button type="button" class="link" onClick={() => void signOut.run()}>
            Sign out
          </button>
        </>
      }
    >
      {notices.length > 0 ? (
        <section aria-labelledby="notices-heading" class="notices">
          <h2 id="notices-heading">From the moderators</h2>
          <ul>
            {notices.map((notice) => (
              <li key={notice.id} data-testid="notice">
                <p>{noticeText(notice)}</p>
                <button type="button" onClick={() => void acknowledge.run(notice.id)} disabled={acknowledge.busy}>
                  Got it
                </button>
              </li>
            ))}
          </ul>
          <ErrorNote error={acknowledge.error} />
        </section>
      ) : null}
      <section aria-labelledby="progress-heading">
        <h2 id="progress-heading">Your practice</h2>
        <p>
          Streak: <strong data-testid="streak">{streak?.current ?? 0}</strong> day(s), longest {streak?.longest ?? 0}
        </p>
        <ul aria-label="Badges" class="badges">
          {badges.length === 0 ? <li>No badges yet</li> : badges.map((badge) => <li key={badge}>{badge}</li>)}
        </ul>
      </section>
      <section aria-labelledby="partner-heading">
        <h2 id="partner-heading">Find a partner</h2>
        {online ? (
          <p>
            {online.total} online now
            {level ? `, ${online.levels[level]} at ${level}` : ""}.
          </p>
        ) : null}
        {waiting ? (
          <div role="status" aria-live="polite">
            <p>
              Looking for a partner at {waiting.band.join(", ")} — waiting {clock(waiting.waited_ms / 1000)}
            </p>
            <button type="button" onClick={() => void cancel.run()} disabled={cancel.busy}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" class="primary" onClick={() => void find.run()} disabled={find.busy || !level}>
            Find a partner
          </button>
        )}
        {waitEnded ? <p role="status">{waitEnded}</p> : null}
        <ErrorNote error={load.error ?? find.error ?? cancel.error} />
      </section>
    </Screen>
  );
}
