# Firehose aggregation: a writer Lambda reads the table's stream and puts
# envelopes into a delivery stream, which buffers them into large gzip objects
# under <prefix>/raw/<table>/YYYY/MM/DD/HH/. Same failure wiring as the S3
# writer: DLQ for quarantined records and given-up batches, alarms on errors,
# DLQ depth and delivery freshness.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  # The key of each purpose (kms_keys), kms_key_arn where none is given. The delivery stream buffers records like a
  # queue, so it takes the queues' key; the writer's environment stays on kms_key_arn.
  kms = { for purpose in ["table", "bucket", "queues", "logs"] : purpose => try(coalesce(var.kms_keys[purpose], var.kms_key_arn), null) }
  # KMS grants per role, one statement per key, each usable only through the services that encrypt what the role
  # touches with it (kms:ViaService, "AWS KMS condition keys",
  # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
  kms_uses = {
    delivery = [{ purpose = "bucket", key = local.kms.bucket, service = "s3" }]
    writer = [
      { purpose = "table", key = local.kms.table, service = "dynamodb" },
      { purpose = "bucket", key = local.kms.bucket, service = "s3" },
      { purpose = "queues", key = local.kms.queues, service = "sqs" },
      { purpose = "queues", key = local.kms.queues, service = "firehose" },
      { purpose = "functions", key = var.kms_key_arn, service = "lambda" },
    ]
  }
  kms_grants = { for role, uses in local.kms_uses : role => {
    for key in distinct([for use in uses : use.key if use.key != null]) : key => {
      sid      = "UseKeyFor${join("", distinct([for use in uses : title(use.purpose) if use.key == key]))}"
      services = distinct([for use in uses : "${use.service}.${data.aws_region.current.id}.${data.aws_partition.current.dns_suffix}" if use.key == key])
    }
  } }

  # Contract 2 layout, normalised once: an empty prefix means no leading slash.
  prefix_root       = var.prefix == "" ? "" : "${var.prefix}/"
  raw_prefix        = "${local.prefix_root}raw/${var.table_name}/"
  quarantine_prefix = "${local.prefix_root}quarantine/${var.table_name}/"
  errors_prefix     = "${local.prefix_root}firehose-errors/${var.table_name}/"

  bucket_name = element(split(":::", var.bucket_arn), 1)

  delivery_stream_name = "${var.name}-raw-to-s3"
  writer_name          = "${var.name}-firehose-writer"

  # Firehose stamps the hour it receives a record, close to (not equal to) the
  # record's creation hour; the loader's ledger makes the difference harmless.
  hour_partition = "!{timestamp:yyyy/MM/dd/HH}/"

  freshness_threshold_seconds = var.buffering_interval * 2 + 60
}

# ---------------------------------------------------------------------------
# Delivery stream
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "firehose" {
  #checkov:skip=CKV_AWS_338:Retention is the user's choice through log_retention_days (validated against CloudWatch's values); a year of delivery logs is rarely worth its cost.
  name              = "/aws/kinesisfirehose/${local.delivery_stream_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms.logs
  tags              = var.tags
}

resource "aws_cloudwatch_log_stream" "firehose_delivery" {
  name           = "DestinationDelivery"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

data "aws_iam_policy_document" "firehose_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }

    # Only Firehose acting for this account may assume the role.
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name               = "${local.delivery_stream_name}-delivery"
  description        = "Firehose delivery of DynamoDB table ${var.table_name} changes to s3://${local.bucket_name}/${local.raw_prefix}"
  assume_role_policy = data.aws_iam_policy_document.firehose_assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "firehose" {
  statement {
    sid = "LocateBucket"
    actions = [
      "s3:GetBucketLocation",
      "s3:ListBucketMultipartUploads",
    ]
    resources = [var.bucket_arn]
  }

  # Listing is limited to the prefixes the stream writes (s3:prefix, "Actions, resources, and condition keys for
  # Amazon S3", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html). IfExists,
  # because HeadBucket is authorized as s3:ListBucket and carries no prefix: Firehose's own example policy grants
  # ListBucket unconditioned, and a HeadBucket it makes must not be denied. A listing with a prefix outside these is.
  statement {
    sid       = "ListOwnPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLikeIfExists"
      variable = "s3:prefix"
      values   = ["${local.raw_prefix}*", "${local.errors_prefix}*"]
    }
  }

  statement {
    sid = "WriteRawAndErrorObjects"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = [
      "${var.bucket_arn}/${local.raw_prefix}*",
      "${var.bucket_arn}/${local.errors_prefix}*",
    ]
  }

  statement {
    sid       = "WriteDeliveryLogs"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose.arn}:log-stream:${aws_cloudwatch_log_stream.firehose_delivery.name}"]
  }

  dynamic "statement" {
    for_each = local.kms_grants.delivery
    content {
      sid       = "EncryptObjectsThroughS3"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.key]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = statement.value.services
      }
    }
  }
}

resource "aws_iam_role_policy" "firehose" {
  name   = "deliver-cdc-objects"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}

