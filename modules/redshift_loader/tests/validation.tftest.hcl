# One run per validation rule: each sets a single bad value (with whatever else
# that rule needs to apply) and expects that variable's validation to fail the plan.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  mock_data "aws_region" {
    defaults = {
      id   = "eu-west-1"
      name = "eu-west-1"
    }
  }

  # The real provider still validates policy arguments as JSON.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name                    = "orders-cdc"
  bucket_name             = "acme-orders-cdc"
  bucket_arn              = "arn:aws:s3:::acme-orders-cdc"
  table_name              = "orders"
  lambda_zip_path         = "build/ddb_cdc.zip"
  lambda_zip_base64sha256 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
  copy_role_arn           = "arn:aws:iam::123456789012:role/redshift-copy"

  target = {
    kind               = "provisioned"
    database           = "dev"
    cluster_identifier = "analytics"
    db_user            = "cdc_loader"
  }

  target_spec = {
    schema = "cdc"
    table  = "orders"
    keys   = [{ name = "order_id", type = "S" }]
  }
}

run "name_rejects_uppercase_and_underscores" {
  command = plan

  variables {
    name = "Orders_CDC"
  }

  expect_failures = [var.name]
}

run "alarm_actions_rejects_non_sns_arns" {
  command = plan

  variables {
    alarm_actions = ["oncall@example.com"]
  }

  expect_failures = [var.alarm_actions]
}

run "kms_key_arn_rejects_alias" {
  command = plan

  variables {
    kms_key_arn = "alias/cdc"
  }

  expect_failures = [var.kms_key_arn]
}

run "bucket_name_rejects_uppercase" {
  command = plan

  variables {
    bucket_name = "Acme-Orders"
  }

  expect_failures = [var.bucket_name]
}

run "bucket_arn_rejects_object_arn" {
  command = plan

  variables {
    bucket_arn = "arn:aws:s3:::acme-orders-cdc/cdc/*"
  }

  expect_failures = [var.bucket_arn]
}

run "prefix_rejects_trailing_slash" {
  command = plan

  variables {
    prefix = "cdc/"
  }

  expect_failures = [var.prefix]
}

run "table_name_rejects_short_name" {
  command = plan

  variables {
    table_name = "ab"
  }

  expect_failures = [var.table_name]
}

run "lambda_zip_path_rejects_non_zip" {
  command = plan

  variables {
    lambda_zip_path = "build/ddb_cdc.tar.gz"
  }

  expect_failures = [var.lambda_zip_path]
}

run "lambda_zip_hash_rejects_hex_digest" {
  command = plan

  variables {
    lambda_zip_base64sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
  }

  expect_failures = [var.lambda_zip_base64sha256]
}

run "ec2_cron_needs_the_host_rate" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
  }

  expect_failures = [var.ec2_cron_rate_minutes]
}

run "ec2_cron_rate_rejects_zero" {
  command = plan

  variables {
    load_strategy         = "ec2_cron"
    ec2_cron_rate_minutes = 0
  }

  expect_failures = [var.ec2_cron_rate_minutes]
}

run "ec2_cron_rate_rejects_more_than_a_day" {
  command = plan

  variables {
    load_strategy         = "ec2_cron"
    ec2_cron_rate_minutes = 1441
  }

  expect_failures = [var.ec2_cron_rate_minutes]
}

run "emr_compaction_needs_the_latest_finish" {
  command = plan

  variables {
    load_strategy = "emr_compaction"
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_target_size_rejects_zero" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { latest_finish_seconds = 6300, target_size_mb = 0 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_target_size_rejects_more_than_a_gib" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { latest_finish_seconds = 6300, target_size_mb = 1025 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_reconcile_rate_rejects_zero" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { latest_finish_seconds = 6300, reconcile_rate_minutes = 0 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_latest_finish_rejects_below_a_minute" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { latest_finish_seconds = 59 }
  }

  expect_failures = [var.emr_compaction]
}

# 3600 + 600301 + 900 would exceed the loader's 604800 s ceiling for CDC_RECONCILE_GRACE_SECONDS.
run "emr_compaction_latest_finish_rejects_beyond_the_loader_ceiling" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { latest_finish_seconds = 600301 }
  }

  expect_failures = [var.emr_compaction]
}

