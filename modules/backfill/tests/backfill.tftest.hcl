# Plan-only tests of what the module builds for each mode: resources present or absent, the handler, the
# environment contract with ddb_cdc.backfill.config, the state machine definitions the sandbox interpreter and the
# handlers agree on, least-privilege grants, and the point-in-time recovery check of export mode.

mock_provider "aws" {
  override_during = plan

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

  # The real provider still validates policy arguments as JSON, so the mocked documents render a minimal valid
  # policy; their statements stay asserted.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/orders-cdc-mock"
    }
  }
}

override_resource {
  target          = aws_lambda_function.backfill
  override_during = plan
  values = {
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-backfill"
  }
}

override_resource {
  target          = aws_cloudwatch_log_group.function
  override_during = plan
  values = {
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-backfill"
  }
}

override_resource {
  target          = aws_cloudwatch_log_group.state_machine
  override_during = plan
  values = {
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vendedlogs/states/orders-cdc-backfill"
  }
}

override_resource {
  target          = aws_sfn_state_machine.backfill
  override_during = plan
  values = {
    arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders-cdc-backfill"
  }
}

override_resource {
  target          = aws_dynamodb_table.cursors
  override_during = plan
  values = {
    arn        = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-cdc-backfill-cursors"
    stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-cdc-backfill-cursors/stream/2026-11-30T00:00:00.000"
  }
}

override_resource {
  target          = aws_sqs_queue.dlq
  override_during = plan
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-backfill-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-backfill-dlq"
  }
}

variables {
  name                           = "orders-cdc"
  table_name                     = "orders"
  table_arn                      = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
  key_names                      = ["id", "timestamp"]
  stream_mapping_uuid            = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
  bucket_name                    = "acme-orders-cdc"
  bucket_arn                     = "arn:aws:s3:::acme-orders-cdc"
  lambda_zip_path                = "build/ddb_cdc.zip"
  lambda_zip_base64sha256        = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
  alarm_actions                  = ["arn:aws:sns:eu-west-1:123456789012:oncall"]
  point_in_time_recovery_enabled = true
}