resource "aws_kinesis_firehose_delivery_stream" "this" {
  #checkov:skip=CKV_AWS_241:CUSTOMER_MANAGED_CMK with the queues' key (kms_keys.queues, else kms_key_arn) whenever one is given; without a key the whole stack uses AWS-owned keys.
  name        = local.delivery_stream_name
  destination = "extended_s3"

  server_side_encryption {
    enabled  = true
    key_type = local.kms.queues == null ? "AWS_OWNED_CMK" : "CUSTOMER_MANAGED_CMK"
    key_arn  = local.kms.queues
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = var.bucket_arn
    prefix              = "${local.raw_prefix}${local.hour_partition}"
    error_output_prefix = "${local.errors_prefix}!{firehose:error-output-type}/${local.hour_partition}"
    buffering_size      = var.buffering_size
    buffering_interval  = var.buffering_interval
    compression_format  = "GZIP"
    file_extension      = ".json.gz"
    kms_key_arn         = local.kms.bucket

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.firehose_delivery.name
    }
  }

  tags = var.tags

  # Firehose checks at creation that its role can reach the bucket.
  depends_on = [aws_iam_role_policy.firehose]
}

# ---------------------------------------------------------------------------
# Writer Lambda
# ---------------------------------------------------------------------------

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

resource "aws_cloudwatch_log_group" "writer" {
  #checkov:skip=CKV_AWS_338:Retention is the user's choice through log_retention_days (validated against CloudWatch's values); a year of writer logs is rarely worth its cost.
  name              = "/aws/lambda/${local.writer_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms.logs
  tags              = var.tags
}

data "aws_iam_policy_document" "writer_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "writer" {
  name               = local.writer_name
  description        = "Writer of DynamoDB table ${var.table_name} changes to Firehose stream ${local.delivery_stream_name}"
  assume_role_policy = data.aws_iam_policy_document.writer_assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "writer" {
  statement {
    sid       = "PutRecordsToDeliveryStream"
    actions   = ["firehose:PutRecordBatch"]
    resources = [aws_kinesis_firehose_delivery_stream.this.arn]
  }

  statement {
    sid       = "SpillQuarantinedRecords"
    actions   = ["s3:PutObject"]
    resources = ["${var.bucket_arn}/${local.quarantine_prefix}*"]
  }

  # An envelope over Firehose's 1,000 KiB record limit is written to the raw prefix on its own (the loader loads
  # it like any other raw object) instead of being quarantined.
  statement {
    sid       = "WriteOversizeEnvelopes"
    actions   = ["s3:PutObject"]
    resources = ["${var.bucket_arn}/${local.raw_prefix}*"]
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
    resources = ["${aws_cloudwatch_log_group.writer.arn}:*"]
  }

  dynamic "statement" {
    for_each = local.kms_grants.writer
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

resource "aws_iam_role_policy" "writer" {
  name   = "put-cdc-records"
  role   = aws_iam_role.writer.id
  policy = data.aws_iam_policy_document.writer.json
}

resource "aws_lambda_function" "writer" {
  #checkov:skip=CKV_AWS_116:The stream mapping invokes the writer synchronously; failed batches go to the mapping's on-failure destination (this DLQ), not to an async dead_letter_config.
  #checkov:skip=CKV_AWS_117:The writer only calls AWS APIs (DynamoDB Streams, Firehose, S3, SQS) and reaches nothing inside a VPC.
  #checkov:skip=CKV_AWS_272:The zip is built from this repository by the root module in the same apply; code signing needs a signer profile and S3 upload path outside this module.
  function_name = local.writer_name
  description   = "Puts change batches of DynamoDB table ${var.table_name} into Firehose stream ${local.delivery_stream_name}"
  role          = aws_iam_role.writer.arn

  runtime          = "python3.12"
  handler          = "ddb_cdc.handlers.stream_to_firehose.handler"
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
    variables = {
      CDC_DELIVERY_STREAM = aws_kinesis_firehose_delivery_stream.this.name
      CDC_TABLE_NAME      = var.table_name
      CDC_DLQ_URL         = aws_sqs_queue.dlq.url
      CDC_BUCKET          = local.bucket_name
      CDC_PREFIX          = var.prefix
      LOG_LEVEL           = var.log_level
    }
  }

  tags = var.tags

  # The log group must exist first so Lambda does not create one without
  # retention; the policy must be attached before the stream mapping validates it.
  depends_on = [aws_cloudwatch_log_group.writer, aws_iam_role_policy.writer]
}

# ---------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "writer_errors" {
  alarm_name        = "${local.writer_name}-errors"
  alarm_description = "Writer ${local.writer_name} failed invocations; the stream mapping retries, bisects, then sends the batch to ${aws_sqs_queue.dlq.name}."

  namespace   = "AWS/Lambda"
  metric_name = "Errors"
  dimensions = {
    FunctionName = aws_lambda_function.writer.function_name
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

resource "aws_cloudwatch_metric_alarm" "delivery_freshness" {
  alarm_name        = "${local.delivery_stream_name}-delivery-stale"
  alarm_description = "The oldest record in ${local.delivery_stream_name} has waited more than ${local.freshness_threshold_seconds} s (2 x buffering_interval + 60 s) for delivery to S3; see ${aws_cloudwatch_log_group.firehose.name}."

  namespace   = "AWS/Firehose"
  metric_name = "DeliveryToS3.DataFreshness"
  dimensions = {
    DeliveryStreamName = aws_kinesis_firehose_delivery_stream.this.name
  }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.freshness_threshold_seconds
  treat_missing_data  = "notBreaching"

  alarm_actions = var.alarm_actions
  tags          = var.tags
}
