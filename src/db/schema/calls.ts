import { index, integer, pgTable, uuid } from "drizzle-orm/pg-core";
import { instant } from "./columns";
import { callEndReasonEnum } from "./enums";
import { sessions } from "./sessions";
import { users } from "./users";

/**
 * One row per call between a session's two participants, written by the session's room as the
 * call moves on: started (ringing), connected, ended. `duration_sec` is the time spoken, from
 * connection to end (0 for a call never connected).
 */
export const calls = pgTable(
  "calls",
  {
    // The id the caller's client chose for the call; it names the call in every signalling frame.
    id: uuid().primaryKey(),
    sessionId: uuid()
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    startedBy: uuid().references(() => users.id, { onDelete: "set null" }),
    startedAt: instant().notNull(),
    connectedAt: instant(),
    endedAt: instant(),
    durationSec: integer(),
    endReason: callEndReasonEnum(),
  },
  (t) => [
    index("calls_session_id_idx").on(t.sessionId, t.startedAt),
    index("calls_started_by_idx").on(t.startedBy),
    index("calls_connected_at_idx").on(t.connectedAt),
  ],
);
