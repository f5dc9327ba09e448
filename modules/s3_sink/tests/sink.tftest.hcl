# Plan-only tests of what the module builds for each toggle value
# (create_bucket, encryption and lifecycle choices). The mock provider produces
# computed values at plan time so that the bucket policy document is read and
# its statement can be asserted. The writer is modules/stream_writer's.

mock_provider "aws" {
  override_during = plan

  # The real provider still validates policy arguments as JSON, so the mocked
  # documents render a minimal valid policy; their statements stay asserted.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  create_bucket = true
  bucket_name   = "acme-orders-cdc"
  table_name    = "orders"
}

run "creates_the_hardened_bucket" {
  command = plan

  override_resource {
    target          = aws_s3_bucket.this
    override_during = plan
    values = {
      arn    = "arn:aws:s3:::acme-orders-cdc"
      bucket = "acme-orders-cdc"
    }
  }

  assert {
    condition = (
      length(aws_s3_bucket.this) == 1 &&
      length(data.aws_s3_bucket.adopted) == 0 &&
      length(aws_s3_bucket_public_access_block.this) == 1 &&
      length(aws_s3_bucket_ownership_controls.this) == 1 &&
      length(aws_s3_bucket_server_side_encryption_configuration.this) == 1 &&
      length(aws_s3_bucket_versioning.this) == 1 &&
      length(aws_s3_bucket_lifecycle_configuration.this) == 1 &&
      length(aws_s3_bucket_policy.tls_only) == 1 &&
      length(aws_s3_bucket_logging.this) == 0
    )
    error_message = "create_bucket = true must create the bucket with its hardening, and no access logging unless asked."
  }

  assert {
    condition = (
      aws_s3_bucket.this[0].force_destroy == false &&
      aws_s3_bucket_public_access_block.this[0].block_public_acls &&
      aws_s3_bucket_public_access_block.this[0].block_public_policy &&
      aws_s3_bucket_public_access_block.this[0].ignore_public_acls &&
      aws_s3_bucket_public_access_block.this[0].restrict_public_buckets &&
      aws_s3_bucket_ownership_controls.this[0].rule[0].object_ownership == "BucketOwnerEnforced" &&
      aws_s3_bucket_versioning.this[0].versioning_configuration[0].status == "Enabled"
    )
    error_message = "The created bucket must block public access, enforce bucket ownership and version objects."
  }

  assert {
    condition = alltrue([
      for rule in aws_s3_bucket_server_side_encryption_configuration.this[0].rule :
      rule.apply_server_side_encryption_by_default[0].sse_algorithm == "AES256" && rule.bucket_key_enabled == false
    ])
    error_message = "Without kms_key_arn the bucket must use SSE-S3."
  }

  assert {
    condition = (
      [for rule in aws_s3_bucket_lifecycle_configuration.this[0].rule : rule.id] == ["expire-raw", "abort-incomplete-multipart-uploads", "expire-noncurrent-versions"] &&
      aws_s3_bucket_lifecycle_configuration.this[0].rule[0].status == "Enabled" &&
      aws_s3_bucket_lifecycle_configuration.this[0].rule[0].filter[0].prefix == "cdc/raw/" &&
      aws_s3_bucket_lifecycle_configuration.this[0].rule[0].expiration[0].days == 30 &&
      aws_s3_bucket_lifecycle_configuration.this[0].rule[1].abort_incomplete_multipart_upload[0].days_after_initiation == 1 &&
      aws_s3_bucket_lifecycle_configuration.this[0].rule[2].noncurrent_version_expiration[0].noncurrent_days == 7
    )
    error_message = "Lifecycle must expire cdc/raw/ after 30 days, abort uploads after 1 day and expire noncurrent versions after 7 days."
  }

  assert {
    condition = (
      output.bucket_name == "acme-orders-cdc" &&
      output.bucket_arn == "arn:aws:s3:::acme-orders-cdc" &&
      output.raw_prefix == "cdc/raw/orders/" &&
      output.quarantine_prefix == "cdc/quarantine/orders/"
    )
    error_message = "Layout outputs must follow <prefix>/raw/<table>/ and <prefix>/quarantine/<table>/."
  }

  assert {
    condition = (
      data.aws_iam_policy_document.tls_only.statement[0].effect == "Deny" &&
      data.aws_iam_policy_document.tls_only.statement[0].resources == toset(["arn:aws:s3:::acme-orders-cdc", "arn:aws:s3:::acme-orders-cdc/*"]) &&
      one(data.aws_iam_policy_document.tls_only.statement[0].condition).test == "Bool" &&
      one(data.aws_iam_policy_document.tls_only.statement[0].condition).variable == "aws:SecureTransport" &&
      one(data.aws_iam_policy_document.tls_only.statement[0].condition).values == tolist(["false"])
    )
    error_message = "The TLS-only policy must deny insecure transport on the bucket and its objects."
  }

}

run "kms_key_and_empty_prefix" {
  command = plan

  variables {
    prefix      = ""
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  override_resource {
    target          = aws_s3_bucket.this
    override_during = plan
    values          = { arn = "arn:aws:s3:::acme-orders-cdc", bucket = "acme-orders-cdc" }
  }

  assert {
    condition = alltrue([
      for rule in aws_s3_bucket_server_side_encryption_configuration.this[0].rule :
      rule.apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      rule.apply_server_side_encryption_by_default[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      rule.bucket_key_enabled == true
    ])
    error_message = "With kms_key_arn the bucket must use SSE-KMS with that key and a Bucket Key."
  }

  assert {
    condition = (
      output.raw_prefix == "raw/orders/" &&
      output.quarantine_prefix == "quarantine/orders/" &&
      aws_s3_bucket_lifecycle_configuration.this[0].rule[0].filter[0].prefix == "raw/"
    )
    error_message = "An empty prefix must put the layout at the bucket root with no leading slash."
  }
}

run "the_bucket_key_wins_over_kms_key_arn" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    kms_keys = {
      bucket = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
      logs   = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d"
    }
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this[0].rule).apply_server_side_encryption_by_default).kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
    error_message = "The bucket must use kms_keys.bucket when given, not kms_key_arn."
  }
}

