ALTER TYPE "public"."call_end_reason" ADD VALUE 'reported';--> statement-breakpoint
ALTER TABLE "reports" ADD COLUMN "left_session" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "reports_left_session_idx" ON "reports" USING btree ("reporter_id","session_id") WHERE "reports"."left_session";