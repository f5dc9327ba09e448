# Values the root module's input validations (variables.tf) compute, so that a mistake fails at plan time in the
# names the user typed (target_spec.key_column_names, bucket.create, table.name), before any submodule sees it and
# long before a load fails with the loader's ConfigError.

locals {
  # Whole numbers the root checks before any submodule does (variables.tf), so that the error names the user's input:
  # the submodules' own limits, restated once (a validation may read a local that does not read its own variable).
  input_ranges = {
    "firehose" = {
      buffering_size_mb          = { min = 1, max = 128 }
      buffering_interval_seconds = { min = 0, max = 900 }
    }
    "writer" = {
      memory_size                    = { min = 128, max = 10240 }
      timeout                        = { min = 1, max = 900 }
      reserved_concurrent_executions = { min = 1, max = null }
    }
    "loader" = {
      max_file_failures           = { min = 1, max = 100 }
      schedule_lookback_hours     = { min = 1, max = 720 }
      lag_alarm_threshold_seconds = { min = 60, max = null }
      memory_size                 = { min = 128, max = 10240 }
      timeout                     = { min = 30, max = 900 }
      completion_memory_size      = { min = 128, max = 10240 }
      completion_timeout          = { min = 10, max = 900 }
      connect_timeout_seconds     = { min = 1, max = 120 }
      statement_timeout_ms        = { min = 1000, max = null }
    }
    "loader.s3_event" = {
      batch_size                         = { min = 1, max = 10000 }
      maximum_batching_window_in_seconds = { min = 0, max = 300 }
      max_receive_count                  = { min = 1, max = 1000 }
    }
    "loader.schedule" = {
      rate_minutes                 = { min = 1, max = 1440 }
      maximum_retry_attempts       = { min = 0, max = 185 }
      maximum_event_age_in_seconds = { min = 60, max = 86400 }
    }
    "loader.async_invocation" = {
      maximum_retry_attempts       = { min = 0, max = 2 }
      maximum_event_age_in_seconds = { min = 60, max = 21600 }
    }
  }

  # One list for the plan and the loader: ddb_cdc.warehouse.identifiers loads the same file at import
  # (tests/warehouse/test_reserved_words.py keeps both pointed at it).
  sql_reserved_words = toset(jsondecode(file("${path.module}/lambda_src/ddb_cdc/warehouse/reserved_words.json")).words)
  sql_name_pattern   = "^[A-Za-z_][A-Za-z0-9_]{0,126}$"

  # The table's key attributes, hash key first: a created table's from table.hash_key and table.range_key, an adopted
  # table's read from AWS while planning. target_spec's rules (variables.tf) derive the warehouse columns from them.
  check_key_attributes = [for key in [module.ddb_stream.hash_key, module.ddb_stream.range_key] : key if key != null]

  # ---------------------------------------------------------------------------
  # Names and descriptions derived from name, table.name, bucket.* and target_spec.*, with AWS's limits
  # ---------------------------------------------------------------------------
  # The patterns are the submodules' (modules/*/main.tf; tests/terraform/test_derived_name_checks.py keeps the
  # descriptions in step). "{name}" stands for var.name, which the check (on variable "name") substitutes: a validation
  # may not read a local value that reads its own variable. Limits, from the API references:
  # Lambda FunctionName 64 and Description 256 (CreateFunction), IAM RoleName 64 and Description 1000 (CreateRole),
  # SQS QueueName 80 (CreateQueue), Firehose DeliveryStreamName 64, EventBridge rule Name 64 and Description 512
  # (PutRule), Scheduler Name 64 and Description 512 (CreateSchedule), Step Functions name 80 (CreateStateMachine),
  # CloudWatch AlarmName 255 and AlarmDescription 1024 (PutMetricAlarm).
  check_prefix_root = var.bucket.prefix == null ? "cdc/" : (var.bucket.prefix == "" ? "" : "${var.bucket.prefix}/")
  check_raw_uri     = "s3://${var.bucket.name}/${local.check_prefix_root}raw/${var.table.name}/"
  check_target      = "${var.target_spec.schema}.${var.target_spec.table}"
  check_backfill    = try(var.backfill.mode, "none") != "none"
  check_derived = [for entry in [
    { what = "Lambda function name {name}-s3-writer", value = "{name}-s3-writer", limit = 64, when = var.aggregation == "lambda" },
    { what = "Lambda function name {name}-firehose-writer", value = "{name}-firehose-writer", limit = 64, when = var.aggregation == "firehose" },
    { what = "Lambda function name {name}-load-completion", value = "{name}-load-completion", limit = 64, when = true },
    { what = "IAM role name {name}-compaction-scheduler", value = "{name}-compaction-scheduler", limit = 64, when = var.load_strategy == "emr_compaction" },
    { what = "IAM role name {name}-raw-to-s3-delivery", value = "{name}-raw-to-s3-delivery", limit = 64, when = var.aggregation == "firehose" },
    { what = "EventBridge rule name {name}-load-completion-status", value = "{name}-load-completion-status", limit = 64, when = true },
    { what = "SQS queue name {name}-firehose-writer-dlq", value = "{name}-firehose-writer-dlq", limit = 80, when = var.aggregation == "firehose" },
    { what = "Step Functions state machine name {name}-compaction", value = "{name}-compaction", limit = 80, when = var.load_strategy == "emr_compaction" },
    {
      what  = "description of Lambda function {name}-s3-writer"
      value = "Writes change batches of DynamoDB table ${var.table.name} as gzip NDJSON under ${local.check_raw_uri}"
      limit = 256, when = var.aggregation == "lambda"
    },
    {
      what  = "description of Lambda function {name}-firehose-writer"
      value = "Puts change batches of DynamoDB table ${var.table.name} into Firehose stream {name}-raw-to-s3"
      limit = 256, when = var.aggregation == "firehose"
    },
    {
      what  = "description of Lambda function {name}-loader"
      value = "Loads ${var.table.name} changes from ${local.check_raw_uri} into Redshift ${local.check_target}"
      limit = 256, when = true
    },
    {
      what  = "description of Lambda function {name}-backfill"
      value = "Backfill (${try(var.backfill.mode, "none")}) of DynamoDB table ${var.table.name}: snapshot envelopes under ${local.check_raw_uri}"
      limit = 256, when = local.check_backfill
    },
    {
      what  = "description of IAM role {name}-loader"
      value = "Loader of ${local.check_raw_uri} into Redshift ${local.check_target}"
      limit = 1000, when = true
    },
    {
      what  = "description of IAM role {name}-redshift-copy"
      value = "Redshift COPY of ${var.table.name} changes from ${local.check_raw_uri}; associate it with the cluster or workgroup"
      limit = 1000, when = try(var.redshift.create_copy_role, false) == true
    },
    {
      what  = "description of IAM role {name}-emr-instance"
      value = "Instances of the {name}-compaction clusters: s3-dist-cp of ${local.check_raw_uri} into ${local.check_prefix_root}compacted/${var.table.name}/"
      limit = 1000, when = var.load_strategy == "emr_compaction"
    },
    {
      what  = "description of alarm {name}-backfill-items-quarantined"
      value = "The backfill of ${var.table.name} quarantined items it could not convert: see the function's log (message \"backfill item quarantined\", with each object's key under ${local.check_prefix_root}quarantine/${var.table.name}/)."
      limit = 1024, when = local.check_backfill
    },
  ] : entry if entry.when]
}