# Changes wait up to 3600 + 6300 + 900 = 10800 s for their compaction by design: a threshold below pages every hour.
run "emr_compaction_refuses_a_lag_threshold_below_the_compaction_wait" {
  command = plan

  variables {
    load_strategy               = "emr_compaction"
    emr_compaction              = { latest_finish_seconds = 6300 }
    lag_alarm_threshold_seconds = 1800
  }

  expect_failures = [aws_cloudwatch_metric_alarm.lag]
}

run "emr_compaction_settings_are_ignored_by_other_strategies" {
  command = plan

  variables {
    load_strategy  = "schedule"
    emr_compaction = { reconcile_rate_minutes = 30 }
  }
}

run "load_strategy_rejects_unknown_value" {
  command = plan

  variables {
    load_strategy = "kinesis"
  }

  expect_failures = [var.load_strategy]
}

run "s3_event_batch_size_above_10000_rejected" {
  command = plan

  variables {
    s3_event = { batch_size = 10001 }
  }

  expect_failures = [var.s3_event]
}

run "s3_event_window_above_300_rejected" {
  command = plan

  variables {
    s3_event = { maximum_batching_window_in_seconds = 301 }
  }

  expect_failures = [var.s3_event]
}

run "s3_event_large_batch_needs_a_window" {
  command = plan

  variables {
    s3_event = { batch_size = 100, maximum_batching_window_in_seconds = 0 }
  }

  expect_failures = [var.s3_event]
}

run "s3_event_max_receive_count_zero_rejected" {
  command = plan

  variables {
    s3_event = { max_receive_count = 0 }
  }

  expect_failures = [var.s3_event]
}

run "s3_event_reconcile_rate_above_a_day_rejected" {
  command = plan

  variables {
    s3_event = { reconcile_rate_minutes = 1441 }
  }

  expect_failures = [var.s3_event]
}

run "s3_event_reconcile_rate_fraction_rejected" {
  command = plan

  variables {
    s3_event = { reconcile_rate_minutes = 7.5 }
  }

  expect_failures = [var.s3_event]
}

run "schedule_rate_zero_rejected" {
  command = plan

  variables {
    schedule = { rate_minutes = 0 }
  }

  expect_failures = [var.schedule]
}

run "schedule_retry_attempts_above_185_rejected" {
  command = plan

  variables {
    schedule = { maximum_retry_attempts = 186 }
  }

  expect_failures = [var.schedule]
}

run "schedule_event_age_below_60_rejected" {
  command = plan

  variables {
    schedule = { maximum_event_age_in_seconds = 30 }
  }

  expect_failures = [var.schedule]
}

run "async_invocation_retries_above_2_rejected" {
  command = plan

  variables {
    async_invocation = { maximum_retry_attempts = 3 }
  }

  expect_failures = [var.async_invocation]
}

run "async_invocation_event_age_above_6_hours_rejected" {
  command = plan

  variables {
    async_invocation = { maximum_event_age_in_seconds = 21601 }
  }

  expect_failures = [var.async_invocation]
}

run "target_kind_rejects_unknown_kind" {
  command = plan

  variables {
    target = { kind = "rds", database = "dev", cluster_identifier = "analytics", db_user = "cdc_loader" }
  }

  expect_failures = [var.target]
}

run "target_database_rejects_hostile_name" {
  command = plan

  variables {
    target = { kind = "provisioned", database = "dev; drop table x", cluster_identifier = "analytics", db_user = "cdc_loader" }
  }

  expect_failures = [var.target]
}

