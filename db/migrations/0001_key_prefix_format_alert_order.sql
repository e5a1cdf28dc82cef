-- api_keys.key_prefix: the key format (core/auth/api-key.ts) fixes the prefix at [a-z0-9]{8};
-- the old ">= 4 characters" CHECK let through prefixes no key can ever carry.
-- idx_cache_alert_open: "worst first" means severity DESC (alert_severity is INFO < WARNING < CRITICAL).
ALTER TABLE "api_keys" DROP CONSTRAINT "api_keys_key_prefix_length";--> statement-breakpoint
DROP INDEX "idx_cache_alert_open";--> statement-breakpoint
CREATE INDEX "idx_cache_alert_open" ON "cache_performance_alert" USING btree ("severity" DESC NULLS FIRST,"triggered_at" DESC NULLS FIRST) WHERE "cache_performance_alert"."alert_status" <> 'RESOLVED';--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_key_prefix_format" CHECK ("api_keys"."key_prefix" ~ '^[a-z0-9]{8}$');