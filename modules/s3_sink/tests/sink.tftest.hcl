# Plan-only tests of what the module builds for each toggle value
# (create_bucket x create_writer, encryption, lifecycle and tracing choices).
# The mock provider produces computed values at plan time so that the IAM
# policy documents are read and their statements can be asserted.

mock_provider "aws" {
  override_during = plan

  # The real provider still validates policy arguments as JSON, so the mocked
  # documents render a minimal valid policy; their statements stay asserted.
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/orders-cdc-s3-writer"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-s3-writer"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
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
}

variables {
  name                    = "orders-cdc"
  create_bucket           = true
  bucket_name             = "acme-orders-cdc"
  table_name              = "orders"
  stream_arn              = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
  lambda_zip_path         = "build/ddb_cdc.zip"
  lambda_zip_base64sha256 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
}

run "creates_bucket_and_writer_by_default" {
  command = plan

  override_resource {
    target          = aws_s3_bucket.this
    override_during = plan
    values = {
      arn    = "arn:aws:s3:::acme-orders-cdc"
      bucket = "acme-orders-cdc"
    }
  }

  override_resource {
    target          = aws_sqs_queue.dlq
    override_during = plan
    values = {
      arn  = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-s3-writer-dlq"
      url  = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-s3-writer-dlq"
      name = "orders-cdc-s3-writer-dlq"
    }
  }

  override_resource {
    target          = aws_cloudwatch_log_group.writer
    override_during = plan
    values = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-s3-writer"
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
      length(aws_lambda_function.writer) == 1 &&
      length(aws_cloudwatch_log_group.writer) == 1 &&
      length(aws_sqs_queue.dlq) == 1 &&
      length(aws_iam_role.writer) == 1 &&
      length(aws_iam_role_policy.writer) == 1 &&
      length(aws_cloudwatch_metric_alarm.writer_errors) == 1 &&
      length(aws_cloudwatch_metric_alarm.dlq_depth) == 1
    )
    error_message = "create_writer = true must create the writer with its log group, DLQ, role and two alarms."
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
      aws_lambda_function.writer[0].function_name == "orders-cdc-s3-writer" &&
      aws_lambda_function.writer[0].runtime == "python3.12" &&
      aws_lambda_function.writer[0].handler == "ddb_cdc.handlers.stream_to_s3.handler" &&
      aws_lambda_function.writer[0].filename == "build/ddb_cdc.zip" &&
      aws_lambda_function.writer[0].source_code_hash == "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=" &&
      aws_lambda_function.writer[0].memory_size == 512 &&
      aws_lambda_function.writer[0].timeout == 60 &&
      aws_lambda_function.writer[0].tracing_config[0].mode == "PassThrough"
    )
    error_message = "The writer must run the stream_to_s3 handler on python3.12 from the given zip."
  }

  assert {
    condition = aws_lambda_function.writer[0].environment[0].variables == tomap({
      CDC_BUCKET     = "acme-orders-cdc"
      CDC_PREFIX     = "cdc"
      CDC_TABLE_NAME = "orders"
      CDC_DLQ_URL    = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-s3-writer-dlq"
      LOG_LEVEL      = "INFO"
    })
    error_message = "The writer's environment must match the handler contract."
  }

  assert {
    condition     = aws_cloudwatch_log_group.writer[0].name == "/aws/lambda/orders-cdc-s3-writer" && aws_cloudwatch_log_group.writer[0].retention_in_days == 30
    error_message = "The writer's log group must be /aws/lambda/<function> with the given retention."
  }

  assert {
    condition = (
      aws_sqs_queue.dlq[0].message_retention_seconds == 1209600 &&
      aws_sqs_queue.dlq[0].sqs_managed_sse_enabled == true &&
      aws_sqs_queue.dlq[0].kms_master_key_id == null
    )
    error_message = "The DLQ must keep messages 14 days with SQS-managed SSE."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.writer[0].statement : s.sid] == ["WriteRawAndQuarantineObjects", "SendToDeadLetterQueue", "ReadTableStream", "WriteOwnLogs"] &&
      data.aws_iam_policy_document.writer[0].statement[0].actions == toset(["s3:PutObject"]) &&
      data.aws_iam_policy_document.writer[0].statement[0].resources == toset(["arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*", "arn:aws:s3:::acme-orders-cdc/cdc/quarantine/orders/*"]) &&
      data.aws_iam_policy_document.writer[0].statement[1].resources == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-cdc-s3-writer-dlq"]) &&
      data.aws_iam_policy_document.writer[0].statement[2].resources == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"]) &&
      data.aws_iam_policy_document.writer[0].statement[3].resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-s3-writer:*"])
    )
    error_message = "The writer policy must allow only PutObject on its raw/quarantine prefixes, the DLQ, the stream and its own log group."
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

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.writer_errors[0].metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.writer_errors[0].statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.writer_errors[0].dimensions["FunctionName"] == "orders-cdc-s3-writer" &&
      aws_cloudwatch_metric_alarm.dlq_depth[0].namespace == "AWS/SQS" &&
      aws_cloudwatch_metric_alarm.dlq_depth[0].metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.dlq_depth[0].dimensions["QueueName"] == "orders-cdc-s3-writer-dlq"
    )
    error_message = "Alarms must watch the writer's Errors and the DLQ's visible messages."
  }

  assert {
    condition = (
      output.writer_function_name == "orders-cdc-s3-writer" &&
      output.dlq_arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-s3-writer-dlq" &&
      output.dlq_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-s3-writer-dlq" &&
      output.writer_role_arn == "arn:aws:iam::123456789012:role/orders-cdc-s3-writer" &&
      output.writer_function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-s3-writer"
    )
    error_message = "Writer outputs must be set when create_writer = true."
  }
}

