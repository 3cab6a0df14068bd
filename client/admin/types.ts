import type { api, Success } from "../src/api";

/** The API's own shapes, as its routes declare them (a route whose types change breaks this typecheck). */
export type ReportPage = Success<Awaited<ReturnType<typeof api.admin.reports.$get>>>;
export type Report = ReportPage["items"][number];
export type Evidence = NonNullable<Report["evidence"]>[number];
export type ClosedReport = Success<Awaited<ReturnType<(typeof api.admin.reports)[":id"]["close"]["$post"]>>>;
export type AuditEntry = ClosedReport["audit_entries"][number];
export type History = Success<Awaited<ReturnType<(typeof api.admin.users)[":id"]["$get"]>>>;
export type Overview = Success<Awaited<ReturnType<typeof api.admin.stats.overview.$get>>>;
export type QueueStats = Success<Awaited<ReturnType<typeof api.admin.stats.queues.$get>>>["items"];
export type Decision = "none" | "warn" | "suspend";
