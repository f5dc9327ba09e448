# Backfill: the items that existed before the stream, read once and written to <prefix>/raw/<table>/ as snapshot
# envelopes the loader merges like any change (a snapshot never beats a streamed change). One function serves the
# three modes through its handler; step_functions and export add a state machine, checkpoint_table a cursor table
# whose stream drives the function. Nothing here starts a scan: the CLI does, after checking the stream mapping.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id

  step_functions   = var.mode == "step_functions"
  checkpoint_table = var.mode == "checkpoint_table"
  export           = var.mode == "export"
  # step_functions and export both run a state machine.
  state_machine = local.step_functions || local.export

  function_name      = "${var.name}-backfill"
  state_machine_name = "${var.name}-backfill"
  cursor_table_name  = "${var.name}-backfill-cursors"

  # Built from names, not from the resources, so that the function's environment can carry them while the state machine
  # (which names the function) and the cursor table mapping (which invokes it) still depend on the function.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_name}"
  mapping_arn       = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:event-source-mapping:${var.stream_mapping_uuid}"

  handler = {
    step_functions   = "ddb_cdc.handlers.backfill_scan.handler"
    checkpoint_table = "ddb_cdc.handlers.backfill_checkpoint.handler"
    export           = "ddb_cdc.handlers.backfill_export.handler"
  }[var.mode]

  # Contract 2 layout, normalised as in s3_sink: an empty prefix means no leading slash. The loader never looks under
  # backfill/ (progress records, scan records, the export's own files).
  prefix_root       = var.prefix == "" ? "" : "${var.prefix}/"
  raw_prefix        = "${local.prefix_root}raw/${var.table_name}/"
  backfill_prefix   = "${local.prefix_root}backfill/${var.table_name}/"
  quarantine_prefix = "${local.prefix_root}quarantine/${var.table_name}/"

  # Contract with ddb_cdc.backfill.config (backfill spec, "Lambda env"); null entries are dropped.
  environment = { for k, v in {
    CDC_TABLE_NAME                     = var.table_name
    CDC_BUCKET                         = var.bucket_name
    CDC_PREFIX                         = var.prefix
    LOG_LEVEL                          = var.log_level
    CDC_KEY_NAMES                      = join(",", var.key_names)
    CDC_BACKFILL_MODE                  = var.mode
    CDC_STREAM_MAPPING_UUID            = var.stream_mapping_uuid
    CDC_BACKFILL_SEGMENTS              = tostring(var.total_segments)
    CDC_BACKFILL_PAGE_SIZE             = tostring(var.page_size)
    CDC_BACKFILL_READ_UNITS_PER_SECOND = tostring(var.read_units_per_second)
    CDC_BACKFILL_STATE_MACHINE_ARN     = local.state_machine ? local.state_machine_arn : null
    CDC_BACKFILL_CURSOR_TABLE          = local.checkpoint_table ? local.cursor_table_name : null
    CDC_BACKFILL_MAX_ATTEMPTS          = local.checkpoint_table ? tostring(var.max_attempts) : null
  } : k => v if v != null }

  # The key of each purpose (kms_keys), kms_key_arn where none is given: the tables (the source table and the cursor
  # table), the bucket's objects, the DLQ, the log groups. The function's environment stays on kms_key_arn.
  kms = { for purpose in ["table", "bucket", "queues", "logs"] : purpose => try(coalesce(var.kms_keys[purpose], var.kms_key_arn), null) }
  queue_sse = {
    sqs_managed_sse_enabled           = local.kms.queues == null ? true : null
    kms_data_key_reuse_period_seconds = local.kms.queues == null ? null : 300
  }

  # The function's KMS grants, one statement per key, each usable only through the services that encrypt what it
  # touches with that key (kms:ViaService, "AWS KMS condition keys",
  # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
  function_kms_uses = concat(
    [
      { purpose = "bucket", key = local.kms.bucket, service = "s3" },
      { purpose = "table", key = local.kms.table, service = "dynamodb" },
      { purpose = "functions", key = var.kms_key_arn, service = "lambda" },
    ],
    local.checkpoint_table ? [{ purpose = "queues", key = local.kms.queues, service = "sqs" }] : [],
  )
  function_kms_grants = {
    for key in distinct([for use in local.function_kms_uses : use.key if use.key != null]) : key => {
      sid      = "UseKeyFor${join("", [for use in local.function_kms_uses : title(use.purpose) if use.key == key])}"
      services = distinct([for use in local.function_kms_uses : "${use.service}.${local.region}.${data.aws_partition.current.dns_suffix}" if use.key == key])
    }
  }
}