run "adopts_bucket_without_touching_its_configuration" {
  command = plan

  variables {
    create_bucket = false
  }

  override_data {
    target          = data.aws_s3_bucket.adopted
    override_during = plan
    values = {
      arn    = "arn:aws:s3:::acme-orders-cdc"
      bucket = "acme-orders-cdc"
    }
  }

  assert {
    condition = (
      length(data.aws_s3_bucket.adopted) == 1 &&
      length(aws_s3_bucket.this) == 0 &&
      length(aws_s3_bucket_public_access_block.this) == 0 &&
      length(aws_s3_bucket_ownership_controls.this) == 0 &&
      length(aws_s3_bucket_server_side_encryption_configuration.this) == 0 &&
      length(aws_s3_bucket_versioning.this) == 0 &&
      length(aws_s3_bucket_lifecycle_configuration.this) == 0 &&
      length(aws_s3_bucket_logging.this) == 0 &&
      length(aws_s3_bucket_policy.tls_only) == 0
    )
    error_message = "create_bucket = false must read the bucket and leave its policy and settings alone."
  }

  assert {
    condition     = output.bucket_name == "acme-orders-cdc" && output.bucket_arn == "arn:aws:s3:::acme-orders-cdc"
    error_message = "Bucket outputs must come from the adopted bucket."
  }

  assert {
    condition     = data.aws_iam_policy_document.tls_only.statement[0].resources == toset(["arn:aws:s3:::acme-orders-cdc", "arn:aws:s3:::acme-orders-cdc/*"]) && output.tls_only_policy_json != null
    error_message = "The recommended TLS-only policy must be output for the adopted bucket."
  }
}

run "adopted_bucket_creates_nothing" {
  command = plan

  variables {
    create_bucket = false
  }

  override_data {
    target          = data.aws_s3_bucket.adopted
    override_during = plan
    values          = { arn = "arn:aws:s3:::acme-orders-cdc", bucket = "acme-orders-cdc" }
  }

  assert {
    condition = (
      length(aws_s3_bucket.this) == 0 && length(aws_s3_bucket_public_access_block.this) == 0 &&
      length(aws_s3_bucket_ownership_controls.this) == 0 && length(aws_s3_bucket_server_side_encryption_configuration.this) == 0 &&
      length(aws_s3_bucket_versioning.this) == 0 && length(aws_s3_bucket_lifecycle_configuration.this) == 0 &&
      length(aws_s3_bucket_logging.this) == 0 && length(aws_s3_bucket_policy.tls_only) == 0
    )
    error_message = "Adopting a bucket must create no resources."
  }

  assert {
    condition     = output.raw_prefix == "cdc/raw/orders/" && output.quarantine_prefix == "cdc/quarantine/orders/"
    error_message = "The layout outputs are set for an adopted bucket too (the writer and the loaders read them)."
  }
}

run "no_raw_expiry_and_suspended_versioning" {
  command = plan

  variables {
    raw_expiration_days = 0
    versioning_enabled  = false
    force_destroy       = true
  }

  assert {
    condition = (
      aws_s3_bucket_lifecycle_configuration.this[0].rule[0].id == "expire-raw" &&
      aws_s3_bucket_lifecycle_configuration.this[0].rule[0].status == "Disabled" &&
      aws_s3_bucket_lifecycle_configuration.this[0].rule[1].status == "Enabled" &&
      aws_s3_bucket_lifecycle_configuration.this[0].rule[2].status == "Enabled"
    )
    error_message = "raw_expiration_days = 0 must disable only the raw expiry rule."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this[0].versioning_configuration[0].status == "Suspended" && aws_s3_bucket.this[0].force_destroy == true
    error_message = "versioning_enabled = false must suspend versioning; force_destroy must follow its input."
  }
}

run "emr_compaction_working_prefixes_expire" {
  command = plan

  variables {
    create_compaction_lifecycle = true
    compaction_expiration_days  = 7
  }

  assert {
    condition = (
      [for rule in aws_s3_bucket_lifecycle_configuration.this[0].rule : rule.id] == [
        "expire-raw", "abort-incomplete-multipart-uploads", "expire-noncurrent-versions", "expire-compaction", "expire-compacted", "expire-emr-logs",
      ] &&
      [for rule in slice(aws_s3_bucket_lifecycle_configuration.this[0].rule, 3, 6) : rule.filter[0].prefix] == ["cdc/compaction/", "cdc/compacted/", "cdc/emr-logs/"] &&
      alltrue([for rule in slice(aws_s3_bucket_lifecycle_configuration.this[0].rule, 3, 6) : rule.status == "Enabled" && rule.expiration[0].days == 7])
    )
    error_message = "With create_compaction_lifecycle the compaction/, compacted/ and emr-logs/ prefixes expire after compaction_expiration_days, after the existing rules."
  }
}

run "access_logging_when_a_target_is_given" {
  command = plan

  variables {
    access_log_target = { bucket_name = "acme-access-logs" }
  }

  assert {
    condition = (
      length(aws_s3_bucket_logging.this) == 1 &&
      aws_s3_bucket_logging.this[0].target_bucket == "acme-access-logs" &&
      aws_s3_bucket_logging.this[0].target_prefix == "acme-orders-cdc/"
    )
    error_message = "access_log_target must enable server access logging under <bucket_name>/ by default."
  }
}
