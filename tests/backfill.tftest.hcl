# Root wiring of the backfill: off by default, one module per mode, the table's key schema and stream mapping passed
# through, every backfill.<field> rule checked where the user typed it, and export mode refused at plan time while
# point-in-time recovery is off, with the fix in this module's words. Plan-only with mock providers.

mock_provider "aws" {
  override_during = plan
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1", id = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:orders-cdc-writer-dlq"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/orders-cdc-writer-dlq"
    }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = {
      arn    = "arn:aws:s3:::orders-cdc-changes"
      bucket = "orders-cdc-changes"
    }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:orders-cdc-load-alerts" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
      key_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    }
  }
  mock_resource "aws_scheduler_schedule" {
    defaults = { arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/orders-cdc-loader" }
  }
  mock_resource "aws_lambda_event_source_mapping" {
    defaults = { uuid = "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orders-cdc-mock" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:orders-cdc-backfill" }
  }
}

mock_provider "archive" {
  mock_data "archive_file" {
    defaults = {
      output_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    }
  }
}

variables {
  name = "orders-cdc"
  table = {
    name      = "orders"
    create    = true
    hash_key  = { name = "order_id", type = "S" }
    range_key = { name = "line", type = "N" }
  }
  bucket = {
    name   = "orders-cdc-changes"
    create = true
    prefix = "cdc"
  }
  redshift = {
    kind             = "serverless"
    database         = "dev"
    workgroup_name   = "analytics"
    create_copy_role = true
  }
  target_spec = {
    schema = "cdc"
    table  = "orders"
  }
}

run "no_backfill_by_default" {
  command = plan

  assert {
    condition = (
      length(module.backfill) == 0 &&
      output.backfill_function_name == null &&
      output.backfill_state_machine_arn == null &&
      output.backfill_cursor_table_name == null &&
      output.backfill_command == null
    )
    error_message = "backfill.mode defaults to \"none\": nothing is built and every backfill output is null."
  }
}

run "step_functions_is_wired_to_the_table_mapping_bucket_and_alerts" {
  command = plan

  variables {
    backfill = { mode = "step_functions", total_segments = 16, max_concurrency = 4 }
  }

  assert {
    condition = (
      length(module.backfill) == 1 &&
      output.backfill_function_name == "orders-cdc-backfill" &&
      output.backfill_state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:orders-cdc-backfill" &&
      output.backfill_cursor_table_name == null &&
      output.backfill_command == "python -m ddb_cdc.cli backfill start --function orders-cdc-backfill"
    )
    error_message = "step_functions must build the function and the state machine, and print the start command."
  }

  assert {
    condition = (
      module.backfill[0].handler == "ddb_cdc.handlers.backfill_scan.handler" &&
      jsondecode(module.backfill[0].state_machine_definition).States.Segments.MaxConcurrency == 4
    )
    error_message = "The root's backfill knobs must reach the module."
  }
}

run "step_functions_environment_names_the_table_keys_and_mapping" {
  command = plan

  variables {
    backfill = { mode = "step_functions", total_segments = 16, page_size = 250 }
  }

  assert {
    condition = (
      module.backfill[0].backfill_prefix == "cdc/backfill/orders/" &&
      module.backfill[0].environment.CDC_TABLE_NAME == "orders" &&
      module.backfill[0].environment.CDC_BUCKET == "orders-cdc-changes" &&
      module.backfill[0].environment.CDC_PREFIX == "cdc" &&
      module.backfill[0].environment.CDC_KEY_NAMES == "order_id,line" &&
      module.backfill[0].environment.CDC_STREAM_MAPPING_UUID == "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f" &&
      module.backfill[0].environment.CDC_BACKFILL_SEGMENTS == "16" &&
      module.backfill[0].environment.CDC_BACKFILL_PAGE_SIZE == "250" &&
      module.backfill[0].environment.CDC_BACKFILL_READ_UNITS_PER_SECOND == "200"
    )
    error_message = "The backfill must use the stack's table, bucket, prefix, key schema (hash first) and stream mapping, and the root's knobs."
  }
}

run "checkpoint_table_builds_the_cursor_table" {
  command = plan

  variables {
    backfill = { mode = "checkpoint_table", max_attempts = 3 }
  }

  assert {
    condition = (
      output.backfill_cursor_table_name == "orders-cdc-backfill-cursors" &&
      output.backfill_state_machine_arn == null &&
      module.backfill[0].handler == "ddb_cdc.handlers.backfill_checkpoint.handler"
    )
    error_message = "checkpoint_table must build the cursor table and no state machine."
  }
}

run "export_with_point_in_time_recovery_on_a_created_table" {
  command = plan

  variables {
    backfill = { mode = "export", export_poll_seconds = 10 }
  }

  assert {
    condition = (
      module.ddb_stream.point_in_time_recovery_enabled == true &&
      module.backfill[0].handler == "ddb_cdc.handlers.backfill_export.handler" &&
      jsondecode(module.backfill[0].state_machine_definition).States.WaitForExport.Seconds == 10
    )
    error_message = "A created table has PITR on by default, so export mode plans."
  }
}

run "export_refused_when_a_created_table_has_point_in_time_recovery_off" {
  command = plan

  variables {
    table = {
      name                   = "orders"
      create                 = true
      hash_key               = { name = "order_id", type = "S" }
      point_in_time_recovery = false
    }
    backfill = { mode = "export" }
  }

  expect_failures = [terraform_data.backfill_needs_point_in_time_recovery]
}

run "export_refused_when_an_adopted_table_has_point_in_time_recovery_off" {
  command = plan

  variables {
    table    = { name = "orders", create = false }
    backfill = { mode = "export" }
  }

  override_data {
    target = module.ddb_stream.data.aws_dynamodb_table.adopted
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_arn             = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
      stream_enabled         = true
      stream_view_type       = "NEW_AND_OLD_IMAGES"
      hash_key               = "order_id"
      range_key              = null
      attribute              = [{ name = "order_id", type = "S" }]
      point_in_time_recovery = [{ enabled = false, recovery_period_in_days = 0 }]
    }
  }

  expect_failures = [terraform_data.backfill_needs_point_in_time_recovery]
}

