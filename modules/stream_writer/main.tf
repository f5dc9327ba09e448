# The stream writer: a Lambda function that reads the table's stream and writes change envelopes to their destination,
# with its role, log group, DLQ and alarms. destination = "s3" puts one gzip NDJSON object per batch under
# <prefix>/raw/<table>/ (handler stream_to_s3); destination = "firehose" puts the envelopes into a delivery stream that
# buffers them into larger objects (handler stream_to_firehose). Every name, statement and text below is what the
# s3_sink and firehose modules wrote before this module existed, so the root's moved blocks (moved.tf) carry existing
# writers over without a change on AWS.

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  s3       = var.destination == "s3"
  firehose = var.destination == "firehose"

  # <name>-s3-writer or <name>-firehose-writer.
  writer_name = "${var.name}-${var.destination}-writer"

  # Contract 2 layout, normalised once: an empty prefix means no leading slash.
  prefix_root       = var.prefix == "" ? "" : "${var.prefix}/"
  raw_prefix        = "${local.prefix_root}raw/${var.table_name}/"
  quarantine_prefix = "${local.prefix_root}quarantine/${var.table_name}/"

  # The texts differ by destination; checks.tf measures both against AWS's limits (tests/terraform/test_derived_name_checks.py).
  function_description = (local.s3
    ? "Writes change batches of DynamoDB table ${var.table_name} as gzip NDJSON under s3://${var.bucket_name}/${local.raw_prefix}"
    : "Puts change batches of DynamoDB table ${var.table_name} into Firehose stream ${var.delivery_stream.name}"
  )
  role_description = (local.s3
    ? "Writer of DynamoDB table ${var.table_name} changes to s3://${var.bucket_name}/${local.raw_prefix}"
    : "Writer of DynamoDB table ${var.table_name} changes to Firehose stream ${var.delivery_stream.name}"
  )

  handler     = local.s3 ? "ddb_cdc.handlers.stream_to_s3.handler" : "ddb_cdc.handlers.stream_to_firehose.handler"
  policy_name = local.s3 ? "write-cdc-objects" : "put-cdc-records"

  # The handler contract of each destination (lambda_src/ddb_cdc/handlers).
  environment = local.s3 ? {
    CDC_BUCKET     = var.bucket_name
    CDC_PREFIX     = var.prefix
    CDC_TABLE_NAME = var.table_name
    CDC_DLQ_URL    = aws_sqs_queue.dlq.url
    LOG_LEVEL      = var.log_level
    } : {
    CDC_DELIVERY_STREAM = var.delivery_stream.name
    CDC_TABLE_NAME      = var.table_name
    CDC_DLQ_URL         = aws_sqs_queue.dlq.url
    CDC_BUCKET          = var.bucket_name
    CDC_PREFIX          = var.prefix
    LOG_LEVEL           = var.log_level
  }

  # What the writer puts where, before the statements both destinations share.
  destination_statements = local.s3 ? [
    {
      sid       = "WriteRawAndQuarantineObjects"
      actions   = ["s3:PutObject"]
      resources = ["${var.bucket_arn}/${local.raw_prefix}*", "${var.bucket_arn}/${local.quarantine_prefix}*"]
    },
    ] : [
    {
      sid       = "PutRecordsToDeliveryStream"
      actions   = ["firehose:PutRecordBatch"]
      resources = [var.delivery_stream.arn]
    },
    {
      sid       = "SpillQuarantinedRecords"
      actions   = ["s3:PutObject"]
      resources = ["${var.bucket_arn}/${local.quarantine_prefix}*"]
    },
    # An envelope over Firehose's 1,000 KiB record limit is written to the raw prefix on its own (the loader loads
    # it like any other raw object) instead of being quarantined.
    {
      sid       = "WriteOversizeEnvelopes"
      actions   = ["s3:PutObject"]
      resources = ["${var.bucket_arn}/${local.raw_prefix}*"]
    },
  ]

  # The key of each purpose (kms_keys), kms_key_arn where none is given. The writer's environment stays on kms_key_arn.
  kms = { for purpose in ["table", "bucket", "queues", "logs"] : purpose => try(coalesce(var.kms_keys[purpose], var.kms_key_arn), null) }
  # The writer's KMS grants, one statement per key, each usable only through the services that encrypt what the writer
  # touches with it (kms:ViaService, "AWS KMS condition keys",
  # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service): the table's
  # stream through DynamoDB, the objects through S3, the DLQ through SQS (and the delivery stream, which buffers
  # records like a queue and takes the queues' key, through Firehose), the environment through Lambda.
  writer_kms_uses = concat(
    [
      { purpose = "table", key = local.kms.table, service = "dynamodb" },
      { purpose = "bucket", key = local.kms.bucket, service = "s3" },
      { purpose = "queues", key = local.kms.queues, service = "sqs" },
    ],
    local.firehose ? [{ purpose = "queues", key = local.kms.queues, service = "firehose" }] : [],
    [{ purpose = "functions", key = var.kms_key_arn, service = "lambda" }],
  )
  writer_kms_grants = {
    for key in distinct([for use in local.writer_kms_uses : use.key if use.key != null]) : key => {
      sid      = "UseKeyFor${join("", distinct([for use in local.writer_kms_uses : title(use.purpose) if use.key == key]))}"
      services = distinct([for use in local.writer_kms_uses : "${use.service}.${data.aws_region.current.id}.${data.aws_partition.current.dns_suffix}" if use.key == key])
    }
  }
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${local.writer_name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the SQS maximum: time to inspect and replay

  sqs_managed_sse_enabled           = local.kms.queues == null ? true : null
  kms_master_key_id                 = local.kms.queues
  kms_data_key_reuse_period_seconds = local.kms.queues == null ? null : 300

  # The stream mapping's on-failure destination and the writer send here directly; no queue redrives into it, so none
  # may ("RedriveAllowPolicy", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html).
  redrive_allow_policy = jsonencode({ redrivePermission = "denyAll" })

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the user's choice through log_retention_days (validated against CloudWatch's values); a year of writer logs is rarely worth its cost.
  name              = "/aws/lambda/${local.writer_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms.logs
  tags              = var.tags
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = local.writer_name
  description        = local.role_description
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = local.destination_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  statement {
    sid       = "SendToDeadLetterQueue"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid = "ReadTableStream"
    actions = [
      "dynamodb:DescribeStream",
      "dynamodb:GetRecords",
      "dynamodb:GetShardIterator",
      "dynamodb:ListStreams",
    ]
    resources = [var.stream_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = local.writer_kms_grants
    content {
      sid       = statement.value.sid
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.key]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = statement.value.services
      }
    }
  }

  # X-Ray accepts no resource-level scoping, so Active tracing needs "*".
  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? ["xray"] : []
    content {
      sid       = "WriteTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = local.policy_name
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:The stream mapping invokes the writer synchronously; failed batches go to the mapping's on-failure destination (this DLQ), not to an async dead_letter_config.
  #checkov:skip=CKV_AWS_117:The writer only calls AWS APIs (DynamoDB Streams, S3, Firehose, SQS) and reaches nothing inside a VPC.
  #checkov:skip=CKV_AWS_272:The zip is built from this repository by the root module in the same apply; code signing needs a signer profile and S3 upload path outside this module.
  function_name = local.writer_name
  description   = local.function_description
  role          = aws_iam_role.this.arn

  runtime          = "python3.12"
  handler          = local.handler
  filename         = var.lambda_zip_path
  source_code_hash = var.lambda_zip_base64sha256

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn

  tracing_config {
    mode = var.tracing_mode
  }

  environment {
    variables = local.environment
  }

  tags = var.tags

  # The log group must exist first so Lambda does not create one without
  # retention; the policy must be attached before the stream mapping validates it.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name        = "${local.writer_name}-errors"
  alarm_description = "Writer ${local.writer_name} failed invocations; the stream mapping retries, bisects, then sends the batch to ${aws_sqs_queue.dlq.name}."

  namespace   = "AWS/Lambda"
  metric_name = "Errors"
  dimensions = {
    FunctionName = aws_lambda_function.this.function_name
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
  alarm_name        = "${local.writer_name}-dlq-not-empty"
  alarm_description = "Messages wait in ${aws_sqs_queue.dlq.name}: quarantined records or batches the stream mapping gave up on. Inspect and replay them."

  namespace   = "AWS/SQS"
  metric_name = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = aws_sqs_queue.dlq.name
  }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = var.alarm_actions
  tags          = var.tags
}