# ---------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_338:Retention is the user's choice through log_retention_days (validated against CloudWatch's values); a year of backfill logs is rarely worth its cost.
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms.logs
  tags              = var.tags
}

data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = local.function_name
  description        = "Backfill (${var.mode}) of DynamoDB table ${var.table_name} into s3://${var.bucket_name}/${local.raw_prefix}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "DescribeSourceTable"
    actions   = ["dynamodb:DescribeTable"]
    resources = [var.table_arn]
  }

  dynamic "statement" {
    for_each = local.export ? [] : ["scan"]
    content {
      sid       = "ScanSourceTable"
      actions   = ["dynamodb:Scan"]
      resources = [var.table_arn]
    }
  }

  dynamic "statement" {
    for_each = local.export ? ["export"] : []
    content {
      sid       = "ExportSourceTable"
      actions   = ["dynamodb:ExportTableToPointInTime", "dynamodb:DescribeContinuousBackups"]
      resources = [var.table_arn]
    }
  }

  # An export's ARN is <table arn>/export/<id>.
  dynamic "statement" {
    for_each = local.export ? ["describe"] : []
    content {
      sid       = "DescribeOwnExports"
      actions   = ["dynamodb:DescribeExport"]
      resources = ["${var.table_arn}/export/*"]
    }
  }

  # DynamoDB writes the export's files with the caller's permissions ("Requesting a table export in DynamoDB":
  # s3:AbortMultipartUpload, s3:PutObject, s3:PutObjectAcl), under <prefix>/backfill/<table>/<scan_id>/export/.
  dynamic "statement" {
    for_each = local.export ? ["write"] : []
    content {
      sid       = "WriteExportFiles"
      actions   = ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"]
      resources = ["${var.bucket_arn}/${local.backfill_prefix}*/export/*"]
    }
  }

  statement {
    sid       = "WriteSnapshotObjects"
    actions   = ["s3:PutObject"]
    resources = ["${var.bucket_arn}/${local.raw_prefix}*"]
  }

  # An item the envelope cannot hold is written alone under quarantine/ with its reason (contract 4), never dropped.
  statement {
    sid       = "QuarantineUnconvertibleItems"
    actions   = ["s3:PutObject"]
    resources = ["${var.bucket_arn}/${local.quarantine_prefix}*"]
  }

  statement {
    sid       = "ReadWriteControlRecords"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.bucket_arn}/${local.backfill_prefix}*"]
  }

  # Without ListBucket a missing progress record reads as 403 instead of 404.
  statement {
    sid       = "ListControlRecords"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.backfill_prefix}*"]
    }
  }

  # The precondition of every fresh scan: the stream mapping exists and is Enabled.
  statement {
    sid       = "CheckStreamMapping"
    actions   = ["lambda:GetEventSourceMapping"]
    resources = [local.mapping_arn]
  }

  dynamic "statement" {
    for_each = local.checkpoint_table ? ["cursors"] : []
    content {
      sid       = "UpdateCursors"
      actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [aws_dynamodb_table.cursors[0].arn]
    }
  }

  dynamic "statement" {
    for_each = local.checkpoint_table ? ["stream"] : []
    content {
      sid       = "ReadCursorStream"
      actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
      resources = [aws_dynamodb_table.cursors[0].stream_arn]
    }
  }

  # Lambda delivers the mapping's on-failure records with the function's role.
  dynamic "statement" {
    for_each = local.checkpoint_table ? ["dlq"] : []
    content {
      sid       = "SendFailedCursorRecords"
      actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
      resources = [aws_sqs_queue.dlq[0].arn]
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }

  # The keys serve the bucket (SSE-KMS objects and export files), the tables (source and cursors), the DLQ and the
  # function's environment; each use goes through its service.
  dynamic "statement" {
    for_each = local.function_kms_grants
    content {
      sid       = statement.value.sid
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.key]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = statement.value.services
      }
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "backfill-table"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}

