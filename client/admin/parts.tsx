import type { ComponentChildren } from "preact";
import { useId, useRef } from "preact/hooks";
import { href } from "./routes";
import type { AuditEntry } from "./types";

/** An instant as the moderator's locale writes it, in a `<time>` that keeps the exact value. */
export function When(props: { at: string | null; empty?: string }) {
  if (!props.at) return <>{props.empty ?? "—"}</>;
  const at = new Date(props.at);
  return (
    <time dateTime={props.at} title={props.at}>
      {at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })}
    </time>
  );
}

/** Seconds as "4 min 12 s" (or "—" for none). */
export function duration(seconds: number | null): string {
  if (seconds === null) return "—";
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}

/** A user as the console names them: a link to their page, or "a deleted account". */
export function UserLink(props: { user: { id: string; email: string; display_name: string | null } | null }) {
  const { user } = props;
  if (!user) return <span class="muted">a deleted account</span>;
  return (
    <a href={href({ screen: "user", id: user.id })}>
      <bdi>{user.display_name ?? "(no name)"}</bdi> <span class="muted">&lt;{user.email}&gt;</span>
    </a>
  );
}

/** The mark of a user held for review: words, not only a colour. */
export function HeldMark() {
  return <span class="held">Held for review</span>;
}

/**
 * A button that asks first, in a modal `<dialog>`: focus moves into it (to Cancel, so Enter does
 * no harm), Escape cancels, and focus comes back to the button afterwards. `onConfirm` runs once
 * the moderator confirms. `children` describe the dialog (`aria-describedby`): with the focus on
 * Cancel, that is what a screen reader reads of what it does and to whom.
 */
export function ConfirmButton(props: {
  label: string;
  question: string;
  children?: ComponentChildren;
  confirmLabel: string;
  onConfirm(): void;
  disabled?: boolean;
  danger?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();
  const close = () => {
    dialog.current?.close();
    opener.current?.focus();
  };
  return (
    <>
      <button
        ref={opener}
        type="button"
        class={props.danger ? "danger" : undefined}
        disabled={props.disabled}
        onClick={() => dialog.current?.showModal()}
      >
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} aria-describedby={bodyId} onClose={() => opener.current?.focus()}>
        <h2 id={titleId}>{props.question}</h2>
        <div id={bodyId}>{props.children}</div>
        <div class="dialog-actions">
          <button type="button" autofocus onClick={close}>
            Cancel
          </button>
          <button
            type="button"
            class={props.danger ? "danger primary" : "primary"}
            onClick={() => {
              close();
              props.onConfirm();
            }}
          >
            {props.confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

/** What an action wrote to the audit log, as it answered: the record a moderator can point to later. */
export function AuditRecord(props: { entries: AuditEntry[] }) {
  return (
    <ul class="audit" aria-label="Audit log entries written">
      {props.entries.map((entry) => (
        <li key={entry.id} data-testid="audit-entry">
          <strong>{entry.action}</strong> on {entry.target_type} <code>{entry.target_id}</code> at{" "}
          <When at={entry.created_at} />
          <br />
          <span class="muted">
            entry <code>{entry.id}</code>
            {Object.keys(entry.metadata).length > 0 ? <> · {JSON.stringify(entry.metadata)}</> : null}
          </span>
        </li>
      ))}
    </ul>
  );
}