run "target_provisioned_rejects_both_db_user_and_secret" {
  command = plan

  variables {
    target = { kind = "provisioned", database = "dev", cluster_identifier = "analytics", db_user = "cdc_loader", secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rs-AbCdEf" }
  }

  expect_failures = [var.target]
}

run "target_serverless_rejects_cluster_identifier" {
  command = plan

  variables {
    target = { kind = "serverless", database = "dev", workgroup_name = "analytics", cluster_identifier = "analytics" }
  }

  expect_failures = [var.target]
}

run "target_cluster_identifier_rejects_double_hyphen" {
  command = plan

  variables {
    target = { kind = "provisioned", database = "dev", cluster_identifier = "analytics--1", db_user = "cdc_loader" }
  }

  expect_failures = [var.target]
}

run "target_db_user_rejects_hostile_name" {
  command = plan

  variables {
    target = { kind = "provisioned", database = "dev", cluster_identifier = "analytics", db_user = "admin\"--" }
  }

  expect_failures = [var.target]
}

run "target_secret_arn_rejects_ssm_arn" {
  command = plan

  variables {
    target = { kind = "provisioned", database = "dev", cluster_identifier = "analytics", secret_arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/rs" }
  }

  expect_failures = [var.target]
}

run "target_workgroup_name_rejects_uppercase" {
  command = plan

  variables {
    target = { kind = "serverless", database = "dev", workgroup_name = "Analytics" }
  }

  expect_failures = [var.target]
}

run "executor_rejects_unknown_executor" {
  command = plan

  variables {
    executor = "jdbc"
  }

  expect_failures = [var.executor]
}

run "data_api_mode_rejects_unknown_mode" {
  command = plan

  variables {
    data_api_mode = "sync"
  }

  expect_failures = [var.data_api_mode]
}

run "db_secret_arn_rejects_non_secret_arn" {
  command = plan

  variables {
    executor           = "psycopg2"
    db_secret_arn      = "arn:aws:kms:eu-west-1:123456789012:key/abc"
    psycopg2_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:psycopg2-py312:3"
    vpc                = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
  }

  expect_failures = [var.db_secret_arn]
}

run "psycopg2_rejects_secret_and_parameter_together" {
  command = plan

  variables {
    executor             = "psycopg2"
    db_secret_arn        = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdc/db-AbCdEf"
    psycopg2_layer_arn   = "arn:aws:lambda:eu-west-1:123456789012:layer:psycopg2-py312:3"
    vpc                  = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
    db_ssm_parameter_arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/cdc/redshift"
  }

  expect_failures = [var.db_secret_arn]
}

run "db_ssm_parameter_arn_rejects_secret_arn" {
  command = plan

  variables {
    db_ssm_parameter_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdc/db-AbCdEf"
  }

  expect_failures = [var.db_ssm_parameter_arn]
}

run "psycopg2_requires_vpc" {
  command = plan

  variables {
    executor           = "psycopg2"
    db_secret_arn      = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdc/db-AbCdEf"
    psycopg2_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:psycopg2-py312:3"
  }

  expect_failures = [var.vpc]
}

run "vpc_rejects_non_subnet_ids" {
  command = plan

  variables {
    vpc = { subnet_ids = ["10.0.0.0/24"], security_group_ids = ["sg-0123456789abcdef0"] }
  }

  expect_failures = [var.vpc]
}

run "psycopg2_requires_layer" {
  command = plan

  variables {
    executor      = "psycopg2"
    db_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdc/db-AbCdEf"
    vpc           = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
  }

  expect_failures = [var.psycopg2_layer_arn]
}

run "psycopg2_layer_arn_rejects_unversioned_arn" {
  command = plan

  variables {
    psycopg2_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:psycopg2-py312"
  }

  expect_failures = [var.psycopg2_layer_arn]
}

run "connect_timeout_zero_rejected" {
  command = plan

  variables {
    connect_timeout_seconds = 0
  }

  expect_failures = [var.connect_timeout_seconds]
}

run "statement_timeout_below_one_second_rejected" {
  command = plan

  variables {
    statement_timeout_ms = 500
  }

  expect_failures = [var.statement_timeout_ms]
}

run "target_spec_rejects_hostile_table" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders;drop", keys = [{ name = "order_id", type = "S" }] }
  }

  expect_failures = [var.target_spec]
}

run "target_spec_rejects_unknown_mode" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", keys = [{ name = "order_id", type = "S" }], mode = "flat" }
  }

  expect_failures = [var.target_spec]
}

run "target_spec_rejects_three_keys" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", keys = [{ name = "a", type = "N" }, { name = "b", type = "N" }, { name = "c", type = "N" }] }
  }

  expect_failures = [var.target_spec]
}

run "target_spec_columns_mode_requires_columns" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", keys = [{ name = "order_id", type = "S" }], mode = "columns" }
  }

  expect_failures = [var.target_spec]
}

run "target_spec_document_mode_rejects_columns" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", keys = [{ name = "order_id", type = "S" }], columns = [{ name = "total", type = "BIGINT", path = ["total"] }] }
  }

  expect_failures = [var.target_spec]
}

run "target_spec_rejects_column_with_empty_path" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", keys = [{ name = "order_id", type = "S" }], mode = "columns", columns = [{ name = "total", type = "BIGINT", path = [] }] }
  }

  expect_failures = [var.target_spec]
}

