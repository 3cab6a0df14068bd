CREATE TYPE "public"."admin_source" AS ENUM('config', 'grant');--> statement-breakpoint
DROP INDEX "auth_email_tokens_email_key";--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "audio_key" text;--> statement-breakpoint
-- Voice notes sent so far were stored as public URLs of keys under users/{id}/voice/: keep the key.
UPDATE "messages" SET "audio_key" = substring("audio_url" from '(users/[0-9a-f-]{36}/voice/[^/?#]+)$') WHERE "audio_url" IS NOT NULL;--> statement-breakpoint
UPDATE "reports" SET "evidence" = (
  SELECT coalesce(jsonb_agg((item - 'audio_url') || jsonb_build_object('audio_key', substring(item->>'audio_url' from '(users/[0-9a-f-]{36}/voice/[^/?#]+)$')) ORDER BY position), '[]'::jsonb)
  FROM jsonb_array_elements("evidence") WITH ORDINALITY AS element(item, position)
) WHERE "evidence" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "admin_source" "admin_source";--> statement-breakpoint
-- Every admin so far got the role from ADMIN_EMAILS.
UPDATE "users" SET "admin_source" = 'config' WHERE "role" = 'admin';--> statement-breakpoint
CREATE INDEX "match_attempts_queued_created_at_idx" ON "match_attempts" USING btree ("created_at") WHERE "match_attempts"."status" = 'queued';--> statement-breakpoint
CREATE INDEX "auth_email_tokens_email_idx" ON "auth_email_tokens" USING btree ("email");--> statement-breakpoint
CREATE INDEX "refresh_tokens_expires_at_idx" ON "refresh_tokens" USING btree ("expires_at");--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_admin_source" CHECK (("users"."role" = 'admin') = ("users"."admin_source" is not null));