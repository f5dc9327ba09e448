# Plan-only tests of what the module builds for each toggle value. The mock
# provider produces computed values at plan time, so outputs and data sources
# can be asserted without AWS.

mock_provider "aws" {
  override_during = plan
}

variables {
  name                       = "orders-cdc"
  table_name                 = "orders"
  hash_key                   = { name = "pk", type = "S" }
  function_name              = "orders-cdc-s3-writer"
  on_failure_destination_arn = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-s3-writer-dlq"
}

run "creates_table_with_stream_and_mapping" {
  command = plan

  override_resource {
    target          = aws_dynamodb_table.this
    override_during = plan
    values = {
      arn        = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
      stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
    }
  }

  assert {
    condition     = length(aws_dynamodb_table.this) == 1 && length(data.aws_dynamodb_table.adopted) == 0
    error_message = "create_table = true must create one table and read none."
  }

  assert {
    condition = (
      aws_dynamodb_table.this[0].billing_mode == "PAY_PER_REQUEST" &&
      aws_dynamodb_table.this[0].stream_enabled == true &&
      aws_dynamodb_table.this[0].stream_view_type == "NEW_AND_OLD_IMAGES"
    )
    error_message = "The created table must be on-demand with a NEW_AND_OLD_IMAGES stream."
  }

  assert {
    condition = (
      aws_dynamodb_table.this[0].point_in_time_recovery[0].enabled == true &&
      aws_dynamodb_table.this[0].deletion_protection_enabled == true &&
      aws_dynamodb_table.this[0].server_side_encryption[0].enabled == true
    )
    error_message = "PITR, deletion protection and server-side encryption must be on by default."
  }

  assert {
    condition     = aws_dynamodb_table.this[0].hash_key == "pk" && aws_dynamodb_table.this[0].range_key == null
    error_message = "The table's key schema must follow hash_key/range_key."
  }

  assert {
    condition     = output.hash_key == { name = "pk", type = "S" } && output.range_key == null
    error_message = "hash_key/range_key outputs must echo the created key schema."
  }

  assert {
    condition     = output.stream_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
    error_message = "stream_arn must be the created table's stream."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream_to_writer.event_source_arn == output.stream_arn
    error_message = "The mapping must read the table's stream."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream_to_writer.function_name == "orders-cdc-s3-writer" &&
      aws_lambda_event_source_mapping.stream_to_writer.function_response_types == toset(["ReportBatchItemFailures"]) &&
      aws_lambda_event_source_mapping.stream_to_writer.destination_config[0].on_failure[0].destination_arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-s3-writer-dlq"
    )
    error_message = "The mapping must target the writer, report item failures and send given-up batches to the DLQ."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream_to_writer.batch_size == 1000 &&
      aws_lambda_event_source_mapping.stream_to_writer.maximum_batching_window_in_seconds == 5 &&
      aws_lambda_event_source_mapping.stream_to_writer.parallelization_factor == 1 &&
      aws_lambda_event_source_mapping.stream_to_writer.starting_position == "TRIM_HORIZON" &&
      aws_lambda_event_source_mapping.stream_to_writer.bisect_batch_on_function_error == true &&
      aws_lambda_event_source_mapping.stream_to_writer.maximum_retry_attempts == 10 &&
      aws_lambda_event_source_mapping.stream_to_writer.maximum_record_age_in_seconds == 86400
    )
    error_message = "stream_mapping defaults must be 1000 / 5 s / 1 / TRIM_HORIZON / bisect / 10 retries / 86400 s."
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.stream_to_writer.filter_criteria) == 0
    error_message = "Without filter_patterns the mapping must not filter."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.iterator_age.namespace == "AWS/Lambda" &&
      aws_cloudwatch_metric_alarm.iterator_age.metric_name == "IteratorAge" &&
      aws_cloudwatch_metric_alarm.iterator_age.dimensions["FunctionName"] == "orders-cdc-s3-writer" &&
      aws_cloudwatch_metric_alarm.iterator_age.statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.iterator_age.period == 300 &&
      aws_cloudwatch_metric_alarm.iterator_age.threshold == 300000 &&
      aws_cloudwatch_metric_alarm.iterator_age.comparison_operator == "GreaterThanThreshold"
    )
    error_message = "The alarm must watch the writer's maximum IteratorAge over 5 minutes against the threshold."
  }
}

