import { useEffect, useRef, useState } from "preact/hooks";
import { api, currentTokens, ok } from "../src/api";
import { ErrorNote, Screen, useAction } from "../src/ui";
import { ConsoleNav } from "./nav";
import { AuditRecord, ConfirmButton, duration, HeldMark, UserLink, When } from "./parts";
import { href } from "./routes";
import type { AuditEntry, History } from "./types";

type AccountAction = "suspend" | "unsuspend" | "grant" | "revoke";

const actionText: Record<AccountAction, { label: string; question: string; consequence: string; done: string }> = {
  suspend: {
    label: "Suspend",
    question: "Suspend this account?",
    consequence:
      "They are signed out everywhere, their session ends and their sockets close. Suspended here, without a report, they are told no reason.",
    done: "Suspended.",
  },
  unsuspend: {
    label: "Lift the suspension",
    question: "Lift this account's suspension?",
    consequence: "They can sign in again; the tokens revoked by the suspension stay revoked.",
    done: "The suspension is lifted.",
  },
  grant: {
    label: "Make admin",
    question: "Make this user an admin?",
    consequence: "They get this console and every admin action at once, until an admin takes the role away.",
    done: "They are an admin now.",
  },
  revoke: {
    label: "Take the admin role away",
    question: "Take the admin role away from this user?",
    consequence: "They lose this console at once. An address listed in ADMIN_EMAILS cannot lose it here.",
    done: "They are no longer an admin.",
  },
};

/**
 * A user for a moderator: the account, the actions on it (each confirmed first, each showing the
 * audit entry it wrote), and their history — reports against them, sessions, ratings received.
 */
export function UserPanel(props: { id: string; onChanged?: () => void }) {
  const [history, setHistory] = useState<History | null>(null);
  const [written, setWritten] = useState<{ done: string; entries: AuditEntry[] } | null>(null);
  const result = useRef<HTMLDivElement>(null);
  const problem = useRef<HTMLDivElement>(null);
  const load = useAction(async () => {
    setHistory(await ok(await api.admin.users[":id"].$get({ param: { id: props.id }, query: {} })));
  });
  useEffect(() => void load.run(), [props.id]);

  const send = async (action: AccountAction) => {
    const param = { id: props.id };
    return action === "suspend"
      ? ok(await api.admin.users[":id"].suspend.$post({ param }))
      : action === "unsuspend"
        ? ok(await api.admin.users[":id"].unsuspend.$post({ param }))
        : ok(await api.admin.users[":id"].role.$post({ param, json: { role: action === "grant" ? "admin" : "user" } }));
  };
  const act = useAction(async (action: AccountAction) => {
    let answer: Awaited<ReturnType<typeof send>>;
    try {
      answer = await send(action);
    } catch (error) {
      // Refused or lost: the account may have changed meanwhile (another admin suspended it: 409),
      // so show it as it is now beside the error, with the actions that apply to it now.
      await load.run();
      // The button that asked may be gone with that change: the focus goes to the error.
      requestAnimationFrame(() => problem.current?.focus());
      throw error;
    }
    setWritten({ done: actionText[action].done, entries: answer.audit_entries });
    // What shows this account elsewhere on the page (a report's "held" mark) reads it again too.
    props.onChanged?.();
    await load.run();
    requestAnimationFrame(() => result.current?.focus());
  });

  if (!history) return load.error ? <ErrorNote error={load.error} /> : <p role="status">Loading the account…</p>;
  const { user, reports, sessions, ratings } = history;
  const yourself = currentTokens()?.user.id === user.id;
  const available: AccountAction[] = [
    user.status === "active" ? "suspend" : "unsuspend",
    user.role === "admin" ? "revoke" : "grant",
  ];
  return (
    <div class="user-panel">
      <dl class="facts">
        <dt>Name</dt>
        <dd>
          {user.display_name !== null ? <bdi>{user.display_name}</bdi> : <span class="muted">(no name)</span>} &lt;
          {user.email}&gt;
        </dd>
        <dt>Level</dt>
        <dd>{user.level ?? "—"}</dd>
        <dt>Account</dt>
        <dd>
          {user.status}
          {user.role === "admin" ? ", admin" : ""}, account made <When at={user.created_at} />
          {user.held_at ? (
            <>
              {" "}
              · <HeldMark /> since <When at={user.held_at} />
            </>
          ) : null}
          {user.suspended_at ? (
            <>
              {" "}
              · suspended <When at={user.suspended_at} />
              {user.suspension_reason ? ` for ${user.suspension_reason}` : ""}
            </>
          ) : null}
        </dd>
      </dl>

      {yourself ? (
        <p class="muted">This is you: nobody changes their own status or role.</p>
      ) : (
        <div class="actions">
          {available.map((action) => (
            <ConfirmButton
              key={action}
              label={actionText[action].label}
              question={actionText[action].question}
              confirmLabel={actionText[action].label}
              danger={action === "suspend" || action === "revoke"}
              disabled={act.busy}
              onConfirm={() => void act.run(action)}
            >
              <p>
                <bdi>{user.display_name ?? user.email}</bdi> &lt;{user.email}&gt;
              </p>
              <p>{actionText[action].consequence}</p>
            </ConfirmButton>
          ))}
        </div>
      )}
      <div ref={result} tabIndex={-1} role="status" aria-live="polite" class="result">
        {written ? (
          <>
            <p>{written.done} The audit log recorded:</p>
            <AuditRecord entries={written.entries} />
          </>
        ) : null}
      </div>
      <div ref={problem} tabIndex={-1}>
        <ErrorNote error={act.error ?? load.error} />
      </div>

      <h3>
        Reports against them: {reports.total} ({reports.open} open)
      </h3>
      {reports.items.length > 0 ? (
        <ul class="history" data-testid="history-reports">
          {reports.items.map((report) => (
            <li key={report.id}>
              <a href={href({ screen: "report", id: report.id })}>{report.reason}</a> by{" "}
              <UserLink user={report.reporter} />, <When at={report.created_at} /> ·{" "}
              {report.status === "open" ? "open" : `closed: ${report.action}`}
            </li>
          ))}
        </ul>
      ) : null}

      <h3>Sessions: {sessions.total}</h3>
      {sessions.items.length > 0 ? (
        <ul class="history">
          {sessions.items.map((session) => (
            <li key={session.id}>
              <When at={session.started_at} /> at {session.level} with <UserLink user={session.partner} /> ·{" "}
              {session.status === "active" ? "still on" : duration(session.duration_sec)}
            </li>
          ))}
        </ul>
      ) : null}

      <h3>
        Ratings received: {ratings.count}
        {ratings.average !== null ? `, ${ratings.average} on average (of 5)` : ""}
      </h3>
      {ratings.items.length > 0 ? (
        <ul class="history">
          {ratings.items.map((rating) => (
            <li key={rating.session_id}>
              <strong>{rating.rating}</strong>/5 from <UserLink user={rating.by} /> · <When at={rating.rated_at} />
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** A user's own page in the console. */
export function UserScreen(props: { id: string }) {
  return (
    <Screen title="User" actions={<ConsoleNav />}>
      <UserPanel id={props.id} />
    </Screen>
  );
}
