import { pgEnum } from "drizzle-orm/pg-core";

export const levels = ["A1", "A2", "B1", "B2", "C1", "C2"] as const;
export type Level = (typeof levels)[number];

export const levelEnum = pgEnum("level", levels);
export const userRoleEnum = pgEnum("user_role", ["user", "admin"]);
/** Where an admin's role came from: `ADMIN_EMAILS` (renewed or withdrawn at each sign-in) or another admin. */
export const adminSourceEnum = pgEnum("admin_source", ["config", "grant"]);
export const userStatusEnum = pgEnum("user_status", ["active", "suspended"]);
export const authProviderEnum = pgEnum("auth_provider", ["email", "google"]);
export const matchStatusEnum = pgEnum("match_status", ["queued", "matched", "cancelled", "expired"]);
export const sessionStatusEnum = pgEnum("session_status", ["active", "ended"]);
export const messageTypeEnum = pgEnum("message_type", ["text", "voice", "correction"]);
export const reportReasons = ["spam", "harassment", "inappropriate", "underage", "scam", "other"] as const;
export type ReportReason = (typeof reportReasons)[number];
export const reportReasonEnum = pgEnum("report_reason", reportReasons);
export const reportStatusEnum = pgEnum("report_status", ["open", "closed"]);
export const moderationActionEnum = pgEnum("moderation_action", ["none", "warn", "suspend"]);
/** The decisions a user is told of; a report closed with `none` tells nobody anything. */
export const noticeActionEnum = pgEnum("notice_action", ["warn", "suspend"]);
export const badgeEnum = pgEnum("badge", ["FIRST_CHAT", "SEVEN_DAYS", "FIRST_CALL"]);
/**
 * Why a call ended: a hang-up, the session ending (by either, a block, a suspension, a deletion, or a
 * participant who reported the other and left: `reported`), a vanished side, the callee declining,
 * nobody answering within 45 s, an answered call that never connected within 45 s (`failed`), or
 * both calling at once with this call the one that yielded (`glare`).
 */
export const callEndReasons = [
  "hangup",
  "session_ended",
  "blocked",
  "suspended",
  "deleted",
  "peer_gone",
  "declined",
  "no_answer",
  "failed",
  "glare",
  "reported",
] as const;
export type CallEndReason = (typeof callEndReasons)[number];
export const callEndReasonEnum = pgEnum("call_end_reason", callEndReasons);
