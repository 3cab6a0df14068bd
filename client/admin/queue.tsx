import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok } from "../src/api";
import { ErrorNote, Screen, useAction } from "../src/ui";
import { ConsoleNav } from "./nav";
import { HeldMark, When } from "./parts";
import { href } from "./routes";
import type { Report } from "./types";

const pageSize = "25";

/**
 * The report queue: open reports with held users' first (the API's order), then newest first; or
 * the closed ones, newest first. Each links to its report.
 */
export function QueueScreen(props: { status: "open" | "closed" }) {
  const [items, setItems] = useState<Report[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const list = useRef<HTMLOListElement>(null);
  const load = useAction(async (after?: string) => {
    const before = items.length;
    const page = await ok(
      await api.admin.reports.$get({
        query: { status: props.status, limit: pageSize, ...(after ? { cursor: after } : {}) },
      }),
    );
    // A user suspended while the moderator pages loses their hold, so their reports can come again
    // on a later page (docs/moderation.md#automatic-holds): each report is listed once.
    setItems((shown) =>
      after ? [...shown, ...page.items.filter((item) => !shown.some((seen) => seen.id === item.id))] : page.items,
    );
    setCursor(page.next_cursor);
    setLoaded(true);
    // "Show more" goes (it was the last page) or was disabled meanwhile: the focus goes on to the
    // first report it brought, where the reading goes on, rather than falling to the page's start.
    if (after) {
      requestAnimationFrame(() => {
        const links = list.current?.querySelectorAll<HTMLAnchorElement>(":scope > li > a");
        (links?.[before] ?? links?.[links.length - 1])?.focus();
      });
    }
  });
  useEffect(() => {
    setItems([]);
    setLoaded(false);
    void load.run();
  }, [props.status]);
  const held = items.filter((report) => report.held && report.status === "open").length;
  return (
    <Screen
      title={props.status === "open" ? "Report queue" : "Closed reports"}
      actions={<ConsoleNav current={props.status} />}
    >
      <p role="status">
        {!loaded
          ? load.error
            ? "The reports could not be read."
            : "Loading…"
          : props.status === "open"
            ? `${items.length}${cursor ? "+" : ""} open report(s), ${held} about held users (shown first).`
            : `${items.length}${cursor ? "+" : ""} closed report(s), newest first.`}
      </p>
      <ol class="queue" ref={list}>
        {items.map((report) => (
          <li
            key={report.id}
            class={report.held && report.status === "open" ? "is-held" : undefined}
            data-testid="queue-item"
          >
            <a href={href({ screen: "report", id: report.id })}>
              <strong>{report.reason}</strong> against{" "}
              {report.target ? <bdi>{report.target.display_name ?? report.target.email}</bdi> : "a deleted account"}
            </a>
            {report.held && report.status === "open" ? (
              <>
                {" "}
                <HeldMark />
              </>
            ) : null}
            <br />
            <span class="muted">
              filed <When at={report.created_at} /> by{" "}
              {report.reporter ? (
                <bdi>{report.reporter.display_name ?? report.reporter.email}</bdi>
              ) : (
                "a deleted account"
              )}
              {report.evidence ? ` · ${report.evidence.length} message(s) of evidence` : " · no session"}
              {report.action ? ` · closed: ${report.action}` : ""}
            </span>
          </li>
        ))}
      </ol>
      {cursor ? (
        <button type="button" onClick={() => void load.run(cursor)} disabled={load.busy}>
          Show more
        </button>
      ) : null}
      <ErrorNote error={load.error} />
    </Screen>
  );
}
