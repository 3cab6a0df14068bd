CREATE TABLE "session_topics" (
	"session_id" uuid NOT NULL,
	"position" smallint NOT NULL,
	"topic_id" uuid NOT NULL,
	"chosen_by" uuid,
	"chosen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "session_topics_session_id_position_pk" PRIMARY KEY("session_id","position"),
	CONSTRAINT "session_topics_position_nonnegative" CHECK ("session_topics"."position" >= 0)
);
--> statement-breakpoint
CREATE TABLE "topics" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"level" "level" NOT NULL,
	"title" text NOT NULL,
	"prompts" text[] NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "topics_prompts_count" CHECK (cardinality("topics"."prompts") between 3 and 5),
	CONSTRAINT "topics_title_length" CHECK (char_length("topics"."title") between 1 and 120),
	CONSTRAINT "topics_tags_count" CHECK (cardinality("topics"."tags") <= 10)
);
--> statement-breakpoint
ALTER TABLE "session_topics" ADD CONSTRAINT "session_topics_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session_topics" ADD CONSTRAINT "session_topics_topic_id_topics_id_fk" FOREIGN KEY ("topic_id") REFERENCES "public"."topics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session_topics" ADD CONSTRAINT "session_topics_chosen_by_users_id_fk" FOREIGN KEY ("chosen_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "session_topics_topic_id_idx" ON "session_topics" USING btree ("topic_id");--> statement-breakpoint
CREATE INDEX "topics_level_active_idx" ON "topics" USING btree ("level") WHERE "topics"."active";