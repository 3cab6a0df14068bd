import { sql } from "drizzle-orm";
import { boolean, check, index, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, instant } from "./columns";
import { moderationActionEnum, noticeActionEnum, reportReasonEnum, reportStatusEnum } from "./enums";
import { sessions } from "./sessions";
import { users } from "./users";

export const blocks = pgTable(
  "blocks",
  {
    blockerId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    blockedId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.blockerId, t.blockedId] }),
    index("blocks_blocked_id_idx").on(t.blockedId),
    check("blocks_not_self", sql`${t.blockerId} <> ${t.blockedId}`),
  ],
);

export interface EvidenceMessage {
  id: string;
  sender_id: string | null;
  type: string;
  text: string | null;
  audio_key: string | null;
  created_at: string;
  /** In reports filed since edits and deletes exist. */
  edited_at?: string | null;
  deleted_at?: string | null;
  /** What it said before each edit or its deletion, oldest first. */
  revisions?: { kind: "edited" | "deleted"; text: string | null; audio_key?: string | null; revised_at: string }[];
}

/** Reports outlive the accounts they name: moderation history is kept. */
export const reports = pgTable(
  "reports",
  {
    id: id(),
    reporterId: uuid().references(() => users.id, { onDelete: "set null" }),
    targetUserId: uuid().references(() => users.id, { onDelete: "set null" }),
    sessionId: uuid().references(() => sessions.id, { onDelete: "set null" }),
    reason: reportReasonEnum().notNull(),
    note: text(),
    evidence: jsonb().$type<EvidenceMessage[]>(),
    status: reportStatusEnum().notNull().default("open"),
    resolution: text(),
    action: moderationActionEnum(),
    closedBy: uuid().references(() => users.id, { onDelete: "set null" }),
    closedAt: instant(),
    createdAt: createdAt(),
    /** Filed by `POST /sessions/{id}/report-and-leave`: the reporter also blocked the target and left the session. */
    leftSession: boolean().notNull().default(false),
  },
  (t) => [
    index("reports_status_created_at_idx").on(t.status, t.createdAt.desc(), t.id.desc()),
    // One report-and-leave per reporter and session: a retry finds the first instead of filing a second.
    uniqueIndex("reports_left_session_idx").on(t.reporterId, t.sessionId).where(sql`${t.leftSession}`),
    index("reports_reporter_id_idx").on(t.reporterId),
    index("reports_target_user_id_idx").on(t.targetUserId),
    index("reports_session_id_idx").on(t.sessionId),
    index("reports_closed_by_idx").on(t.closedBy),
  ],
);

/**
 * What a moderator's decision tells the user it was about: a warning, or a suspension (seen once it
 * is lifted), with the report's reason category and never its reporter. Shown in `GET /me` until
 * acknowledged. The row outlives its report.
 */
export const moderationNotices = pgTable(
  "moderation_notices",
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    reportId: uuid().references(() => reports.id, { onDelete: "set null" }),
    action: noticeActionEnum().notNull(),
    reason: reportReasonEnum().notNull(),
    acknowledgedAt: instant(),
    createdAt: createdAt(),
  },
  (t) => [
    index("moderation_notices_user_id_idx").on(t.userId, t.createdAt),
    index("moderation_notices_report_id_idx").on(t.reportId),
  ],
);