run "export_on_an_adopted_table_with_point_in_time_recovery_on" {
  command = plan

  variables {
    table    = { name = "orders", create = false }
    backfill = { mode = "export" }
  }

  override_data {
    target = module.ddb_stream.data.aws_dynamodb_table.adopted
    values = {
      arn                    = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_arn             = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
      stream_enabled         = true
      stream_view_type       = "NEW_AND_OLD_IMAGES"
      hash_key               = "order_id"
      range_key              = null
      attribute              = [{ name = "order_id", type = "S" }]
      point_in_time_recovery = [{ enabled = true, recovery_period_in_days = 35 }]
    }
  }

  assert {
    condition = (
      module.ddb_stream.point_in_time_recovery_enabled == true &&
      output.backfill_state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:orders-cdc-backfill"
    )
    error_message = "An adopted table whose PITR is on must plan in export mode."
  }
}

# ---------------------------------------------------------------------------
# One run per backfill.<field> rule
# ---------------------------------------------------------------------------

run "backfill_mode_rejects_unknown" {
  command = plan
  variables {
    backfill = { mode = "zero_etl" }
  }
  expect_failures = [var.backfill]
}

run "backfill_total_segments_rejects_zero" {
  command = plan
  variables {
    backfill = { mode = "step_functions", total_segments = 0 }
  }
  expect_failures = [var.backfill]
}

run "backfill_max_concurrency_rejects_over_forty" {
  command = plan
  variables {
    backfill = { mode = "step_functions", max_concurrency = 41 }
  }
  expect_failures = [var.backfill]
}

run "backfill_page_size_rejects_over_ten_thousand" {
  command = plan
  variables {
    backfill = { mode = "step_functions", page_size = 10001 }
  }
  expect_failures = [var.backfill]
}

run "backfill_read_units_per_second_rejects_zero" {
  command = plan
  variables {
    backfill = { mode = "step_functions", read_units_per_second = 0 }
  }
  expect_failures = [var.backfill]
}

run "backfill_retry_interval_rejects_zero" {
  command = plan
  variables {
    backfill = { mode = "step_functions", retry = { interval_seconds = 0 } }
  }
  expect_failures = [var.backfill]
}

run "backfill_retry_max_attempts_rejects_negative" {
  command = plan
  variables {
    backfill = { mode = "step_functions", retry = { max_attempts = -1 } }
  }
  expect_failures = [var.backfill]
}

run "backfill_retry_backoff_rate_rejects_below_one" {
  command = plan
  variables {
    backfill = { mode = "step_functions", retry = { backoff_rate = 0.5 } }
  }
  expect_failures = [var.backfill]
}

run "backfill_retry_max_delay_rejects_zero" {
  command = plan
  variables {
    backfill = { mode = "step_functions", retry = { max_delay_seconds = 0 } }
  }
  expect_failures = [var.backfill]
}

run "backfill_export_poll_seconds_rejects_under_five" {
  command = plan
  variables {
    backfill = { mode = "export", export_poll_seconds = 1 }
  }
  expect_failures = [var.backfill]
}

run "backfill_max_attempts_rejects_zero" {
  command = plan
  variables {
    backfill = { mode = "checkpoint_table", max_attempts = 0 }
  }
  expect_failures = [var.backfill]
}

run "backfill_memory_size_rejects_too_small" {
  command = plan
  variables {
    backfill = { mode = "step_functions", memory_size = 64 }
  }
  expect_failures = [var.backfill]
}

run "backfill_timeout_rejects_under_a_minute" {
  command = plan
  variables {
    backfill = { mode = "step_functions", timeout = 30 }
  }
  expect_failures = [var.backfill]
}

run "backfill_log_level_rejects_unknown" {
  command = plan
  variables {
    backfill = { mode = "step_functions", log_level = "TRACE" }
  }
  expect_failures = [var.backfill]
}

run "backfill_log_retention_days_rejects_unsupported" {
  command = plan
  variables {
    backfill = { mode = "step_functions", log_retention_days = 10 }
  }
  expect_failures = [var.backfill]
}