resource "aws_lambda_function" "backfill" {
  #checkov:skip=CKV_AWS_116:No asynchronous invocations: Step Functions invokes synchronously and retries, the cursor table mapping has its own on-failure destination (the backfill DLQ).
  #checkov:skip=CKV_AWS_117:It only calls AWS APIs (DynamoDB, S3, Lambda) and reaches nothing inside a VPC.
  #checkov:skip=CKV_AWS_272:The zip is built from this repository by the root module in the same apply; code signing needs a signer profile and S3 upload path outside this module.
  #checkov:skip=CKV_AWS_115:Concurrency is bounded by the caller: the Map's max_concurrency, or the cursor stream's shards x parallelization factor; a reservation would only take from the account pool.
  function_name = local.function_name
  description   = "Backfill (${var.mode}) of DynamoDB table ${var.table_name}: snapshot envelopes under s3://${var.bucket_name}/${local.raw_prefix}"
  role          = aws_iam_role.function.arn

  runtime          = "python3.12"
  architectures    = ["x86_64"]
  handler          = local.handler
  filename         = var.lambda_zip_path
  source_code_hash = var.lambda_zip_base64sha256

  memory_size = var.memory_size
  timeout     = var.timeout
  kms_key_arn = var.kms_key_arn

  tracing_config {
    mode = "PassThrough"
  }

  # CDC_STREAM_MAPPING_UUID references the stream mapping, so the function, and everything that names it (the state
  # machine, the cursor mapping), is created only after the mapping exists: the stream captures changes before any
  # backfill can read a page, which is the one precondition of a correct backfill (DESIGN.md, "Backfill semantics").
  environment {
    variables = local.environment
  }

  tags = var.tags

  # The log group must exist first so Lambda does not create one without retention; the policy must be attached
  # before the cursor mapping validates the role.
  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]

  lifecycle {
    precondition {
      condition     = !local.export || var.point_in_time_recovery_enabled
      error_message = "backfill mode \"export\" needs point-in-time recovery on table ${var.table_name} (ExportTableToPointInTime reads its PITR backup), and it is off. Turn it on: aws dynamodb update-continuous-backups --table-name ${var.table_name} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"
    }
  }
}

# ---------------------------------------------------------------------------
# State machine (mode = "step_functions" or "export")
# ---------------------------------------------------------------------------

