-- cache_invalidation_log tracks asynchronous invalidation requests (POST /v1/invalidations inserts
-- PENDING; the fan-out moves the row to RUNNING, then DONE or FAILED): status and mode enums,
-- requested/started/completed times, details and error, their CHECKs, and idx_cache_invalidation_open
-- for the requests still in flight. Existing rows are complete records and keep their meaning through
-- the defaults (DONE, HARD); their requested_at is the time of this migration (now() is a constant
-- default, so no table rewrite), invalidated_at stays what it was.
CREATE TYPE "public"."invalidation_mode" AS ENUM('SOFT', 'HARD');--> statement-breakpoint
CREATE TYPE "public"."invalidation_status" AS ENUM('PENDING', 'RUNNING', 'DONE', 'FAILED');--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD COLUMN "status" "invalidation_status" DEFAULT 'DONE' NOT NULL;--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD COLUMN "mode" "invalidation_mode" DEFAULT 'HARD' NOT NULL;--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD COLUMN "requested_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD COLUMN "started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD COLUMN "completed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD COLUMN "details" jsonb;--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD COLUMN "error" text;--> statement-breakpoint
CREATE INDEX "idx_cache_invalidation_open" ON "cache_invalidation_log" USING btree ("status","requested_at") WHERE "cache_invalidation_log"."status" IN ('PENDING', 'RUNNING');--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD CONSTRAINT "cache_invalidation_log_details_object" CHECK (jsonb_typeof("cache_invalidation_log"."details") = 'object');--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD CONSTRAINT "cache_invalidation_log_error_length" CHECK (char_length("cache_invalidation_log"."error") <= 2000);--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD CONSTRAINT "cache_invalidation_log_started_after_requested" CHECK ("cache_invalidation_log"."started_at" >= "cache_invalidation_log"."requested_at");--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD CONSTRAINT "cache_invalidation_log_completed_after_started" CHECK ("cache_invalidation_log"."completed_at" >= "cache_invalidation_log"."started_at");--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD CONSTRAINT "cache_invalidation_log_error_required" CHECK ("cache_invalidation_log"."status" <> 'FAILED' OR "cache_invalidation_log"."error" IS NOT NULL);