run "step_functions_builds_function_state_machine_and_alarm_only" {
  command = plan

  variables {
    mode = "step_functions"
  }

  assert {
    condition = (
      aws_lambda_function.backfill.function_name == "orders-cdc-backfill" &&
      aws_lambda_function.backfill.handler == "ddb_cdc.handlers.backfill_scan.handler" &&
      aws_lambda_function.backfill.runtime == "python3.12" &&
      aws_lambda_function.backfill.timeout == 900 &&
      aws_lambda_function.backfill.memory_size == 1024 &&
      output.handler == "ddb_cdc.handlers.backfill_scan.handler"
    )
    error_message = "step_functions must run ddb_cdc.handlers.backfill_scan.handler as <name>-backfill with 900 s and 1024 MiB by default."
  }

  assert {
    condition = (
      length(aws_sfn_state_machine.backfill) == 1 &&
      length(aws_cloudwatch_metric_alarm.executions_failed) == 1 &&
      length(aws_dynamodb_table.cursors) == 0 &&
      length(aws_lambda_event_source_mapping.cursors) == 0 &&
      length(aws_sqs_queue.dlq) == 0 &&
      length(aws_cloudwatch_metric_alarm.function_errors) == 0 &&
      length(aws_cloudwatch_metric_alarm.dlq_depth) == 0 &&
      output.cursor_table_name == null &&
      output.state_machine_arn == "arn:aws:states:eu-west-1:123456789012:stateMachine:orders-cdc-backfill"
    )
    error_message = "step_functions must create the state machine and its alarm, and no cursor table, mapping or DLQ."
  }

  assert {
    condition = aws_lambda_function.backfill.environment[0].variables == tomap({
      CDC_TABLE_NAME                     = "orders"
      CDC_BUCKET                         = "acme-orders-cdc"
      CDC_PREFIX                         = "cdc"
      LOG_LEVEL                          = "INFO"
      CDC_KEY_NAMES                      = "id,timestamp"
      CDC_BACKFILL_MODE                  = "step_functions"
      CDC_STREAM_MAPPING_UUID            = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
      CDC_BACKFILL_SEGMENTS              = "8"
      CDC_BACKFILL_PAGE_SIZE             = "1000"
      CDC_BACKFILL_READ_UNITS_PER_SECOND = "200"
      CDC_BACKFILL_STATE_MACHINE_ARN     = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders-cdc-backfill"
    })
    error_message = "The step_functions environment must be exactly the spec's variables, with the state machine ARN and no cursor table."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).StartAt == "Segments" &&
      keys(jsondecode(aws_sfn_state_machine.backfill[0].definition).States) == ["AnyFailed?", "Backfill failed", "Backfill finished", "Segments", "Summarize"] &&
      keys(jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ItemProcessor.States) == ["Scan", "Segment finished", "SegmentDone?", "SegmentFailed"] &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ItemProcessor.StartAt == "Scan"
    )
    error_message = "The step_functions definition must hold the spec's states: Map over segments of Scan / SegmentDone? / Segment finished / SegmentFailed, then Summarize and a Choice to Fail or Succeed."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.Type == "Map" &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ItemsPath == "$.segments" &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.MaxConcurrency == 8 &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ResultPath == "$.results" &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.Next == "Summarize" &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ItemSelector == {
        "scan_id.$"        = "$.scan_id"
        "total_segments.$" = "$.total_segments"
        "hour_ms.$"        = "$.hour_ms"
        "segment.$"        = "$$.Map.Item.Value"
      }
    )
    error_message = "The Map must run over $.segments, at most max_concurrency at once, with the spec's ItemSelector, into $.results."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ItemProcessor.States.Scan.Resource == "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-backfill" &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ItemProcessor.States.Scan.Retry == [{
        ErrorEquals = ["States.ALL"], IntervalSeconds = 2, MaxAttempts = 6, BackoffRate = 2, MaxDelaySeconds = 60
      }] &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ItemProcessor.States.Scan.Catch == [{
        ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "SegmentFailed"
      }] &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ItemProcessor.States["SegmentDone?"].Choices == [{
        Variable = "$.done", BooleanEquals = true, Next = "Segment finished"
      }] &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ItemProcessor.States["SegmentDone?"].Default == "Scan" &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ItemProcessor.States.SegmentFailed.Parameters == {
        "segment.$" = "$.segment", failed = true, "error.$" = "$.error.Error"
      } &&
      # A finished segment passes on only what Summarize counts: 1,000 of them fit the 256 KiB state.
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Segments.ItemProcessor.States["Segment finished"].Parameters == {
        "segment.$" = "$.segment", "items.$" = "$.items", "bytes.$" = "$.bytes", done = true
      }
    )
    error_message = "Scan must call the function directly with the default retry, catch into SegmentFailed, and loop until $.done."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Summarize.Parameters == {
        action = "summarize", "scan_id.$" = "$.scan_id", "results.$" = "$.results"
      } &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States["AnyFailed?"].Choices == [{
        Variable = "$.failed[0]", IsPresent = true, Next = "Backfill failed"
      }] &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States["Backfill failed"] == {
        Type = "Fail", Error = "SegmentsFailed", CausePath = "$.cause"
      }
    )
    error_message = "Summarize must fail the execution with SegmentsFailed and the cause when a segment failed."
  }

  assert {
    condition = (
      aws_sfn_state_machine.backfill[0].name == "orders-cdc-backfill" &&
      aws_sfn_state_machine.backfill[0].type == "STANDARD" &&
      aws_sfn_state_machine.backfill[0].logging_configuration[0].include_execution_data == false &&
      aws_sfn_state_machine.backfill[0].logging_configuration[0].level == "ERROR" &&
      aws_sfn_state_machine.backfill[0].logging_configuration[0].log_destination == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vendedlogs/states/orders-cdc-backfill:*" &&
      aws_sfn_state_machine.backfill[0].tracing_configuration[0].enabled == true
    )
    error_message = "The state machine must log errors without execution data (no item keys or contents) and trace."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.state_machine[0].statement : s.resources if s.sid == "InvokeBackfillFunction"]) == toset([
        "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-backfill",
        "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-backfill:*",
      ]) &&
      one([for s in data.aws_iam_policy_document.state_machine[0].statement : s.actions if s.sid == "InvokeBackfillFunction"]) == toset(["lambda:InvokeFunction"])
    )
    error_message = "The state machine may invoke only the backfill function and its qualifiers."
  }

  assert {
    condition = (
      local.execution_failure_metrics == { failed = "ExecutionsFailed", timed_out = "ExecutionsTimedOut" } &&
      aws_cloudwatch_metric_alarm.executions_failed[0].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"]) &&
      length(output.alarm_arns) == 2
    )
    error_message = "The execution alarm must watch this machine's failed and timed-out executions and notify alarm_actions."
  }
}

