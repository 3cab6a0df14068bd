import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Problem, type Suspension } from "./api";

/** A screen: its heading takes the focus when it opens, so keyboard and screen reader users land on it. */
export function Screen(props: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [props.title]);
  return (
    <main>
      <header class="bar">
        <h1 ref={heading} tabIndex={-1}>
          {props.title}
        </h1>
        {props.actions ? <nav aria-label="Screen">{props.actions}</nav> : null}
      </header>
      {props.children}
    </main>
  );
}

/** What went wrong, said in the page and announced. */
/**
 * What a suspended learner is told (docs/moderation.md#users-are-told): since when and the
 * report's reason category, never who reported.
 */
export function suspensionText(suspension: Suspension): string {
  const since = suspension.since
    ? ` since ${new Date(suspension.since).toLocaleDateString(undefined, { dateStyle: "medium" })}`
    : "";
  const why = suspension.reason ? `, after a report for ${suspension.reason}` : " by a moderator";
  return `Your account is suspended${since}${why}. You cannot use Gaplash until a moderator lifts the suspension.`;
}

export function ErrorNote(props: { error: unknown }) {
  if (!props.error) return null;
  const error = props.error;
  const text =
    error instanceof Problem && error.suspension
      ? suspensionText(error.suspension)
      : error instanceof Problem
        ? [error.message, ...error.errors.map((field) => `${field.field}: ${field.message}`)].join(" ")
        : error instanceof Error
          ? error.message
          : String(error);
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

/** Runs an async action from a click or a submit, tracking that it runs and what it threw. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error };
}

/** Seconds as m:ss. */
export function clock(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

export const levels = ["A1", "A2", "B1", "B2", "C1", "C2"] as const;
export type Level = (typeof levels)[number];
