import { useEffect, useState } from "preact/hooks";
import { api, ok, type Success } from "../api";
import { ErrorNote, Screen, useAction } from "../ui";

type Page = Success<Awaited<ReturnType<typeof api.me.corrections.$get>>>;

/** What a learner reviews between sessions: the corrections partners made of what they wrote. */
export function Corrections() {
  const [items, setItems] = useState<Page["items"]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const load = useAction(async (after?: string) => {
    const page = await ok(
      await api.me.corrections.$get({ query: { limit: "20", ...(after ? { cursor: after } : {}) } }),
    );
    setItems((current) => (after ? [...current, ...page.items] : page.items));
    setCursor(page.next_cursor);
  });
  useEffect(() => void load.run(), []);

  return (
    <Screen title="My corrections" actions={<a href="#/home">Home</a>}>
      {items.length === 0 && !load.busy ? (
        <p>No corrections yet: your partners' corrections will be kept here.</p>
      ) : null}
      <ul class="corrections">
        {items.map((item) => (
          <li key={item.id} data-testid="correction">
            <p>
              <s>
                <bdi>{item.original ?? "a message"}</bdi>
              </s>
            </p>
            <p>
              <strong>
                <bdi>{item.corrected}</bdi>
              </strong>
            </p>
            <p class="muted">
              <bdi>{item.corrector?.display_name ?? "A deleted account"}</bdi>,{" "}
              {new Date(item.created_at).toLocaleString()} — <a href={`#/session/${item.session_id}`}>the session</a>
            </p>
          </li>
        ))}
      </ul>
      {cursor ? (
        <button type="button" onClick={() => void load.run(cursor)} disabled={load.busy}>
          Show older corrections
        </button>
      ) : null}
      <ErrorNote error={load.error} />
    </Screen>
  );
}
