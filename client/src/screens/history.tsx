import { useEffect, useState } from "preact/hooks";
import { api, ok, type Success } from "../api";
import { clock, ErrorNote, Screen, useAction } from "../ui";

type Page = Success<Awaited<ReturnType<typeof api.sessions.$get>>>;

export function History() {
  const [sessions, setSessions] = useState<Page["items"]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const load = useAction(async (after?: string) => {
    const page = await ok(await api.sessions.$get({ query: { limit: "20", ...(after ? { cursor: after } : {}) } }));
    setSessions((current) => (after ? [...current, ...page.items] : page.items));
    setCursor(page.next_cursor);
  });
  useEffect(() => void load.run(), []);

  return (
    <Screen title="Your sessions" actions={<a href="#/home">Home</a>}>
      {sessions.length === 0 && !load.busy ? <p>No sessions yet: find a partner from home.</p> : null}
      <ul class="history">
        {sessions.map((session) => (
          <li key={session.id}>
            <a href={`#/session/${session.id}`}>
              {new Date(session.started_at).toLocaleString()} with{" "}
              <bdi>{session.partner?.display_name ?? "a deleted account"}</bdi>
            </a>{" "}
            {session.unread_count > 0 ? (
              <span class="badge" data-testid="unread">
                {session.unread_count} unread
              </span>
            ) : null}{" "}
            — {session.level}, {session.status === "active" ? "going on" : clock(session.duration_sec ?? 0)}
            {session.spoken_sec > 0 ? `, spoke ${clock(session.spoken_sec)}` : ""}
            {session.my_rating ? `, you gave ${session.my_rating}/5` : ""}
          </li>
        ))}
      </ul>
      {cursor ? (
        <button type="button" onClick={() => void load.run(cursor)} disabled={load.busy}>
          Show older sessions
        </button>
      ) : null}
      <ErrorNote error={load.error} />
    </Screen>
  );
}
