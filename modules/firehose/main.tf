# Firehose aggregation: a delivery stream that buffers the change envelopes the stream_writer module puts into it
# (destination = "firehose") into large gzip objects under <prefix>/raw/<table>/YYYY/MM/DD/HH/, with its role, its
# delivery log and an alarm on delivery freshness.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  # The key of each purpose (kms_keys), kms_key_arn where none is given. The delivery stream buffers records like a
  # queue, so it takes the queues' key.
  kms = { for purpose in ["bucket", "queues", "logs"] : purpose => try(coalesce(var.kms_keys[purpose], var.kms_key_arn), null) }
  # The delivery role may use the bucket's key only through S3 (kms:ViaService, "AWS KMS condition keys",
  # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
  delivery_kms_grants = local.kms.bucket == null ? {} : {
    (local.kms.bucket) = { services = ["s3.${data.aws_region.current.id}.${data.aws_partition.current.dns_suffix}"] }
  }

  # Contract 2 layout, normalised once: an empty prefix means no leading slash.
  prefix_root   = var.prefix == "" ? "" : "${var.prefix}/"
  raw_prefix    = "${local.prefix_root}raw/${var.table_name}/"
  errors_prefix = "${local.prefix_root}firehose-errors/${var.table_name}/"

  bucket_name = element(split(":::", var.bucket_arn), 1)

  delivery_stream_name = "${var.name}-raw-to-s3"

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
    for_each = local.delivery_kms_grants
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
# Alarm
# ---------------------------------------------------------------------------

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