run "target_spec_rejects_hostile_type" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", keys = [{ name = "order_id", type = "S" }], mode = "columns", columns = [{ name = "total", type = "BIGINT); DROP TABLE x; --", path = ["total"] }] }
  }

  expect_failures = [var.target_spec]
}

run "copy_role_arn_rejects_user_arn" {
  command = plan

  variables {
    copy_role_arn = "arn:aws:iam::123456789012:user/copy"
  }

  expect_failures = [var.copy_role_arn]
}

run "copy_role_needs_exactly_one_source" {
  command = plan

  variables {
    create_copy_role = true
  }

  expect_failures = [var.copy_role_arn]
}

run "copy_role_missing_rejected" {
  command = plan

  variables {
    copy_role_arn = null
  }

  expect_failures = [var.copy_role_arn]
}

run "sns_topic_arn_rejects_queue_arn" {
  command = plan

  variables {
    sns_topic_arn = "arn:aws:sqs:eu-west-1:123456789012:alerts"
  }

  expect_failures = [var.sns_topic_arn]
}

run "sns_topic_kms_key_arn_rejects_alias" {
  command = plan

  variables {
    sns_topic_kms_key_arn = "alias/alerts"
  }

  expect_failures = [var.sns_topic_kms_key_arn]
}

run "sns_topic_kms_key_arn_rejected_with_a_given_topic" {
  command = plan

  variables {
    sns_topic_arn         = "arn:aws:sns:eu-west-1:123456789012:data-alerts"
    sns_topic_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555"
  }

  expect_failures = [var.sns_topic_kms_key_arn]
}

run "max_file_failures_zero_rejected" {
  command = plan

  variables {
    max_file_failures = 0
  }

  expect_failures = [var.max_file_failures]
}

run "schedule_lookback_zero_rejected" {
  command = plan

  variables {
    schedule_lookback_hours = 0
  }

  expect_failures = [var.schedule_lookback_hours]
}

run "metric_namespace_rejects_aws_namespace" {
  command = plan

  variables {
    metric_namespace = "AWS/Lambda"
  }

  expect_failures = [var.metric_namespace]
}

run "lag_threshold_below_a_minute_rejected" {
  command = plan

  variables {
    lag_alarm_threshold_seconds = 30
  }

  expect_failures = [var.lag_alarm_threshold_seconds]
}

run "loader_memory_below_128_rejected" {
  command = plan

  variables {
    loader_memory_size = 64
  }

  expect_failures = [var.loader_memory_size]
}

run "loader_timeout_above_900_rejected" {
  command = plan

  variables {
    loader_timeout = 901
  }

  expect_failures = [var.loader_timeout]
}

run "completion_memory_below_128_rejected" {
  command = plan

  variables {
    completion_memory_size = 64
  }

  expect_failures = [var.completion_memory_size]
}

run "completion_timeout_below_10_rejected" {
  command = plan

  variables {
    completion_timeout = 5
  }

  expect_failures = [var.completion_timeout]
}

run "log_level_rejects_unknown_level" {
  command = plan

  variables {
    log_level = "TRACE"
  }

  expect_failures = [var.log_level]
}

run "log_retention_rejects_value_cloudwatch_lacks" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

run "target_spec_rejects_a_sql_type_as_key_type" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", keys = [{ name = "order_id", type = "VARCHAR(64)" }] }
  }

  expect_failures = [var.target_spec]
}

run "target_spec_rejects_hostile_key_column_type" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", keys = [{ name = "order_id", type = "N" }], key_column_types = { order_id = "INT); DROP TABLE x; --" } }
  }

  expect_failures = [var.target_spec]
}

run "target_spec_rejects_an_invalid_key_column_name" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "readings", keys = [{ name = "timestamp", type = "N", column = "time stamp" }] }
  }

  expect_failures = [var.target_spec]
}

run "target_spec_accepts_a_key_attribute_that_is_not_a_sql_name_when_its_column_is" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", keys = [{ name = "order-id", type = "S", column = "order_id" }] }
  }
}

run "target_spec_rejects_a_key_attribute_that_is_not_a_sql_name_without_a_column" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", keys = [{ name = "order-id", type = "S" }] }
  }

  expect_failures = [var.target_spec]
}

run "target_spec_rejects_a_key_attribute_with_a_double_quote_even_with_a_column" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", keys = [{ name = "order\"id", type = "S", column = "order_id" }] }
  }

  expect_failures = [var.target_spec]
}