run "kms_key_and_empty_prefix" {
  command = plan

  variables {
    prefix                         = ""
    kms_key_arn                    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    alarm_actions                  = ["arn:aws:sns:eu-west-1:123456789012:oncall"]
    memory_size                    = 1024
    timeout                        = 120
    reserved_concurrent_executions = 5
    log_level                      = "DEBUG"
    log_retention_days             = 90
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
      aws_sqs_queue.dlq[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_lambda_function.writer[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_cloudwatch_log_group.writer[0].kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    )
    error_message = "kms_key_arn must encrypt the DLQ, the writer's environment and its log group."
  }

  assert {
    condition = (
      { for s in data.aws_iam_policy_document.writer[0].statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKey") } == {
        UseKeyForTableBucketQueuesFunctions = {
          keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"])
          via  = tolist(["dynamodb.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"])
        }
      }
    )
    error_message = "With kms_key_arn the writer may use that key, and only that key, through DynamoDB, S3, SQS and Lambda only."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.dlq[0].redrive_allow_policy) == { redrivePermission = "denyAll" }
    error_message = "The writer's DLQ receives sends, never a redrive: no queue may use it as its dead-letter queue."
  }

  assert {
    condition = (
      output.raw_prefix == "raw/orders/" &&
      output.quarantine_prefix == "quarantine/orders/" &&
      aws_s3_bucket_lifecycle_configuration.this[0].rule[0].filter[0].prefix == "raw/" &&
      aws_lambda_function.writer[0].environment[0].variables["CDC_PREFIX"] == "" &&
      one([for s in data.aws_iam_policy_document.writer[0].statement : s.resources if s.sid == "WriteRawAndQuarantineObjects"]) == toset(["arn:aws:s3:::acme-orders-cdc/raw/orders/*", "arn:aws:s3:::acme-orders-cdc/quarantine/orders/*"])
    )
    error_message = "An empty prefix must put the layout at the bucket root with no leading slash."
  }

  assert {
    condition = (
      aws_lambda_function.writer[0].memory_size == 1024 &&
      aws_lambda_function.writer[0].timeout == 120 &&
      aws_lambda_function.writer[0].reserved_concurrent_executions == 5 &&
      aws_lambda_function.writer[0].environment[0].variables["LOG_LEVEL"] == "DEBUG" &&
      aws_cloudwatch_log_group.writer[0].retention_in_days == 90
    )
    error_message = "Writer sizing, log level and retention must follow the inputs."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.writer_errors[0].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"]) &&
      aws_cloudwatch_metric_alarm.dlq_depth[0].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"])
    )
    error_message = "Both alarms must notify alarm_actions."
  }
}