run "creates_table_with_range_key_kms_and_custom_mapping" {
  command = plan

  variables {
    range_key              = { name = "sk", type = "N" }
    kms_key_arn            = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    point_in_time_recovery = false
    deletion_protection    = false
    alarm_actions          = ["arn:aws:sns:eu-west-1:123456789012:oncall"]
    stream_mapping = {
      batch_size                    = 500
      parallelization_factor        = 4
      starting_position             = "LATEST"
      maximum_retry_attempts        = -1
      maximum_record_age_in_seconds = -1
      filter_patterns               = ["{\"eventName\":[\"INSERT\",\"MODIFY\"]}", "{\"eventName\":[\"REMOVE\"]}"]
    }
    iterator_age_alarm_threshold_ms = 60000
  }

  assert {
    condition     = aws_dynamodb_table.this[0].range_key == "sk" && length(aws_dynamodb_table.this[0].attribute) == 2
    error_message = "A range key must add the sort key and its attribute definition."
  }

  assert {
    condition     = output.range_key == { name = "sk", type = "N" }
    error_message = "range_key output must echo the created sort key."
  }

  assert {
    condition     = aws_dynamodb_table.this[0].server_side_encryption[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "kms_key_arn must encrypt the table."
  }

  assert {
    condition     = aws_dynamodb_table.this[0].point_in_time_recovery[0].enabled == false && aws_dynamodb_table.this[0].deletion_protection_enabled == false
    error_message = "point_in_time_recovery and deletion_protection must follow their inputs."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream_to_writer.batch_size == 500 &&
      aws_lambda_event_source_mapping.stream_to_writer.maximum_batching_window_in_seconds == 5 &&
      aws_lambda_event_source_mapping.stream_to_writer.parallelization_factor == 4 &&
      aws_lambda_event_source_mapping.stream_to_writer.starting_position == "LATEST" &&
      aws_lambda_event_source_mapping.stream_to_writer.maximum_retry_attempts == -1 &&
      aws_lambda_event_source_mapping.stream_to_writer.maximum_record_age_in_seconds == -1
    )
    error_message = "Given stream_mapping fields must override the defaults and the others keep theirs."
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.stream_to_writer.filter_criteria) == 1 && length(aws_lambda_event_source_mapping.stream_to_writer.filter_criteria[0].filter) == 2
    error_message = "Each filter pattern must become one filter."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.iterator_age.threshold == 60000 && aws_cloudwatch_metric_alarm.iterator_age.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"])
    error_message = "The alarm must use the given threshold and notify alarm_actions."
  }
}

run "adopts_existing_table_with_new_and_old_images" {
  command = plan

  variables {
    create_table = false
    hash_key     = null
  }

  override_data {
    target          = data.aws_dynamodb_table.adopted
    override_during = plan
    values = {
      name             = "orders"
      arn              = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
      stream_arn       = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2025-06-01T00:00:00.000"
      stream_enabled   = true
      stream_view_type = "NEW_AND_OLD_IMAGES"
      hash_key         = "tenant"
      range_key        = "order_id"
      attribute = [
        { name = "tenant", type = "S" },
        { name = "order_id", type = "N" },
        { name = "gsi_pk", type = "S" },
      ]
    }
  }

  assert {
    condition     = length(aws_dynamodb_table.this) == 0 && length(data.aws_dynamodb_table.adopted) == 1
    error_message = "create_table = false must read the table, not create one."
  }

  assert {
    condition     = output.table_name == "orders" && output.table_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    error_message = "table outputs must come from the adopted table."
  }

  assert {
    condition     = output.stream_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2025-06-01T00:00:00.000"
    error_message = "stream_arn must be the adopted table's stream."
  }

  assert {
    condition     = output.hash_key == { name = "tenant", type = "S" } && output.range_key == { name = "order_id", type = "N" }
    error_message = "Key outputs must come from the adopted table's key schema and attribute types."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream_to_writer.event_source_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2025-06-01T00:00:00.000"
    error_message = "The mapping must read the adopted table's stream."
  }
}

run "adopts_existing_table_with_new_image_and_no_sort_key" {
  command = plan

  variables {
    create_table = false
  }

  override_data {
    target          = data.aws_dynamodb_table.adopted
    override_during = plan
    values = {
      name             = "orders"
      stream_enabled   = true
      stream_view_type = "NEW_IMAGE"
      hash_key         = "pk"
      range_key        = ""
      attribute        = [{ name = "pk", type = "B" }]
    }
  }

  assert {
    condition     = output.hash_key == { name = "pk", type = "B" } && output.range_key == null
    error_message = "A table without a sort key must report range_key = null."
  }
}

run "adoption_fails_when_stream_is_off" {
  command = plan

  variables {
    create_table = false
  }

  override_data {
    target          = data.aws_dynamodb_table.adopted
    override_during = plan
    values = {
      name             = "orders"
      stream_enabled   = false
      stream_view_type = ""
      hash_key         = "pk"
      attribute        = [{ name = "pk", type = "S" }]
    }
  }

  expect_failures = [data.aws_dynamodb_table.adopted]
}

run "adoption_fails_when_stream_carries_keys_only" {
  command = plan

  variables {
    create_table = false
  }

  override_data {
    target          = data.aws_dynamodb_table.adopted
    override_during = plan
    values = {
      name             = "orders"
      stream_enabled   = true
      stream_view_type = "KEYS_ONLY"
      hash_key         = "pk"
      attribute        = [{ name = "pk", type = "S" }]
    }
  }

  expect_failures = [data.aws_dynamodb_table.adopted]
}

run "creation_requires_hash_key" {
  command = plan

  variables {
    hash_key = null
  }

  expect_failures = [aws_dynamodb_table.this]
}

run "creation_rejects_range_key_equal_to_hash_key" {
  command = plan

  variables {
    range_key = { name = "pk", type = "N" }
  }

  expect_failures = [aws_dynamodb_table.this]
}
