# Landing zone of the capture path: the CDC bucket (created here or adopted)
# and, optionally, the writer Lambda that turns stream batches into gzip NDJSON
# objects under <prefix>/raw/<table>/, with its DLQ, role, logs and alarms.

locals {
  # Contract 2 layout, normalised once: an empty prefix means no leading slash.
  prefix_root       = var.prefix == "" ? "" : "${var.prefix}/"
  raw_root_prefix   = "${local.prefix_root}raw/"
  raw_prefix        = "${local.raw_root_prefix}${var.table_name}/"
  quarantine_prefix = "${local.prefix_root}quarantine/${var.table_name}/"

  bucket_name = var.create_bucket ? aws_s3_bucket.this[0].bucket : data.aws_s3_bucket.adopted[0].bucket
  bucket_arn  = var.create_bucket ? aws_s3_bucket.this[0].arn : data.aws_s3_bucket.adopted[0].arn

  writer_name = "${var.name}-s3-writer"

  # The key of each purpose (kms_keys), kms_key_arn where none is given. The writer's environment stays on kms_key_arn.
  kms = { for purpose in ["table", "bucket", "queues", "logs"] : purpose => try(coalesce(var.kms_keys[purpose], var.kms_key_arn), null) }
  # The writer's KMS grants, one statement per key, each usable only through the services that encrypt what the writer
  # touches with it (kms:ViaService, "AWS KMS condition keys",
  # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service): the table's
  # stream through DynamoDB, the objects through S3, the DLQ through SQS, the environment through Lambda.
  writer_kms_uses = [
    { purpose = "table", key = local.kms.table, service = "dynamodb" },
    { purpose = "bucket", key = local.kms.bucket, service = "s3" },
    { purpose = "queues", key = local.kms.queues, service = "sqs" },
    { purpose = "functions", key = var.kms_key_arn, service = "lambda" },
  ]
  writer_kms_grants = {
    for key in distinct([for use in local.writer_kms_uses : use.key if use.key != null]) : key => {
      sid      = "UseKeyFor${join("", [for use in local.writer_kms_uses : title(use.purpose) if use.key == key])}"
      services = distinct([for use in local.writer_kms_uses : "${use.service}.${data.aws_region.current.id}.${data.aws_partition.current.dns_suffix}" if use.key == key])
    }
  }
}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# ---------------------------------------------------------------------------
# Bucket
# ---------------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  count = var.create_bucket ? 1 : 0

  #checkov:skip=CKV2_AWS_62:Event notifications belong to the loader (one notification configuration per bucket); this module must not own it.
  #checkov:skip=CKV_AWS_144:The bucket holds transit data (raw/ expires after raw_expiration_days) that DynamoDB and the backfill can re-create; cross-region replication adds cost without recovery value.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

data "aws_s3_bucket" "adopted" {
  count = var.create_bucket ? 0 : 1

  bucket = var.bucket_name
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = var.create_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.this[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count = var.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = var.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.kms.bucket == null ? "AES256" : "aws:kms"
      kms_master_key_id = local.kms.bucket
    }
    # A Bucket Key cuts KMS requests per object; it has no effect under SSE-S3.
    bucket_key_enabled = local.kms.bucket != null
  }
}

