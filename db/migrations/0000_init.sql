CREATE TYPE "public"."alert_severity" AS ENUM('INFO', 'WARNING', 'CRITICAL');--> statement-breakpoint
CREATE TYPE "public"."alert_status" AS ENUM('ACTIVE', 'ACKNOWLEDGED', 'RESOLVED');--> statement-breakpoint
CREATE TYPE "public"."alert_type" AS ENUM('LOW_HIT_RATE', 'HIGH_LATENCY', 'HIGH_ERROR_RATE', 'HIGH_MEMORY_USAGE', 'HIGH_EVICTION_RATE', 'WARMING_FAILURE');--> statement-breakpoint
CREATE TYPE "public"."cache_behavior" AS ENUM('CACHE_ASIDE', 'WRITE_THROUGH', 'WRITE_BEHIND', 'READ_THROUGH', 'REFRESH_AHEAD');--> statement-breakpoint
CREATE TYPE "public"."cache_technology" AS ENUM('MEMORY', 'REDIS', 'MEMCACHED', 'DATABASE', 'CDN', 'FILE_SYSTEM');--> statement-breakpoint
CREATE TYPE "public"."eviction_policy" AS ENUM('LRU', 'LFU', 'FIFO', 'TTL', 'RANDOM', 'CUSTOM');--> statement-breakpoint
CREATE TYPE "public"."implementation_status" AS ENUM('PENDING', 'APPROVED', 'REJECTED', 'IMPLEMENTED', 'ROLLED_BACK');--> statement-breakpoint
CREATE TYPE "public"."invalidation_strategy" AS ENUM('TTL', 'EVENT_DRIVEN', 'MANUAL', 'DEPENDENCY_BASED', 'PATTERN_BASED');--> statement-breakpoint
CREATE TYPE "public"."invalidation_type" AS ENUM('SINGLE_KEY', 'PATTERN_MATCH', 'TAG_BASED', 'DEPENDENCY_CASCADE', 'MANUAL_FLUSH', 'TTL_EXPIRY');--> statement-breakpoint
CREATE TYPE "public"."layer_name" AS ENUM('L1_APPLICATION', 'L2_REDIS', 'L3_DATABASE', 'L4_CDN', 'L5_EXTERNAL');--> statement-breakpoint
CREATE TYPE "public"."metric_type" AS ENUM('HIT_RATE', 'MISS_RATE', 'LATENCY', 'THROUGHPUT', 'MEMORY_USAGE', 'EVICTION_COUNT', 'ERROR_RATE');--> statement-breakpoint
CREATE TYPE "public"."recommendation_priority" AS ENUM('LOW', 'MEDIUM', 'HIGH', 'CRITICAL');--> statement-breakpoint
CREATE TYPE "public"."recommendation_type" AS ENUM('TTL_ADJUSTMENT', 'SIZE_ADJUSTMENT', 'EVICTION_POLICY_CHANGE', 'COMPRESSION_CHANGE', 'WARMING_CHANGE', 'BEHAVIOR_CHANGE');--> statement-breakpoint
CREATE TYPE "public"."resource_type" AS ENUM('WORKOUT', 'EXERCISE', 'PROGRAM', 'USER_PROFILE', 'MEDIA', 'TRANSLATION', 'ANALYTICS', 'SEARCH_RESULTS');--> statement-breakpoint
CREATE TYPE "public"."trigger_event" AS ENUM('RESOURCE_UPDATED', 'RESOURCE_DELETED', 'USER_ACTION', 'SYSTEM_EVENT', 'SCHEDULED', 'MANUAL');--> statement-breakpoint
CREATE TYPE "public"."user_role" AS ENUM('VIEWER', 'OPERATOR', 'ADMIN');--> statement-breakpoint
CREATE TYPE "public"."warming_job_status" AS ENUM('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED');--> statement-breakpoint
CREATE TYPE "public"."warming_type" AS ENUM('SCHEDULED', 'ON_DEMAND', 'POST_INVALIDATION', 'PREDICTIVE', 'RECOVERY');--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"name" varchar(100) NOT NULL,
	"key_prefix" varchar(16) NOT NULL,
	"key_hash" char(64) NOT NULL,
	"role" "user_role" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_key_prefix_key" UNIQUE("key_prefix"),
	CONSTRAINT "api_keys_key_hash_key" UNIQUE("key_hash"),
	CONSTRAINT "api_keys_name_not_blank" CHECK (btrim("api_keys"."name") <> ''),
	CONSTRAINT "api_keys_key_prefix_length" CHECK (char_length("api_keys"."key_prefix") >= 4),
	CONSTRAINT "api_keys_key_hash_hex" CHECK ("api_keys"."key_hash" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "api_keys_revoked_after_created" CHECK ("api_keys"."revoked_at" >= "api_keys"."created_at")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" varchar(320) NOT NULL,
	"display_name" varchar(255) NOT NULL,
	"role" "user_role" DEFAULT 'VIEWER' NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_email_key" UNIQUE("email"),
	CONSTRAINT "users_email_format" CHECK ("users"."email" = lower("users"."email") AND "users"."email" LIKE '_%@_%'),
	CONSTRAINT "users_display_name_not_blank" CHECK (btrim("users"."display_name") <> ''),
	CONSTRAINT "users_updated_after_created" CHECK ("users"."updated_at" >= "users"."created_at")
);
--> statement-breakpoint
CREATE TABLE "cache_invalidation_log" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"invalidation_type" "invalidation_type" NOT NULL,
	"cache_key_pattern" varchar(500),
	"invalidated_keys" jsonb,
	"keys_invalidated_count" integer DEFAULT 0 NOT NULL,
	"trigger_event" "trigger_event" NOT NULL,
	"trigger_resource_id" uuid,
	"trigger_resource_type" "resource_type",
	"invalidation_reason" text,
	"triggered_by" uuid,
	"invalidated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cache_invalidation_log_reason_length" CHECK (char_length("cache_invalidation_log"."invalidation_reason") <= 1000),
	CONSTRAINT "cache_invalidation_log_count_nonnegative" CHECK ("cache_invalidation_log"."keys_invalidated_count" >= 0),
	CONSTRAINT "cache_invalidation_log_keys_array" CHECK (CASE
        WHEN "cache_invalidation_log"."invalidated_keys" IS NULL THEN true
        WHEN jsonb_typeof("cache_invalidation_log"."invalidated_keys") = 'array' THEN jsonb_array_length("cache_invalidation_log"."invalidated_keys") <= "cache_invalidation_log"."keys_invalidated_count"
        ELSE false
      END),
	CONSTRAINT "cache_invalidation_log_pattern_required" CHECK ("cache_invalidation_log"."invalidation_type" NOT IN ('SINGLE_KEY', 'PATTERN_MATCH') OR "cache_invalidation_log"."cache_key_pattern" IS NOT NULL),
	CONSTRAINT "cache_invalidation_log_resource_typed" CHECK ("cache_invalidation_log"."trigger_resource_id" IS NULL OR "cache_invalidation_log"."trigger_resource_type" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "cache_key_registry" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cache_key" varchar(500) NOT NULL,
	"cache_strategy_id" uuid NOT NULL,
	"resource_type" "resource_type" NOT NULL,
	"resource_id" uuid,
	"key_metadata" jsonb,
	"data_size_bytes" bigint DEFAULT 0 NOT NULL,
	"hit_count" bigint DEFAULT 0 NOT NULL,
	"miss_count" bigint DEFAULT 0 NOT NULL,
	"last_accessed" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	CONSTRAINT "cache_key_registry_cache_key_key" UNIQUE("cache_key"),
	CONSTRAINT "cache_key_registry_key_not_blank" CHECK (btrim("cache_key_registry"."cache_key") <> ''),
	CONSTRAINT "cache_key_registry_data_size_nonnegative" CHECK ("cache_key_registry"."data_size_bytes" >= 0),
	CONSTRAINT "cache_key_registry_hit_count_nonnegative" CHECK ("cache_key_registry"."hit_count" >= 0),
	CONSTRAINT "cache_key_registry_miss_count_nonnegative" CHECK ("cache_key_registry"."miss_count" >= 0),
	CONSTRAINT "cache_key_registry_expires_after_created" CHECK ("cache_key_registry"."expires_at" > "cache_key_registry"."created_at"),
	CONSTRAINT "cache_key_registry_metadata_object" CHECK (jsonb_typeof("cache_key_registry"."key_metadata") = 'object')
);
--> statement-breakpoint
CREATE TABLE "cache_layer" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"layer_name" "layer_name" NOT NULL,
	"display_name" varchar(255) NOT NULL,
	"description" text,
	"technology" "cache_technology" NOT NULL,
	"cache_level" smallint NOT NULL,
	"max_size_bytes" bigint NOT NULL,
	"default_ttl_seconds" integer NOT NULL,
	"eviction_policy" "eviction_policy" NOT NULL,
	"connection_config" jsonb NOT NULL,
	"is_distributed" boolean DEFAULT false NOT NULL,
	"compression_enabled" boolean DEFAULT false NOT NULL,
	"encryption_enabled" boolean DEFAULT false NOT NULL,
	"created_by" uuid NOT NULL,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	CONSTRAINT "cache_layer_layer_name_key" UNIQUE("layer_name"),
	CONSTRAINT "cache_layer_description_length" CHECK (char_length("cache_layer"."description") <= 500),
	CONSTRAINT "cache_layer_cache_level_range" CHECK ("cache_layer"."cache_level" BETWEEN 1 AND 10),
	CONSTRAINT "cache_layer_max_size_positive" CHECK ("cache_layer"."max_size_bytes" > 0),
	CONSTRAINT "cache_layer_default_ttl_positive" CHECK ("cache_layer"."default_ttl_seconds" > 0),
	CONSTRAINT "cache_layer_display_name_not_blank" CHECK (btrim("cache_layer"."display_name") <> ''),
	CONSTRAINT "cache_layer_connection_config_object" CHECK (jsonb_typeof("cache_layer"."connection_config") = 'object'),
	CONSTRAINT "cache_layer_updated_after_created" CHECK ("cache_layer"."updated_at" >= "cache_layer"."created_at")
);
--> statement-breakpoint
CREATE TABLE "cache_metrics" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cache_layer_id" uuid NOT NULL,
	"cache_strategy_id" uuid,
	"metric_type" "metric_type" NOT NULL,
	"metric_value" numeric NOT NULL,
	"metric_unit" varchar(20) NOT NULL,
	"metric_date" date NOT NULL,
	"metric_hour" smallint,
	"additional_dimensions" jsonb,
	"calculated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cache_metric_period" UNIQUE NULLS NOT DISTINCT("cache_layer_id","cache_strategy_id","metric_type","metric_date","metric_hour"),
	CONSTRAINT "cache_metrics_value_nonnegative" CHECK ("cache_metrics"."metric_value" >= 0),
	CONSTRAINT "cache_metrics_hour_range" CHECK ("cache_metrics"."metric_hour" BETWEEN 0 AND 23),
	CONSTRAINT "cache_metrics_rate_percentage" CHECK ("cache_metrics"."metric_type" NOT IN ('HIT_RATE', 'MISS_RATE', 'ERROR_RATE') OR "cache_metrics"."metric_value" <= 100),
	CONSTRAINT "cache_metrics_unit_not_blank" CHECK (btrim("cache_metrics"."metric_unit") <> ''),
	CONSTRAINT "cache_metrics_dimensions_object" CHECK (jsonb_typeof("cache_metrics"."additional_dimensions") = 'object')
);
--> statement-breakpoint
CREATE TABLE "cache_strategy" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"strategy_name" varchar(100) NOT NULL,
	"resource_type" "resource_type" NOT NULL,
	"cache_key_pattern" varchar(200) NOT NULL,
	"cache_layer_id" uuid NOT NULL,
	"ttl_seconds" integer NOT NULL,
	"cache_behavior" "cache_behavior" NOT NULL,
	"warming_enabled" boolean DEFAULT false NOT NULL,
	"warming_strategy" jsonb,
	"invalidation_strategy" "invalidation_strategy" NOT NULL,
	"invalidation_rules" jsonb,
	"enable_compression" boolean DEFAULT false NOT NULL,
	"enable_encryption" boolean DEFAULT false NOT NULL,
	"strategy_configuration" jsonb,
	"created_by" uuid NOT NULL,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	CONSTRAINT "cache_strategy_strategy_name_key" UNIQUE("strategy_name"),
	CONSTRAINT "cache_strategy_ttl_positive" CHECK ("cache_strategy"."ttl_seconds" > 0),
	CONSTRAINT "cache_strategy_name_not_blank" CHECK (btrim("cache_strategy"."strategy_name") <> ''),
	CONSTRAINT "cache_strategy_key_pattern_not_blank" CHECK (btrim("cache_strategy"."cache_key_pattern") <> ''),
	CONSTRAINT "cache_strategy_warming_configured" CHECK (NOT "cache_strategy"."warming_enabled" OR "cache_strategy"."warming_strategy" IS NOT NULL),
	CONSTRAINT "cache_strategy_warming_strategy_object" CHECK (jsonb_typeof("cache_strategy"."warming_strategy") = 'object'),
	CONSTRAINT "cache_strategy_invalidation_rules_object" CHECK (jsonb_typeof("cache_strategy"."invalidation_rules") = 'object'),
	CONSTRAINT "cache_strategy_configuration_object" CHECK (jsonb_typeof("cache_strategy"."strategy_configuration") = 'object'),
	CONSTRAINT "cache_strategy_updated_after_created" CHECK ("cache_strategy"."updated_at" >= "cache_strategy"."created_at")
);
--> statement-breakpoint
CREATE TABLE "cache_optimization_recommendation" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cache_strategy_id" uuid NOT NULL,
	"recommendation_type" "recommendation_type" NOT NULL,
	"priority" "recommendation_priority" NOT NULL,
	"recommendation_description" text NOT NULL,
	"current_configuration" jsonb NOT NULL,
	"recommended_configuration" jsonb NOT NULL,
	"estimated_improvement" numeric NOT NULL,
	"improvement_metric" varchar(50) NOT NULL,
	"implementation_status" "implementation_status" DEFAULT 'PENDING' NOT NULL,
	"approved_by" uuid,
	"approved_at" timestamp with time zone,
	"implemented_at" timestamp with time zone,
	"implementation_notes" text,
	"created_by" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cache_optimization_recommendation_description_length" CHECK (char_length("cache_optimization_recommendation"."recommendation_description") BETWEEN 1 AND 1000),
	CONSTRAINT "cache_optimization_recommendation_notes_length" CHECK (char_length("cache_optimization_recommendation"."implementation_notes") <= 2000),
	CONSTRAINT "cache_optimization_recommendation_configurations_object" CHECK (jsonb_typeof("cache_optimization_recommendation"."current_configuration") = 'object' AND jsonb_typeof("cache_optimization_recommendation"."recommended_configuration") = 'object'),
	CONSTRAINT "cache_optimization_recommendation_improvement_nonnegative" CHECK ("cache_optimization_recommendation"."estimated_improvement" >= 0),
	CONSTRAINT "cache_optimization_recommendation_metric_not_blank" CHECK (btrim("cache_optimization_recommendation"."improvement_metric") <> ''),
	CONSTRAINT "cache_optimization_recommendation_approved_after_created" CHECK ("cache_optimization_recommendation"."approved_at" >= "cache_optimization_recommendation"."created_at"),
	CONSTRAINT "cache_optimization_recommendation_implemented_after_approved" CHECK ("cache_optimization_recommendation"."implemented_at" >= "cache_optimization_recommendation"."approved_at"),
	CONSTRAINT "cache_optimization_recommendation_approver_has_time" CHECK ("cache_optimization_recommendation"."approved_by" IS NULL OR "cache_optimization_recommendation"."approved_at" IS NOT NULL),
	CONSTRAINT "cache_optimization_recommendation_status_timestamps" CHECK (CASE "cache_optimization_recommendation"."implementation_status"
        WHEN 'PENDING' THEN "cache_optimization_recommendation"."approved_at" IS NULL AND "cache_optimization_recommendation"."implemented_at" IS NULL
        WHEN 'APPROVED' THEN "cache_optimization_recommendation"."approved_at" IS NOT NULL AND "cache_optimization_recommendation"."implemented_at" IS NULL
        WHEN 'REJECTED' THEN "cache_optimization_recommendation"."approved_at" IS NOT NULL AND "cache_optimization_recommendation"."implemented_at" IS NULL
        WHEN 'IMPLEMENTED' THEN "cache_optimization_recommendation"."approved_at" IS NOT NULL AND "cache_optimization_recommendation"."implemented_at" IS NOT NULL
        WHEN 'ROLLED_BACK' THEN "cache_optimization_recommendation"."approved_at" IS NOT NULL AND "cache_optimization_recommendation"."implemented_at" IS NOT NULL
      END)
);
--> statement-breakpoint
CREATE TABLE "cache_performance_alert" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cache_layer_id" uuid NOT NULL,
	"cache_strategy_id" uuid,
	"alert_type" "alert_type" NOT NULL,
	"severity" "alert_severity" NOT NULL,
	"alert_message" text NOT NULL,
	"threshold_value" numeric NOT NULL,
	"actual_value" numeric NOT NULL,
	"alert_context" jsonb,
	"alert_status" "alert_status" DEFAULT 'ACTIVE' NOT NULL,
	"acknowledged_by" uuid,
	"acknowledged_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"created_by" uuid NOT NULL,
	"triggered_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cache_performance_alert_message_length" CHECK (char_length("cache_performance_alert"."alert_message") BETWEEN 1 AND 1000),
	CONSTRAINT "cache_performance_alert_context_object" CHECK (jsonb_typeof("cache_performance_alert"."alert_context") = 'object'),
	CONSTRAINT "cache_performance_alert_acknowledged_after_triggered" CHECK ("cache_performance_alert"."acknowledged_at" >= "cache_performance_alert"."triggered_at"),
	CONSTRAINT "cache_performance_alert_resolved_after_triggered" CHECK ("cache_performance_alert"."resolved_at" >= "cache_performance_alert"."triggered_at"),
	CONSTRAINT "cache_performance_alert_acknowledger_has_time" CHECK ("cache_performance_alert"."acknowledged_by" IS NULL OR "cache_performance_alert"."acknowledged_at" IS NOT NULL),
	CONSTRAINT "cache_performance_alert_status_timestamps" CHECK (CASE "cache_performance_alert"."alert_status"
        WHEN 'ACTIVE' THEN "cache_performance_alert"."acknowledged_at" IS NULL AND "cache_performance_alert"."resolved_at" IS NULL
        WHEN 'ACKNOWLEDGED' THEN "cache_performance_alert"."acknowledged_at" IS NOT NULL AND "cache_performance_alert"."resolved_at" IS NULL
        WHEN 'RESOLVED' THEN "cache_performance_alert"."resolved_at" IS NOT NULL
      END)
);
--> statement-breakpoint
CREATE TABLE "cache_usage_pattern" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cache_strategy_id" uuid NOT NULL,
	"resource_type" "resource_type" NOT NULL,
	"access_pattern" varchar(200) NOT NULL,
	"peak_hour_start" smallint NOT NULL,
	"peak_hour_end" smallint NOT NULL,
	"average_hit_rate" numeric(5, 2) NOT NULL,
	"peak_hit_rate" numeric(5, 2) NOT NULL,
	"optimal_ttl_seconds" integer NOT NULL,
	"daily_requests" bigint DEFAULT 0 NOT NULL,
	"daily_cache_hits" bigint DEFAULT 0 NOT NULL,
	"analysis_date" date NOT NULL,
	"calculated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cache_usage_pattern_period" UNIQUE("cache_strategy_id","access_pattern","analysis_date"),
	CONSTRAINT "cache_usage_pattern_access_pattern_not_blank" CHECK (btrim("cache_usage_pattern"."access_pattern") <> ''),
	CONSTRAINT "cache_usage_pattern_peak_hours_range" CHECK ("cache_usage_pattern"."peak_hour_start" BETWEEN 0 AND 23 AND "cache_usage_pattern"."peak_hour_end" BETWEEN 0 AND 23),
	CONSTRAINT "cache_usage_pattern_hit_rates_range" CHECK ("cache_usage_pattern"."average_hit_rate" BETWEEN 0 AND 100 AND "cache_usage_pattern"."peak_hit_rate" BETWEEN 0 AND 100),
	CONSTRAINT "cache_usage_pattern_optimal_ttl_positive" CHECK ("cache_usage_pattern"."optimal_ttl_seconds" > 0),
	CONSTRAINT "cache_usage_pattern_hits_within_requests" CHECK ("cache_usage_pattern"."daily_requests" >= 0 AND "cache_usage_pattern"."daily_cache_hits" BETWEEN 0 AND "cache_usage_pattern"."daily_requests")
);
--> statement-breakpoint
CREATE TABLE "cache_warming_job" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cache_strategy_id" uuid NOT NULL,
	"job_name" varchar(200) NOT NULL,
	"warming_type" "warming_type" NOT NULL,
	"job_status" "warming_job_status" DEFAULT 'PENDING' NOT NULL,
	"total_keys" integer DEFAULT 0 NOT NULL,
	"warmed_keys" integer DEFAULT 0 NOT NULL,
	"failed_keys" integer DEFAULT 0 NOT NULL,
	"progress_percentage" numeric(5, 2) DEFAULT 0 NOT NULL,
	"scheduled_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"duration_seconds" integer,
	"failure_reason" text,
	"job_configuration" jsonb,
	"created_by" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cache_warming_job_name_not_blank" CHECK (btrim("cache_warming_job"."job_name") <> ''),
	CONSTRAINT "cache_warming_job_counts_nonnegative" CHECK ("cache_warming_job"."total_keys" >= 0 AND "cache_warming_job"."warmed_keys" >= 0 AND "cache_warming_job"."failed_keys" >= 0),
	CONSTRAINT "cache_warming_job_counts_within_total" CHECK ("cache_warming_job"."warmed_keys"::bigint + "cache_warming_job"."failed_keys" <= "cache_warming_job"."total_keys"),
	CONSTRAINT "cache_warming_job_progress_range" CHECK ("cache_warming_job"."progress_percentage" BETWEEN 0 AND 100),
	CONSTRAINT "cache_warming_job_duration_nonnegative" CHECK ("cache_warming_job"."duration_seconds" >= 0),
	CONSTRAINT "cache_warming_job_completed_after_started" CHECK ("cache_warming_job"."completed_at" >= "cache_warming_job"."started_at"),
	CONSTRAINT "cache_warming_job_failure_reason_length" CHECK (char_length("cache_warming_job"."failure_reason") <= 1000),
	CONSTRAINT "cache_warming_job_configuration_object" CHECK (jsonb_typeof("cache_warming_job"."job_configuration") = 'object'),
	CONSTRAINT "cache_warming_job_status_timestamps" CHECK (CASE "cache_warming_job"."job_status"
        WHEN 'PENDING' THEN "cache_warming_job"."started_at" IS NULL AND "cache_warming_job"."completed_at" IS NULL
        WHEN 'RUNNING' THEN "cache_warming_job"."started_at" IS NOT NULL AND "cache_warming_job"."completed_at" IS NULL
        WHEN 'COMPLETED' THEN "cache_warming_job"."started_at" IS NOT NULL AND "cache_warming_job"."completed_at" IS NOT NULL
        WHEN 'FAILED' THEN "cache_warming_job"."completed_at" IS NOT NULL AND "cache_warming_job"."failure_reason" IS NOT NULL
        WHEN 'CANCELLED' THEN "cache_warming_job"."completed_at" IS NOT NULL
      END)
);
--> statement-breakpoint
CREATE TABLE "resource_dependencies" (
	"parent_id" uuid NOT NULL,
	"child_id" uuid NOT NULL,
	"relation" varchar(50) DEFAULT 'CONTAINS' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "resource_dependencies_pkey" PRIMARY KEY("parent_id","child_id"),
	CONSTRAINT "resource_dependencies_no_self_edge" CHECK ("resource_dependencies"."parent_id" <> "resource_dependencies"."child_id"),
	CONSTRAINT "resource_dependencies_relation_format" CHECK ("resource_dependencies"."relation" ~ '^[A-Z][A-Z_]*$')
);
--> statement-breakpoint
CREATE TABLE "resources" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"resource_type" "resource_type" NOT NULL,
	"payload" jsonb NOT NULL,
	"version" bigint DEFAULT 1 NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "resources_version_positive" CHECK ("resources"."version" >= 1),
	CONSTRAINT "resources_payload_object" CHECK (jsonb_typeof("resources"."payload") = 'object'),
	CONSTRAINT "resources_tags_no_nulls" CHECK (array_position("resources"."tags", NULL) IS NULL),
	CONSTRAINT "resources_updated_after_created" CHECK ("resources"."updated_at" >= "resources"."created_at"),
	CONSTRAINT "resources_deleted_after_created" CHECK ("resources"."deleted_at" >= "resources"."created_at")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_invalidation_log" ADD CONSTRAINT "cache_invalidation_log_triggered_by_users_id_fk" FOREIGN KEY ("triggered_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_key_registry" ADD CONSTRAINT "cache_key_registry_cache_strategy_id_cache_strategy_id_fk" FOREIGN KEY ("cache_strategy_id") REFERENCES "public"."cache_strategy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_layer" ADD CONSTRAINT "cache_layer_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_layer" ADD CONSTRAINT "cache_layer_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_metrics" ADD CONSTRAINT "cache_metrics_cache_layer_id_cache_layer_id_fk" FOREIGN KEY ("cache_layer_id") REFERENCES "public"."cache_layer"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_metrics" ADD CONSTRAINT "cache_metrics_cache_strategy_id_cache_strategy_id_fk" FOREIGN KEY ("cache_strategy_id") REFERENCES "public"."cache_strategy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_strategy" ADD CONSTRAINT "cache_strategy_cache_layer_id_cache_layer_id_fk" FOREIGN KEY ("cache_layer_id") REFERENCES "public"."cache_layer"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_strategy" ADD CONSTRAINT "cache_strategy_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_strategy" ADD CONSTRAINT "cache_strategy_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_optimization_recommendation" ADD CONSTRAINT "cache_optimization_recommendation_approved_by_users_id_fk" FOREIGN KEY ("approved_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_optimization_recommendation" ADD CONSTRAINT "cache_optimization_recommendation_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_optimization_recommendation" ADD CONSTRAINT "cache_optimization_recommendation_strategy_fk" FOREIGN KEY ("cache_strategy_id") REFERENCES "public"."cache_strategy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_performance_alert" ADD CONSTRAINT "cache_performance_alert_cache_layer_id_cache_layer_id_fk" FOREIGN KEY ("cache_layer_id") REFERENCES "public"."cache_layer"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_performance_alert" ADD CONSTRAINT "cache_performance_alert_cache_strategy_id_cache_strategy_id_fk" FOREIGN KEY ("cache_strategy_id") REFERENCES "public"."cache_strategy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_performance_alert" ADD CONSTRAINT "cache_performance_alert_acknowledged_by_users_id_fk" FOREIGN KEY ("acknowledged_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_performance_alert" ADD CONSTRAINT "cache_performance_alert_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_usage_pattern" ADD CONSTRAINT "cache_usage_pattern_cache_strategy_id_cache_strategy_id_fk" FOREIGN KEY ("cache_strategy_id") REFERENCES "public"."cache_strategy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_warming_job" ADD CONSTRAINT "cache_warming_job_cache_strategy_id_cache_strategy_id_fk" FOREIGN KEY ("cache_strategy_id") REFERENCES "public"."cache_strategy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cache_warming_job" ADD CONSTRAINT "cache_warming_job_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "resource_dependencies" ADD CONSTRAINT "resource_dependencies_parent_id_resources_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."resources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "resource_dependencies" ADD CONSTRAINT "resource_dependencies_child_id_resources_id_fk" FOREIGN KEY ("child_id") REFERENCES "public"."resources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idx_api_keys_active_prefix" ON "api_keys" USING btree ("key_prefix") WHERE "api_keys"."revoked_at" IS NULL;--> statement-breakpoint
CREATE INDEX "idx_api_keys_user" ON "api_keys" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "idx_cache_invalidation_type" ON "cache_invalidation_log" USING btree ("invalidation_type","invalidated_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "idx_cache_invalidation_trigger" ON "cache_invalidation_log" USING btree ("trigger_event","trigger_resource_type","invalidated_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "idx_cache_key_strategy" ON "cache_key_registry" USING btree ("cache_strategy_id","is_active");--> statement-breakpoint
CREATE INDEX "idx_cache_key_expires" ON "cache_key_registry" USING btree ("expires_at") WHERE "cache_key_registry"."is_active" = true;--> statement-breakpoint
CREATE INDEX "idx_cache_key_resource" ON "cache_key_registry" USING btree ("resource_type","resource_id") WHERE "cache_key_registry"."resource_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "idx_cache_key_accessed" ON "cache_key_registry" USING btree ("last_accessed" DESC NULLS FIRST) WHERE "cache_key_registry"."last_accessed" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "idx_cache_layer_level" ON "cache_layer" USING btree ("cache_level","is_active");--> statement-breakpoint
CREATE INDEX "idx_cache_metrics_layer" ON "cache_metrics" USING btree ("cache_layer_id","metric_type","metric_date" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "idx_cache_metrics_strategy" ON "cache_metrics" USING btree ("cache_strategy_id","metric_type","metric_date" DESC NULLS FIRST) WHERE "cache_metrics"."cache_strategy_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "idx_cache_strategy_resource" ON "cache_strategy" USING btree ("resource_type","is_active");--> statement-breakpoint
CREATE INDEX "idx_cache_strategy_layer" ON "cache_strategy" USING btree ("cache_layer_id","cache_behavior");--> statement-breakpoint
CREATE INDEX "idx_cache_recommendation_strategy" ON "cache_optimization_recommendation" USING btree ("cache_strategy_id","implementation_status");--> statement-breakpoint
CREATE INDEX "idx_cache_recommendation_pending" ON "cache_optimization_recommendation" USING btree ("priority" DESC NULLS FIRST,"created_at") WHERE "cache_optimization_recommendation"."implementation_status" = 'PENDING';--> statement-breakpoint
CREATE INDEX "idx_cache_alert_layer" ON "cache_performance_alert" USING btree ("cache_layer_id","alert_status","triggered_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "idx_cache_alert_strategy" ON "cache_performance_alert" USING btree ("cache_strategy_id","triggered_at" DESC NULLS FIRST) WHERE "cache_performance_alert"."cache_strategy_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "idx_cache_alert_open" ON "cache_performance_alert" USING btree ("severity","triggered_at" DESC NULLS FIRST) WHERE "cache_performance_alert"."alert_status" <> 'RESOLVED';--> statement-breakpoint
CREATE INDEX "idx_cache_usage_pattern_strategy" ON "cache_usage_pattern" USING btree ("cache_strategy_id","analysis_date" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "idx_cache_usage_pattern_resource" ON "cache_usage_pattern" USING btree ("resource_type","analysis_date" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "idx_cache_warming_job_strategy" ON "cache_warming_job" USING btree ("cache_strategy_id","scheduled_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "idx_cache_warming_job_pending" ON "cache_warming_job" USING btree ("scheduled_at") WHERE "cache_warming_job"."job_status" = 'PENDING';--> statement-breakpoint
CREATE INDEX "idx_resource_dependencies_child" ON "resource_dependencies" USING btree ("child_id");--> statement-breakpoint
CREATE INDEX "idx_resources_tags" ON "resources" USING gin ("tags");--> statement-breakpoint
CREATE INDEX "idx_resources_type_id" ON "resources" USING btree ("resource_type","id") WHERE "resources"."deleted_at" IS NULL;