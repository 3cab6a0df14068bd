ALTER TYPE "public"."call_end_reason" ADD VALUE 'declined';--> statement-breakpoint
ALTER TYPE "public"."call_end_reason" ADD VALUE 'no_answer';--> statement-breakpoint
ALTER TYPE "public"."call_end_reason" ADD VALUE 'failed';--> statement-breakpoint
ALTER TYPE "public"."call_end_reason" ADD VALUE 'glare';