locals {
  # Every Task retries every error (throttling, Lambda errors and timeouts) with backoff before it is caught.
  task_retry = [{
    ErrorEquals     = ["States.ALL"]
    IntervalSeconds = var.retry.interval_seconds
    MaxAttempts     = var.retry.max_attempts
    BackoffRate     = var.retry.backoff_rate
    MaxDelaySeconds = var.retry.max_delay_seconds
  }]

  # The Map result holds one small record per segment; Summarize turns it into the execution's verdict, and a failed
  # segment fails the execution with every failed segment's cursor and the resume command in its cause.
  summarize_states = {
    Summarize = {
      Type     = "Task"
      Resource = aws_lambda_function.backfill.arn
      Parameters = {
        action      = "summarize"
        "scan_id.$" = "$.scan_id"
        "results.$" = "$.results"
      }
      Retry = local.task_retry
      Next  = "AnyFailed?"
    }
    "AnyFailed?" = {
      Type    = "Choice"
      Choices = [{ Variable = "$.failed[0]", IsPresent = true, Next = "Backfill failed" }]
      Default = "Backfill finished"
    }
    "Backfill failed" = {
      Type      = "Fail"
      Error     = "SegmentsFailed"
      CausePath = "$.cause"
    }
    "Backfill finished" = {
      Type = "Succeed"
    }
  }

  # Input: {"scan_id", "total_segments", "hour_ms", "segments": [...]} (start: every segment; resume: those not done).
  step_functions_definition = {
    Comment = "Backfill of ${var.table_name}: parallel-scan segments, each a loop of scan invocations that stop before the function timeout and return their cursor."
    StartAt = "Segments"
    States = merge({
      Segments = {
        Type           = "Map"
        ItemsPath      = "$.segments"
        MaxConcurrency = var.max_concurrency
        ItemSelector = {
          "scan_id.$"        = "$.scan_id"
          "total_segments.$" = "$.total_segments"
          "hour_ms.$"        = "$.hour_ms"
          "segment.$"        = "$$.Map.Item.Value"
        }
        ItemProcessor = {
          ProcessorConfig = { Mode = "INLINE" }
          StartAt         = "Scan"
          States = {
            Scan = {
              Type     = "Task"
              Resource = aws_lambda_function.backfill.arn
              Retry    = local.task_retry
              Catch    = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "SegmentFailed" }]
              Next     = "SegmentDone?"
            }
            "SegmentDone?" = {
              Type    = "Choice"
              Choices = [{ Variable = "$.done", BooleanEquals = true, Next = "Segment finished" }]
              Default = "Scan"
            }
            # Only what Summarize counts: the Map gathers every segment's result into one state, which Step Functions
            # caps at 256 KiB (1,000 segments x ~60 bytes here; a whole segment state is ~250 bytes).
            "Segment finished" = {
              Type = "Pass"
              Parameters = {
                "segment.$" = "$.segment"
                "items.$"   = "$.items"
                "bytes.$"   = "$.bytes"
                done        = true
              }
              End = true
            }
            SegmentFailed = {
              Type = "Pass"
              Parameters = {
                "segment.$" = "$.segment"
                failed      = true
                # The error's name only: its Cause (the Lambda's message and stack trace, 1-2 KB) for hundreds of
                # failed segments would pass the 256 KiB state limit, which no Catch can handle. The message stays in
                # the execution history and the function's log.
                "error.$" = "$.error.Error"
              }
              End = true
            }
          }
        }
        ResultPath = "$.results"
        Next       = "Summarize"
      }
    }, local.summarize_states)
  }

  # Input: {"scan_id", "hour_ms", ...}. The export runs inside DynamoDB; the machine polls it, then converts its data
  # files in at most total_segments batches of file indexes.
  export_definition = {
    Comment = "Backfill of ${var.table_name} through ExportTableToPointInTime: export, wait, then convert the data files into snapshot envelopes."
    StartAt = "StartExport"
    States = merge({
      StartExport = {
        Type     = "Task"
        Resource = aws_lambda_function.backfill.arn
        Parameters = {
          action      = "start"
          "scan_id.$" = "$.scan_id"
          "hour_ms.$" = "$.hour_ms"
        }
        Retry = local.task_retry
        Next  = "WaitForExport"
      }
      WaitForExport = {
        Type    = "Wait"
        Seconds = var.export_poll_seconds
        Next    = "ExportStatus"
      }
      ExportStatus = {
        Type     = "Task"
        Resource = aws_lambda_function.backfill.arn
        Parameters = {
          action         = "status"
          "scan_id.$"    = "$.scan_id"
          "export_arn.$" = "$.export_arn"
        }
        Retry = local.task_retry
        Next  = "ExportDone?"
      }
      "ExportDone?" = {
        Type = "Choice"
        Choices = [
          { Variable = "$.status", StringEquals = "COMPLETED", Next = "Convert" },
          { Variable = "$.status", StringEquals = "FAILED", Next = "Export failed" },
        ]
        Default = "WaitForExport"
      }
      # The cause is the export's ARN: `aws dynamodb describe-export --export-arn <cause>` tells why.
      "Export failed" = {
        Type      = "Fail"
        Error     = "ExportFailed"
        CausePath = "$.export_arn"
      }
      Convert = {
        Type           = "Map"
        ItemsPath      = "$.batches"
        MaxConcurrency = var.max_concurrency
        ItemSelector = {
          action             = "convert"
          "scan_id.$"        = "$.scan_id"
          "export_arn.$"     = "$.export_arn"
          "manifest_key.$"   = "$.manifest_key"
          "export_time_ms.$" = "$.export_time_ms"
          "first.$"          = "$$.Map.Item.Value.first"
          "last.$"           = "$$.Map.Item.Value.last"
        }
        ItemProcessor = {
          ProcessorConfig = { Mode = "INLINE" }
          StartAt         = "ConvertBatch"
          States = {
            ConvertBatch = {
              Type     = "Task"
              Resource = aws_lambda_function.backfill.arn
              Retry    = local.task_retry
              Catch    = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "BatchFailed" }]
              Next     = "BatchDone?"
            }
            # The first rule keeps a result without "done" in the loop instead of failing the Choice.
            "BatchDone?" = {
              Type = "Choice"
              Choices = [
                { Variable = "$.done", IsPresent = false, Next = "ConvertBatch" },
                { Variable = "$.done", BooleanEquals = true, Next = "Batch finished" },
              ]
              Default = "ConvertBatch"
            }
            # As for segments: only what Summarize counts, so 1,000 batches fit the 256 KiB state.
            "Batch finished" = {
              Type = "Pass"
              Parameters = {
                "first.$" = "$.first"
                "last.$"  = "$.last"
                "items.$" = "$.items"
                "bytes.$" = "$.bytes"
                done      = true
              }
              End = true
            }
            BatchFailed = {
              Type = "Pass"
              Parameters = {
                "first.$" = "$.first"
                "last.$"  = "$.last"
                failed    = true
                "error.$" = "$.error.Error" # the name only, as for segments
              }
              End = true
            }
          }
        }
        ResultPath = "$.results"
        Next       = "Summarize"
      }
    }, local.summarize_states)
  }

  state_machine_definition = local.step_functions ? jsonencode(local.step_functions_definition) : jsonencode(local.export_definition)
}