run "separate_keys_per_purpose_are_followed_by_the_writer" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    kms_keys = {
      table  = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000e"
      bucket = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
      logs   = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d"
    }
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this[0].rule).apply_server_side_encryption_by_default).kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b" &&
      aws_sqs_queue.dlq[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a" &&
      aws_cloudwatch_log_group.writer[0].kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d" &&
      aws_lambda_function.writer[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    )
    error_message = "The bucket and log group must use their own keys; the DLQ (no queues key given) and the environment kms_key_arn."
  }

  assert {
    condition = (
      { for s in data.aws_iam_policy_document.writer[0].statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKey") } == {
        UseKeyForTable           = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000e"]), via = tolist(["dynamodb.eu-west-1.amazonaws.com"]) }
        UseKeyForBucket          = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"]), via = tolist(["s3.eu-west-1.amazonaws.com"]) }
        UseKeyForQueuesFunctions = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"]), via = tolist(["sqs.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"]) }
      }
    )
    error_message = "The writer's grants must follow the key of each thing it touches, through that service only."
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
    condition     = one([for s in data.aws_iam_policy_document.writer[0].statement : s.resources if s.sid == "WriteRawAndQuarantineObjects"]) == toset(["arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*", "arn:aws:s3:::acme-orders-cdc/cdc/quarantine/orders/*"])
    error_message = "The writer must be scoped to the adopted bucket's prefixes."
  }

  assert {
    condition     = data.aws_iam_policy_document.tls_only.statement[0].resources == toset(["arn:aws:s3:::acme-orders-cdc", "arn:aws:s3:::acme-orders-cdc/*"]) && output.tls_only_policy_json != null
    error_message = "The recommended TLS-only policy must be output for the adopted bucket."
  }
}

run "bucket_only_for_firehose_aggregation" {
  command = plan

  variables {
    create_writer           = false
    stream_arn              = null
    lambda_zip_path         = null
    lambda_zip_base64sha256 = null
  }

  assert {
    condition     = length(aws_s3_bucket.this) == 1 && length(aws_s3_bucket_policy.tls_only) == 1
    error_message = "The bucket must still be created without a writer."
  }

  assert {
    condition = (
      length(aws_lambda_function.writer) == 0 &&
      length(aws_cloudwatch_log_group.writer) == 0 &&
      length(aws_sqs_queue.dlq) == 0 &&
      length(aws_iam_role.writer) == 0 &&
      length(aws_iam_role_policy.writer) == 0 &&
      length(data.aws_iam_policy_document.writer) == 0 &&
      length(aws_cloudwatch_metric_alarm.writer_errors) == 0 &&
      length(aws_cloudwatch_metric_alarm.dlq_depth) == 0
    )
    error_message = "create_writer = false must create no writer resources."
  }

  assert {
    condition = (
      output.writer_function_name == null &&
      output.writer_function_arn == null &&
      output.writer_role_arn == null &&
      output.dlq_url == null &&
      output.dlq_arn == null
    )
    error_message = "Writer outputs must be null when create_writer = false."
  }

  assert {
    condition     = output.raw_prefix == "cdc/raw/orders/"
    error_message = "raw_prefix must be output for the Firehose module and loaders even without a writer."
  }
}

run "adopted_bucket_without_writer_creates_nothing" {
  command = plan

  variables {
    create_bucket = false
    create_writer = false
  }

  override_data {
    target          = data.aws_s3_bucket.adopted
    override_during = plan
    values          = { arn = "arn:aws:s3:::acme-orders-cdc", bucket = "acme-orders-cdc" }
  }

  assert {
    condition     = length(aws_s3_bucket.this) == 0 && length(aws_lambda_function.writer) == 0 && length(aws_sqs_queue.dlq) == 0
    error_message = "Adopting a bucket without a writer must create no resources."
  }

  assert {
    condition     = output.bucket_arn == "arn:aws:s3:::acme-orders-cdc" && output.dlq_arn == null
    error_message = "Only bucket outputs are set when adopting without a writer."
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

run "active_tracing_grants_xray" {
  command = plan

  variables {
    tracing_mode = "Active"
  }

  assert {
    condition = (
      aws_lambda_function.writer[0].tracing_config[0].mode == "Active" &&
      one([for s in data.aws_iam_policy_document.writer[0].statement : s.actions if s.sid == "WriteTraces"]) == toset(["xray:PutTraceSegments", "xray:PutTelemetryRecords"])
    )
    error_message = "Active tracing must grant X-Ray writes."
  }
}

run "writer_requires_stream_arn" {
  command = plan

  variables {
    stream_arn = null
  }

  expect_failures = [aws_lambda_function.writer]
}

run "writer_requires_zip" {
  command = plan

  variables {
    lambda_zip_path         = null
    lambda_zip_base64sha256 = null
  }

  expect_failures = [aws_lambda_function.writer]
}
