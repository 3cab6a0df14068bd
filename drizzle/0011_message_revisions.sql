CREATE TABLE "message_revisions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"message_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"text" text,
	"audio_key" text,
	"revised_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "message_revisions_kind" CHECK ("message_revisions"."kind" in ('edited', 'deleted'))
);
--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "edited_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "message_revisions" ADD CONSTRAINT "message_revisions_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "message_revisions_message_id_idx" ON "message_revisions" USING btree ("message_id","revised_at");--> statement-breakpoint
CREATE INDEX "message_revisions_revised_at_idx" ON "message_revisions" USING btree ("revised_at");