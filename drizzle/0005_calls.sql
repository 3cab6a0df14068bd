CREATE TYPE "public"."call_end_reason" AS ENUM('hangup', 'session_ended', 'blocked', 'suspended', 'deleted', 'peer_gone');--> statement-breakpoint
ALTER TYPE "public"."badge" ADD VALUE 'FIRST_CALL';--> statement-breakpoint
CREATE TABLE "calls" (
	"id" uuid PRIMARY KEY NOT NULL,
	"session_id" uuid NOT NULL,
	"started_by" uuid,
	"started_at" timestamp with time zone NOT NULL,
	"connected_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"duration_sec" integer,
	"end_reason" "call_end_reason"
);
--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_started_by_users_id_fk" FOREIGN KEY ("started_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "calls_session_id_idx" ON "calls" USING btree ("session_id","started_at");--> statement-breakpoint
CREATE INDEX "calls_started_by_idx" ON "calls" USING btree ("started_by");--> statement-breakpoint
CREATE INDEX "calls_connected_at_idx" ON "calls" USING btree ("connected_at");