run "step_functions_least_privilege_function_role" {
  command = plan

  variables {
    mode = "step_functions"
  }

  assert {
    condition = (
      toset([for s in data.aws_iam_policy_document.function.statement : s.sid]) == toset([
        "DescribeSourceTable", "ScanSourceTable", "WriteSnapshotObjects", "QuarantineUnconvertibleItems", "ReadWriteControlRecords", "ListControlRecords", "CheckStreamMapping", "WriteOwnLogs",
      ])
    )
    error_message = "Without a key, step_functions needs only Scan/Describe, its S3 prefixes, the mapping check and its logs."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "ScanSourceTable"]) == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "WriteSnapshotObjects"]) == toset(["arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.actions if s.sid == "WriteSnapshotObjects"]) == toset(["s3:PutObject"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "QuarantineUnconvertibleItems"]) == toset(["arn:aws:s3:::acme-orders-cdc/cdc/quarantine/orders/*"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "ReadWriteControlRecords"]) == toset(["arn:aws:s3:::acme-orders-cdc/cdc/backfill/orders/*"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.actions if s.sid == "ReadWriteControlRecords"]) == toset(["s3:GetObject", "s3:PutObject"]) &&
      one(one([for s in data.aws_iam_policy_document.function.statement : s.condition if s.sid == "ListControlRecords"])).values == tolist(["cdc/backfill/orders/*"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "CheckStreamMapping"]) == toset(["arn:aws:lambda:eu-west-1:123456789012:event-source-mapping:0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "WriteOwnLogs"]) == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-backfill:*"])
    )
    error_message = "Every grant must be scoped: the table, raw/<table>/, backfill/<table>/, the stream mapping's ARN and the function's own log group."
  }
}

run "kms_key_is_used_through_services_only" {
  command = plan

  variables {
    mode        = "checkpoint_table"
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "UseKeyForBucketTableFunctionsQueues"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"]) &&
      one(one([for s in data.aws_iam_policy_document.function.statement : s.condition if s.sid == "UseKeyForBucketTableFunctionsQueues"])).variable == "kms:ViaService" &&
      toset(one(one([for s in data.aws_iam_policy_document.function.statement : s.condition if s.sid == "UseKeyForBucketTableFunctionsQueues"])).values) == toset([
        "s3.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com",
      ])
    )
    error_message = "The key may be used only through S3, DynamoDB, Lambda and (checkpoint_table) SQS."
  }

  assert {
    condition = (
      aws_lambda_function.backfill.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_cloudwatch_log_group.function.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_dynamodb_table.cursors[0].server_side_encryption[0].enabled == true &&
      aws_dynamodb_table.cursors[0].server_side_encryption[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_sqs_queue.dlq[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    )
    error_message = "The key must encrypt the environment, the log group, the cursor table and the DLQ."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.dlq[0].redrive_allow_policy) == { redrivePermission = "denyAll" }
    error_message = "The DLQ receives the cursor mapping's failures directly; no queue may redrive into it."
  }
}

run "separate_keys_per_purpose_are_followed_by_the_function" {
  command = plan

  variables {
    mode        = "checkpoint_table"
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    kms_keys = {
      table  = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000e"
      bucket = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
      queues = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"
      logs   = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d"
    }
  }

  assert {
    condition = (
      aws_lambda_function.backfill.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a" &&
      aws_cloudwatch_log_group.function.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d" &&
      aws_dynamodb_table.cursors[0].server_side_encryption[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000e" &&
      aws_sqs_queue.dlq[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"
    )
    error_message = "Each purpose's key must encrypt its resources."
  }

  assert {
    condition = (
      { for s in data.aws_iam_policy_document.function.statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKey") } == {
        UseKeyForBucket    = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"]), via = tolist(["s3.eu-west-1.amazonaws.com"]) }
        UseKeyForTable     = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000e"]), via = tolist(["dynamodb.eu-west-1.amazonaws.com"]) }
        UseKeyForFunctions = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"]), via = tolist(["lambda.eu-west-1.amazonaws.com"]) }
        UseKeyForQueues    = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"]), via = tolist(["sqs.eu-west-1.amazonaws.com"]) }
      }
    )
    error_message = "The function's grants must follow the key of each thing it touches, through that service only."
  }
}

run "checkpoint_table_builds_cursor_table_mapping_dlq_and_alarms" {
  command = plan

  variables {
    mode           = "checkpoint_table"
    total_segments = 4
    max_attempts   = 3
    prefix         = ""
  }

  assert {
    condition = (
      aws_lambda_function.backfill.handler == "ddb_cdc.handlers.backfill_checkpoint.handler" &&
      length(aws_sfn_state_machine.backfill) == 0 &&
      length(aws_cloudwatch_log_group.state_machine) == 0 &&
      length(aws_iam_role.state_machine) == 0 &&
      length(aws_cloudwatch_metric_alarm.executions_failed) == 0 &&
      output.state_machine_arn == null &&
      output.cursor_table_name == "orders-cdc-backfill-cursors"
    )
    error_message = "checkpoint_table must run ddb_cdc.handlers.backfill_checkpoint.handler and build no state machine."
  }

  assert {
    condition = aws_lambda_function.backfill.environment[0].variables == tomap({
      CDC_TABLE_NAME                     = "orders"
      CDC_BUCKET                         = "acme-orders-cdc"
      CDC_PREFIX                         = ""
      LOG_LEVEL                          = "INFO"
      CDC_KEY_NAMES                      = "id,timestamp"
      CDC_BACKFILL_MODE                  = "checkpoint_table"
      CDC_STREAM_MAPPING_UUID            = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
      CDC_BACKFILL_SEGMENTS              = "4"
      CDC_BACKFILL_PAGE_SIZE             = "1000"
      CDC_BACKFILL_READ_UNITS_PER_SECOND = "200"
      CDC_BACKFILL_CURSOR_TABLE          = "orders-cdc-backfill-cursors"
      CDC_BACKFILL_MAX_ATTEMPTS          = "3"
    })
    error_message = "The checkpoint_table environment must carry the cursor table and max attempts, and no state machine ARN."
  }

  assert {
    condition = (
      aws_dynamodb_table.cursors[0].hash_key == "scan_id" &&
      aws_dynamodb_table.cursors[0].range_key == "segment" &&
      aws_dynamodb_table.cursors[0].attribute == toset([{ name = "scan_id", type = "S" }, { name = "segment", type = "N" }]) &&
      aws_dynamodb_table.cursors[0].billing_mode == "PAY_PER_REQUEST" &&
      aws_dynamodb_table.cursors[0].stream_enabled == true &&
      aws_dynamodb_table.cursors[0].stream_view_type == "NEW_IMAGE" &&
      aws_dynamodb_table.cursors[0].point_in_time_recovery[0].enabled == true &&
      aws_dynamodb_table.cursors[0].server_side_encryption[0].enabled == false
    )
    error_message = "The cursor table must key on scan_id (S) and segment (N), on demand, with a NEW_IMAGE stream and PITR."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.cursors[0].event_source_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-cdc-backfill-cursors/stream/2026-11-30T00:00:00.000" &&
      aws_lambda_event_source_mapping.cursors[0].function_name == "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-backfill" &&
      aws_lambda_event_source_mapping.cursors[0].batch_size == 1 &&
      aws_lambda_event_source_mapping.cursors[0].starting_position == "TRIM_HORIZON" &&
      aws_lambda_event_source_mapping.cursors[0].parallelization_factor == 4 &&
      aws_lambda_event_source_mapping.cursors[0].bisect_batch_on_function_error == true &&
      aws_lambda_event_source_mapping.cursors[0].maximum_retry_attempts == 2 &&
      aws_lambda_event_source_mapping.cursors[0].destination_config[0].on_failure[0].destination_arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-backfill-dlq" &&
      aws_sqs_queue.dlq[0].sqs_managed_sse_enabled == true
    )
    error_message = "The cursor mapping must deliver one record at a time from TRIM_HORIZON, parallel per segment (at most 10), into an encrypted DLQ on failure."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "UpdateCursors"]) == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders-cdc-backfill-cursors"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "ReadCursorStream"]) == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders-cdc-backfill-cursors/stream/2026-11-30T00:00:00.000"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "SendFailedCursorRecords"]) == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-cdc-backfill-dlq"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "WriteSnapshotObjects"]) == toset(["arn:aws:s3:::acme-orders-cdc/raw/orders/*"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "ScanSourceTable"]) == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders"])
    )
    error_message = "checkpoint_table adds only the cursor table, its stream and the DLQ to the role (and an empty prefix has no leading slash)."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.function_errors[0].metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.function_errors[0].dimensions.FunctionName == "orders-cdc-backfill" &&
      aws_cloudwatch_metric_alarm.dlq_depth[0].dimensions.QueueName == "orders-cdc-backfill-dlq" &&
      aws_cloudwatch_metric_alarm.dlq_depth[0].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"]) &&
      length(output.alarm_arns) == 3
    )
    error_message = "checkpoint_table must alarm on function errors and on the DLQ depth."
  }
}

run "parallelization_factor_stops_at_ten" {
  command = plan

  variables {
    mode           = "checkpoint_table"
    total_segments = 64
  }

  assert {
    condition     = aws_lambda_event_source_mapping.cursors[0].parallelization_factor == 10
    error_message = "parallelization_factor is min(10, total_segments)."
  }
}

run "export_builds_the_export_state_machine" {
  command = plan

  variables {
    mode                  = "export"
    export_poll_seconds   = 30
    max_concurrency       = 4
    page_size             = 500
    read_units_per_second = 50
    retry                 = { interval_seconds = 5, max_attempts = 3 }
  }

  assert {
    condition = (
      aws_lambda_function.backfill.handler == "ddb_cdc.handlers.backfill_export.handler" &&
      length(aws_sfn_state_machine.backfill) == 1 &&
      length(aws_dynamodb_table.cursors) == 0 &&
      length(aws_lambda_event_source_mapping.cursors) == 0 &&
      aws_lambda_function.backfill.environment[0].variables.CDC_BACKFILL_MODE == "export" &&
      aws_lambda_function.backfill.environment[0].variables.CDC_BACKFILL_STATE_MACHINE_ARN == "arn:aws:states:eu-west-1:123456789012:stateMachine:orders-cdc-backfill" &&
      aws_lambda_function.backfill.environment[0].variables.CDC_BACKFILL_PAGE_SIZE == "500" &&
      aws_lambda_function.backfill.environment[0].variables.CDC_BACKFILL_READ_UNITS_PER_SECOND == "50" &&
      !contains(keys(aws_lambda_function.backfill.environment[0].variables), "CDC_BACKFILL_CURSOR_TABLE")
    )
    error_message = "export must run ddb_cdc.handlers.backfill_export.handler with a state machine and no cursor table."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).StartAt == "StartExport" &&
      keys(jsondecode(aws_sfn_state_machine.backfill[0].definition).States) == ["AnyFailed?", "Backfill failed", "Backfill finished", "Convert", "Export failed", "ExportDone?", "ExportStatus", "StartExport", "Summarize", "WaitForExport"] &&
      keys(jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Convert.ItemProcessor.States) == ["Batch finished", "BatchDone?", "BatchFailed", "ConvertBatch"]
    )
    error_message = "The export definition must hold StartExport, WaitForExport, ExportStatus, a Choice, the Convert Map and Summarize."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.StartExport.Parameters == { action = "start", "scan_id.$" = "$.scan_id", "hour_ms.$" = "$.hour_ms" } &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.StartExport.Next == "WaitForExport" &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.WaitForExport == { Type = "Wait", Seconds = 30, Next = "ExportStatus" } &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.ExportStatus.Parameters == { action = "status", "scan_id.$" = "$.scan_id", "export_arn.$" = "$.export_arn" } &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States["ExportDone?"].Choices == [
        { Variable = "$.status", StringEquals = "COMPLETED", Next = "Convert" },
        { Variable = "$.status", StringEquals = "FAILED", Next = "Export failed" },
      ] &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States["ExportDone?"].Default == "WaitForExport" &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States["Export failed"] == { Type = "Fail", Error = "ExportFailed", CausePath = "$.export_arn" }
    )
    error_message = "The export must be started, polled every export_poll_seconds until COMPLETED (convert) or FAILED (fail)."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Convert.ItemsPath == "$.batches" &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Convert.MaxConcurrency == 4 &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Convert.ResultPath == "$.results" &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Convert.ItemSelector == {
        action             = "convert"
        "scan_id.$"        = "$.scan_id"
        "export_arn.$"     = "$.export_arn"
        "manifest_key.$"   = "$.manifest_key"
        "export_time_ms.$" = "$.export_time_ms"
        "first.$"          = "$$.Map.Item.Value.first"
        "last.$"           = "$$.Map.Item.Value.last"
      } &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Convert.ItemProcessor.States.ConvertBatch.Retry == [{
        ErrorEquals = ["States.ALL"], IntervalSeconds = 5, MaxAttempts = 3, BackoffRate = 2, MaxDelaySeconds = 60
      }] &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Convert.ItemProcessor.States["BatchDone?"].Choices[1] == {
        Variable = "$.done", BooleanEquals = true, Next = "Batch finished"
      } &&
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Convert.Next == "Summarize"
    )
    error_message = "Convert must map over $.batches with the state's export fields and loop each batch until done."
  }

  assert {
    condition = (
      toset([for s in data.aws_iam_policy_document.function.statement : s.sid]) == toset([
        "DescribeSourceTable", "ExportSourceTable", "DescribeOwnExports", "WriteExportFiles", "WriteSnapshotObjects", "QuarantineUnconvertibleItems", "ReadWriteControlRecords", "ListControlRecords", "CheckStreamMapping", "WriteOwnLogs",
      ]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.actions if s.sid == "ExportSourceTable"]) == toset(["dynamodb:ExportTableToPointInTime", "dynamodb:DescribeContinuousBackups"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "DescribeOwnExports"]) == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/*"]) &&
      one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "WriteExportFiles"]) == toset(["arn:aws:s3:::acme-orders-cdc/cdc/backfill/orders/*/export/*"])
    )
    error_message = "export may export the table and write the export's files under backfill/<table>/, and may not Scan."
  }
}

run "export_without_point_in_time_recovery_fails_with_the_cli_fix" {
  command = plan

  variables {
    mode                           = "export"
    point_in_time_recovery_enabled = false
  }

  expect_failures = [aws_lambda_function.backfill]
}

run "step_functions_does_not_need_point_in_time_recovery" {
  command = plan

  variables {
    mode                           = "step_functions"
    point_in_time_recovery_enabled = false
  }

  assert {
    condition     = length(aws_sfn_state_machine.backfill) == 1
    error_message = "Only export mode needs point-in-time recovery."
  }
}