# Execution data (segment states, cursors: key values) stays out of the logs: include_execution_data = false.
resource "aws_cloudwatch_log_group" "state_machine" {
  count = local.state_machine ? 1 : 0

  #checkov:skip=CKV_AWS_338:Retention is the user's choice through log_retention_days (validated against CloudWatch's values); a year of backfill logs is rarely worth its cost.
  # The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's CloudWatch Logs resource policy.
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms.logs
  tags              = var.tags
}

data "aws_iam_policy_document" "states_assume_role" {
  count = local.state_machine ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  count = local.state_machine ? 1 : 0

  name               = "${local.state_machine_name}-states"
  description        = "State machine ${local.state_machine_name}: invokes ${local.function_name}"
  assume_role_policy = data.aws_iam_policy_document.states_assume_role[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "state_machine" {
  count = local.state_machine ? 1 : 0

  #checkov:skip=CKV_AWS_111:The CloudWatch Logs delivery actions and X-Ray accept no resource ARN ("Logging using CloudWatch Logs", Step Functions developer guide); every other grant is scoped.
  #checkov:skip=CKV_AWS_356:The CloudWatch Logs delivery actions and X-Ray accept no resource ARN; every other grant is scoped.
  statement {
    sid       = "InvokeBackfillFunction"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.backfill.arn, "${aws_lambda_function.backfill.arn}:*"]
  }

  statement {
    sid = "DeliverExecutionLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "state_machine" {
  count = local.state_machine ? 1 : 0

  name   = "run-backfill"
  role   = aws_iam_role.state_machine[0].id
  policy = data.aws_iam_policy_document.state_machine[0].json
}

resource "aws_sfn_state_machine" "backfill" {
  count = local.state_machine ? 1 : 0

  #checkov:skip=CKV_AWS_285:Execution data holds segment cursors (item keys) and errors; contract 4 keeps item contents out of logs. Step Functions keeps each execution's full history for 90 days anyway (GetExecutionHistory).

  name       = local.state_machine_name
  role_arn   = aws_iam_role.state_machine[0].arn
  type       = "STANDARD"
  definition = local.state_machine_definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine[0].arn}:*"
    include_execution_data = false
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = true
  }

  tags = var.tags

  # Step Functions checks the role's log delivery permissions when the machine is created.
  depends_on = [aws_iam_role_policy.state_machine]
}

locals {
  execution_failure_metrics = { failed = "ExecutionsFailed", timed_out = "ExecutionsTimedOut" }
}

resource "aws_cloudwatch_metric_alarm" "executions_failed" {
  count = local.state_machine ? 1 : 0

  alarm_name        = "${local.state_machine_name}-executions-failed"
  alarm_description = "A backfill execution of ${local.state_machine_name} failed or timed out (segments that kept failing after their retries, or a failed export). Its output names each failed segment, its cursor and the resume command: python -m ddb_cdc.cli backfill status --function ${local.function_name}."

  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  # Step Functions publishes these metrics only for periods with executions: no datapoint means no failure.
  treat_missing_data = "notBreaching"

  metric_query {
    id          = "failed_or_timed_out"
    expression  = "FILL(failed, 0) + FILL(timed_out, 0)"
    label       = "Executions failed or timed out"
    return_data = true
  }

  # Aborted executions are someone's decision (cancel), not a failure.
  dynamic "metric_query" {
    for_each = local.execution_failure_metrics
    content {
      id = metric_query.key

      metric {
        namespace   = "AWS/States"
        metric_name = metric_query.value
        dimensions  = { StateMachineArn = aws_sfn_state_machine.backfill[0].arn }
        stat        = "Sum"
        period      = 300
      }
    }
  }

  alarm_actions = var.alarm_actions
  tags          = var.tags
}

# ---------------------------------------------------------------------------
# Cursor table (mode = "checkpoint_table")
# ---------------------------------------------------------------------------