resource "aws_s3_bucket_versioning" "this" {
  count = var.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  versioning_configuration {
    status = var.versioning_enabled ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = var.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  # raw_expiration_days = 0 keeps the rule, disabled, so the choice stays visible.
  rule {
    id     = "expire-raw"
    status = var.raw_expiration_days > 0 ? "Enabled" : "Disabled"

    filter {
      prefix = local.raw_root_prefix
    }

    expiration {
      days = max(var.raw_expiration_days, 1)
    }
  }

  # The bucket is this module's own, so the housekeeping rules cover all of it.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # Harmless while versioning is off; still cleans up after it is suspended.
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  # load_strategy = "emr_compaction": the loader's input lists (compaction/), the compacted files (compacted/) and the
  # clusters' logs (emr-logs/) are working files, loaded or read within hours; like raw/ they need not stay.
  dynamic "rule" {
    for_each = var.create_compaction_lifecycle ? ["compaction", "compacted", "emr-logs"] : []
    content {
      id     = "expire-${rule.value}"
      status = "Enabled"

      filter {
        prefix = "${local.prefix_root}${rule.value}/"
      }

      expiration {
        days = var.compaction_expiration_days
      }
    }
  }

  # Lifecycle rules on a versioned bucket must follow the versioning setting.
  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.create_bucket && var.access_log_target != null ? 1 : 0

  bucket        = aws_s3_bucket.this[0].id
  target_bucket = var.access_log_target.bucket_name
  target_prefix = coalesce(var.access_log_target.prefix, "${var.bucket_name}/")
}

# Recommended for every CDC bucket; applied only to a bucket this module
# creates. An adopted bucket keeps its own policy (see tls_only_policy_json).
data "aws_iam_policy_document" "tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      local.bucket_arn,
      "${local.bucket_arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "tls_only" {
  count = var.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  policy = data.aws_iam_policy_document.tls_only.json

  # S3 rejects a bucket policy while the public access block is being written.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# ---------------------------------------------------------------------------
# Writer Lambda
# ---------------------------------------------------------------------------

resource "aws_sqs_queue" "dlq" {
  count = var.create_writer ? 1 : 0

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
  count = var.create_writer ? 1 : 0

  #checkov:skip=CKV_AWS_338:Retention is the user's choice through log_retention_days (validated against CloudWatch's values); a year of writer logs is rarely worth its cost.
  name              = "/aws/lambda/${local.writer_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms.logs
  tags              = var.tags
}

data "aws_iam_policy_document" "writer_assume_role" {
  count = var.create_writer ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "writer" {
  count = var.create_writer ? 1 : 0

  name               = local.writer_name
  description        = "Writer of DynamoDB table ${var.table_name} changes to s3://${var.bucket_name}/${local.raw_prefix}"
  assume_role_policy = data.aws_iam_policy_document.writer_assume_role[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "writer" {
  count = var.create_writer ? 1 : 0

  statement {
    sid       = "WriteRawAndQuarantineObjects"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arn}/${local.raw_prefix}*", "${local.bucket_arn}/${local.quarantine_prefix}*"]
  }

  statement {
    sid       = "SendToDeadLetterQueue"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.dlq[0].arn]
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
    resources = ["${aws_cloudwatch_log_group.writer[0].arn}:*"]
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

resource "aws_iam_role_policy" "writer" {
  count = var.create_writer ? 1 : 0

  name   = "write-cdc-objects"
  role   = aws_iam_role.writer[0].id
  policy = data.aws_iam_policy_document.writer[0].json
}

resource "aws_lambda_function" "writer" {
  count = var.create_writer ? 1 : 0

  #checkov:skip=CKV_AWS_116:The stream mapping invokes the writer synchronously; failed batches go to the mapping's on-failure destination (this DLQ), not to an async dead_letter_config.
  #checkov:skip=CKV_AWS_117:The writer only calls AWS APIs (DynamoDB Streams, S3, SQS) and reaches nothing inside a VPC.
  #checkov:skip=CKV_AWS_272:The zip is built from this repository by the root module in the same apply; code signing needs a signer profile and S3 upload path outside this module.
  function_name = local.writer_name
  description   = "Writes change batches of DynamoDB table ${var.table_name} as gzip NDJSON under s3://${var.bucket_name}/${local.raw_prefix}"
  role          = aws_iam_role.writer[0].arn

  runtime          = "python3.12"
  handler          = "ddb_cdc.handlers.stream_to_s3.handler"
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
      CDC_BUCKET     = local.bucket_name
      CDC_PREFIX     = var.prefix
      CDC_TABLE_NAME = var.table_name
      CDC_DLQ_URL    = aws_sqs_queue.dlq[0].url
      LOG_LEVEL      = var.log_level
    }
  }

  tags = var.tags

  # The log group must exist first so Lambda does not create one without
  # retention; the policy must be attached before the stream mapping validates it.
  depends_on = [aws_cloudwatch_log_group.writer, aws_iam_role_policy.writer]

  lifecycle {
    precondition {
      condition     = var.stream_arn != null
      error_message = "stream_arn is required when create_writer = true: pass the ddb_stream module's stream_arn."
    }

    precondition {
      condition     = var.lambda_zip_path != null && var.lambda_zip_base64sha256 != null
      error_message = "lambda_zip_path and lambda_zip_base64sha256 are required when create_writer = true."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "writer_errors" {
  count = var.create_writer ? 1 : 0

  alarm_name        = "${local.writer_name}-errors"
  alarm_description = "Writer ${local.writer_name} failed invocations; the stream mapping retries, bisects, then sends the batch to ${aws_sqs_queue.dlq[0].name}."

  namespace   = "AWS/Lambda"
  metric_name = "Errors"
  dimensions = {
    FunctionName = aws_lambda_function.writer[0].function_name
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
  count = var.create_writer ? 1 : 0

  alarm_name        = "${local.writer_name}-dlq-not-empty"
  alarm_description = "Messages wait in ${aws_sqs_queue.dlq[0].name}: quarantined records or batches the stream mapping gave up on. Inspect and replay them."

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
  treat_missing_data  = "notBreaching"

  alarm_actions = var.alarm_actions
  tags          = var.tags
}
