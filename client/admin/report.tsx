import { useEffect, useId, useRef, useState } from "preact/hooks";
import { api, currentTokens, ok } from "../src/api";
import { ErrorNote, Screen, useAction } from "../src/ui";
import { ConsoleNav } from "./nav";
import { AuditRecord, ConfirmButton, duration, HeldMark, UserLink, When } from "./parts";
import type { AuditEntry, Decision, Evidence, Report } from "./types";
import { UserPanel } from "./user";

const decisions: { action: Decision; label: string; question: string; consequence: string }[] = [
  {
    action: "none",
    label: "Close: no action",
    question: "Close this report with no action?",
    consequence: "Nothing is held against the user; if this was their last open report, their hold is lifted.",
  },
  {
    action: "warn",
    label: "Close and warn",
    question: "Close this report and warn the user?",
    consequence:
      "The user sees a warning naming the report's reason category (never who reported); their hold is lifted if this was their last open report.",
  },
  {
    action: "suspend",
    label: "Close and suspend",
    question: "Close this report and suspend the user?",
    consequence:
      "They are signed out everywhere, their session ends, their sockets close and they cannot sign in until an admin lifts the suspension.",
  },
];

/** One message of the evidence, with what it said before each edit or its deletion. */
function EvidenceMessage(props: { message: Evidence; report: Report }) {
  const { message, report } = props;
  // A session is two people: a sender who is neither account still on record is the one deleted since.
  const role: "reported" | "reporter" | null =
    report.target && message.sender_id === report.target.id
      ? "reported"
      : report.reporter && message.sender_id === report.reporter.id
        ? "reporter"
        : !report.target && report.reporter
          ? "reported"
          : report.target && !report.reporter
            ? "reporter"
            : null;
  const account = role === "reported" ? report.target : role === "reporter" ? report.reporter : null;
  const name = account ? (account.display_name ?? account.email) : null;
  const who = `${name ?? "a deleted account"}${role ? ` (${role})` : ""}`;
  return (
    <li class={role === "reported" ? "from-target" : undefined} data-testid="evidence">
      <p class="meta">
        <strong>
          {name !== null ? <bdi>{name}</bdi> : "a deleted account"}
          {role ? ` (${role})` : ""}
        </strong>{" "}
        · <When at={message.created_at} />
        {message.type === "correction" ? " · correction" : ""}
        {message.edited_at ? " · edited" : ""}
        {message.deleted_at ? " · deleted" : ""}
      </p>
      {message.deleted_at ? (
        <p class="deleted">Deleted by its sender.</p>
      ) : message.type === "voice" ? (
        message.audio_url ? (
          <audio controls preload="none" src={message.audio_url} aria-label={`Voice note from ${who}`} />
        ) : (
          <p class="muted">A voice note no longer kept.</p>
        )
      ) : (
        <p dir="auto" class="written">
          {message.text}
        </p>
      )}
      {message.revisions && message.revisions.length > 0 ? (
        <ul class="revisions" aria-label="Before the sender changed it">
          {message.revisions.map((revision) => (
            <li key={revision.revised_at}>
              {revision.kind === "edited" ? "Before the edit" : "Before the deletion"} (
              <When at={revision.revised_at} />
              ):{" "}
              {revision.text !== null ? (
                <q dir="auto" class="written">
                  {revision.text}
                </q>
              ) : null}
              {revision.audio_url ? (
                <audio
                  controls
                  preload="none"
                  src={revision.audio_url}
                  aria-label={`Voice note from ${who}, before the sender changed it`}
                />
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </li>
  );
}

/** The call record of the report's session, as a table. */
function CallRecord(props: { report: Report }) {
  const { report } = props;
  const captionId = useId();
  if (!report.calls) return <p>The report names no session, so there is no call record.</p>;
  if (report.calls.length === 0) return <p>No calls in this session.</p>;
  const name = (id: string | null) =>
    id === report.target?.id ? "the reported user" : id === report.reporter?.id ? "the reporter" : "a deleted account";
  return (
    // Wider than a phone, the table scrolls sideways in its box: a region named by its caption, which
    // the keyboard reaches to scroll it in every browser.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling box must be reachable to be scrolled.
    <section class="scroll" aria-labelledby={captionId} tabIndex={0}>
      <table>
        <caption id={captionId}>Calls in this session, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">Started by</th>
            <th scope="col">Started</th>
            <th scope="col">Connected</th>
            <th scope="col">Spoken</th>
            <th scope="col">How it ended</th>
          </tr>
        </thead>
        <tbody>
          {report.calls.map((call) => (
            <tr key={call.id}>
              <td>{name(call.started_by)}</td>
              <td>
                <When at={call.started_at} />
              </td>
              <td>
                <When at={call.connected_at} empty="never" />
              </td>
              <td>{call.ended_at ? duration(call.duration_sec) : "still on"}</td>
              <td>{call.end_reason ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/**
 * One report: what was reported and by whom, the evidence transcript, the session's calls, the
 * decision, and the reported user's history with the actions on their account.
 */
export function ReportScreen(props: { id: string }) {
  const [report, setReport] = useState<Report | null>(null);
  const [resolution, setResolution] = useState("");
  const [written, setWritten] = useState<{ action: Decision; entries: AuditEntry[] } | null>(null);
  const [revision, setRevision] = useState(0);
  const result = useRef<HTMLDivElement>(null);

  const closeReport = async (action: Decision) =>
    ok(await api.admin.reports[":id"].close.$post({ param: { id: props.id }, json: { resolution, action } }));
  const load = useAction(async () => {
    setReport(await ok(await api.admin.reports[":id"].$get({ param: { id: props.id } })));
  });
  useEffect(() => {
    setWritten(null);
    void load.run();
  }, [props.id]);

  const decide = useAction(async (action: Decision) => {
    let closed: Awaited<ReturnType<typeof closeReport>>;
    try {
      closed = await closeReport(action);
    } catch (error) {
      // Refused or lost on the way: the report may have changed meanwhile (another moderator closed
      // it: 409), so show it as it is now beside the error instead of an open form that is not.
      await load.run();
      requestAnimationFrame(() => result.current?.focus());
      throw error;
    }
    const { audit_entries: entries, ...rest } = closed;
    setReport(rest);
    setWritten({ action, entries });
    // The target's account changed (a hold lifted, a suspension): their panel reads it again.
    setRevision((count) => count + 1);
    // The decision form is gone with the open report; the result is where the moderator goes on.
    requestAnimationFrame(() => result.current?.focus());
  });

  return (
    <Screen title={report ? `Report: ${report.reason}` : "Report"} actions={<ConsoleNav />}>
      <ErrorNote error={load.error} />
      {report ? (
        <>
          <section aria-labelledby="facts-heading">
            <h2 id="facts-heading">What was reported</h2>
            <dl class="facts">
              <dt>Reported</dt>
              <dd>
                <UserLink user={report.target} />
                {report.held && report.status === "open" ? (
                  <>
                    {" "}
                    <HeldMark />
                  </>
                ) : null}
              </dd>
              <dt>Reporter</dt>
              <dd>
                <UserLink user={report.reporter} />
              </dd>
              <dt>Reason</dt>
              <dd>{report.reason}</dd>
              <dt>Note</dt>
              <dd>
                {report.note !== null ? <bdi class="written">{report.note}</bdi> : <span class="muted">none</span>}
              </dd>
              <dt>Filed</dt>
              <dd>
                <When at={report.created_at} />
              </dd>
              <dt>Status</dt>
              <dd>
                {report.status === "open" ? (
                  "open"
                ) : (
                  <>
                    closed with <strong>{report.action}</strong> <When at={report.closed_at} />:{" "}
                    <bdi class="written">{report.resolution}</bdi>
                  </>
                )}
              </dd>
            </dl>
          </section>

          <div ref={result} tabIndex={-1} role="status" aria-live="polite" class="result">
            {written ? (
              <>
                <p>
                  Closed with <strong>{written.action}</strong>. The audit log recorded:
                </p>
                <AuditRecord entries={written.entries} />
              </>
            ) : null}
            {/* Here rather than in the form, which is gone once the report turns out to be closed. */}
            <ErrorNote error={decide.error} />
          </div>

          {report.status === "open" && report.target?.id === currentTokens()?.user.id ? (
            <p>This report is about you: another admin decides it (nobody closes a report about themselves).</p>
          ) : report.status === "open" ? (
            <section aria-labelledby="decide-heading" class="decide">
              <h2 id="decide-heading">Decide</h2>
              <label for="resolution">Resolution (kept with the report and in the audit log)</label>
              <textarea
                id="resolution"
                rows={3}
                maxLength={1000}
                aria-describedby="resolution-hint"
                value={resolution}
                onInput={(event) => setResolution(event.currentTarget.value)}
              />
              <p id="resolution-hint" class="muted">
                Write what you found first. The user is told the decision and the report's reason category, never this
                text or who reported them.
              </p>
              {report.target ? null : (
                <p>
                  The reported account was deleted: there is nobody to warn or suspend, so it closes without action.
                </p>
              )}
              {decisions
                .filter((decision) => report.target || decision.action === "none")
                .map((decision) => (
                  <ConfirmButton
                    key={decision.action}
                    label={decision.label}
                    question={decision.question}
                    confirmLabel={decision.label}
                    danger={decision.action === "suspend"}
                    disabled={decide.busy || resolution.trim() === ""}
                    onConfirm={() => void decide.run(decision.action)}
                  >
                    <p>{decision.consequence}</p>
                    <p>
                      Resolution: <q class="written">{resolution.trim()}</q>
                    </p>
                  </ConfirmButton>
                ))}
            </section>
          ) : null}

          <section aria-labelledby="evidence-heading">
            <h2 id="evidence-heading">Evidence</h2>
            {report.evidence === null ? (
              <p>The report names no session, so it holds no messages.</p>
            ) : report.evidence.length === 0 ? (
              <p>The session had no messages when the report was filed.</p>
            ) : (
              <>
                <p class="muted">The session's last messages when the report was filed, oldest first.</p>
                <ol class="transcript">
                  {report.evidence.map((message) => (
                    <EvidenceMessage key={message.id} message={message} report={report} />
                  ))}
                </ol>
              </>
            )}
          </section>

          <section aria-labelledby="calls-heading">
            <h2 id="calls-heading">Call record</h2>
            <CallRecord report={report} />
          </section>

          {report.target ? (
            <section aria-labelledby="target-heading">
              <h2 id="target-heading">The reported user</h2>
              <UserPanel key={revision} id={report.target.id} onChanged={() => void load.run()} />
            </section>
          ) : null}
        </>
      ) : null}
    </Screen>
  );
}