# One item per segment: the CLI writes RUNNING items, each of whose stream records invokes the function, which writes
# the next cursor (RUNNING again, hence the next invocation) or DONE. Status, resume and cancel read and write it.
resource "aws_dynamodb_table" "cursors" {
  count = local.checkpoint_table ? 1 : 0

  #checkov:skip=CKV_AWS_119:Encrypted with kms_key_arn whenever one is given; without it the AWS owned key protects a few cursors of a control table.
  name             = local.cursor_table_name
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "scan_id"
  range_key        = "segment"
  stream_enabled   = true
  stream_view_type = "NEW_IMAGE"

  attribute {
    name = "scan_id"
    type = "S"
  }

  attribute {
    name = "segment"
    type = "N"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = local.kms.table != null
    kms_key_arn = local.kms.table
  }

  tags = var.tags
}

resource "aws_sqs_queue" "dlq" {
  count = local.checkpoint_table ? 1 : 0

  name                              = "${local.function_name}-dlq"
  message_retention_seconds         = 1209600 # 14 days, the SQS maximum: time to inspect and resume
  sqs_managed_sse_enabled           = local.queue_sse.sqs_managed_sse_enabled
  kms_master_key_id                 = local.kms.queues
  kms_data_key_reuse_period_seconds = local.queue_sse.kms_data_key_reuse_period_seconds

  # The cursor mapping's on-failure destination sends here directly; no queue redrives into it, so none may
  # ("RedriveAllowPolicy", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html).
  redrive_allow_policy = jsonencode({ redrivePermission = "denyAll" })

  tags = var.tags
}

# One record per invocation: each carries one segment's cursor. The handler itself retries and marks a segment
# FAILED after max_attempts, so the mapping's own retries only cover crashes and timeouts; then the record goes to
# the DLQ and `backfill resume` restarts the segment from its stored cursor (a RUNNING item that has not moved for
# longer than any invocation can last counts as stuck). TRIM_HORIZON, not LATEST: a new mapping may take a while to
# start polling, and LATEST would skip the items `backfill start` writes in that window; older records (an earlier
# scan's) are harmless, since an invocation runs only if its item is still RUNNING at the record's page.
resource "aws_lambda_event_source_mapping" "cursors" {
  count = local.checkpoint_table ? 1 : 0

  event_source_arn               = aws_dynamodb_table.cursors[0].stream_arn
  function_name                  = aws_lambda_function.backfill.arn
  starting_position              = "TRIM_HORIZON"
  batch_size                     = 1
  parallelization_factor         = min(10, var.total_segments)
  bisect_batch_on_function_error = true
  maximum_retry_attempts         = 2
  function_response_types        = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.dlq[0].arn
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  count = local.checkpoint_table ? 1 : 0

  alarm_name        = "${local.function_name}-errors"
  alarm_description = "Backfill function ${local.function_name} failed invocations; the cursor mapping retries twice, then the record goes to ${aws_sqs_queue.dlq[0].name}. python -m ddb_cdc.cli backfill status --function ${local.function_name} shows the segments."

  namespace   = "AWS/Lambda"
  metric_name = "Errors"
  dimensions = {
    FunctionName = aws_lambda_function.backfill.function_name
  }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = var.alarm_actions
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  count = local.checkpoint_table ? 1 : 0

  alarm_name        = "${local.function_name}-dlq-not-empty"
  alarm_description = "Cursor records the backfill gave up on wait in ${aws_sqs_queue.dlq[0].name}; their segments stopped. Resume them: python -m ddb_cdc.cli backfill resume --function ${local.function_name}."

  namespace   = "AWS/SQS"
  metric_name = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = aws_sqs_queue.dlq[0].name
  }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  # An idle empty queue stops reporting, a non-empty one does not.
  treat_missing_data = "notBreaching"

  alarm_actions = var.alarm_actions
  tags          = var.tags
}

# Contract 4: an item the envelope cannot hold is written alone under quarantine/ with its reason; this alarm makes
# sure a person hears of it (the log line names the reason and the object, never the item).
resource "aws_cloudwatch_log_metric_filter" "quarantined_items" {
  name           = "${local.function_name}-quarantined-items"
  log_group_name = aws_cloudwatch_log_group.function.name
  pattern        = "{ $.message = \"backfill item quarantined\" }"

  metric_transformation {
    name          = "BackfillItemsQuarantined"
    namespace     = "DdbCdc/Backfill"
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "quarantined_items" {
  alarm_name        = "${local.function_name}-items-quarantined"
  alarm_description = "The backfill of ${var.table_name} quarantined items it could not convert: see the function's log (message \"backfill item quarantined\", with each object's key under ${local.quarantine_prefix})."

  namespace           = "DdbCdc/Backfill"
  metric_name         = aws_cloudwatch_log_metric_filter.quarantined_items.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = var.alarm_actions
  tags          = var.tags
}
