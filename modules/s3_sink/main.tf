# Landing zone of the capture path: the CDC bucket (created here or adopted) and the contract-2 layout in it. The
# writer that fills <prefix>/raw/<table>/ (a Lambda function or Firehose) is the stream_writer module's.

locals {
  # Contract 2 layout, normalised once: an empty prefix means no leading slash.
  prefix_root       = var.prefix == "" ? "" : "${var.prefix}/"
  raw_root_prefix   = "${local.prefix_root}raw/"
  raw_prefix        = "${local.raw_root_prefix}${var.table_name}/"
  quarantine_prefix = "${local.prefix_root}quarantine/${var.table_name}/"

  bucket_name = var.create_bucket ? aws_s3_bucket.this[0].bucket : data.aws_s3_bucket.adopted[0].bucket
  bucket_arn  = var.create_bucket ? aws_s3_bucket.this[0].arn : data.aws_s3_bucket.adopted[0].arn

  # The bucket's key (kms_keys.bucket), kms_key_arn where none is given.
  bucket_kms_key = try(coalesce(var.kms_keys.bucket, var.kms_key_arn), null)
}

# ---------------------------------------------------------------------------
# Bucket
# ---------------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  count = var.create_bucket ? 1 : 0

  #checkov:skip=CKV2_AWS_62:Event notifications belong to the loader (one notification configuration per bucket); this module must not own it.
  #checkov:skip=CKV_AWS_21:Versioning is on unless versioning_enabled = false (default true; the root's bucket.versioning_enabled = null also means true, through nullable = false, which checkov does not evaluate).
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
      sse_algorithm     = local.bucket_kms_key == null ? "AES256" : "aws:kms"
      kms_master_key_id = local.bucket_kms_key
    }
    # A Bucket Key cuts KMS requests per object; it has no effect under SSE-S3.
    bucket_key_enabled = local.bucket_kms_key != null
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
