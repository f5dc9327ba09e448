# Plan-only tests of the writer for each destination: names, handler, environment, every IAM statement, the KMS
# grants per key, the DLQ and both alarms. They assert the values the s3_sink and firehose modules gave the writer
# before this module existed, so that the root's moved blocks change nothing on AWS. The mock provider produces
# computed values at plan time so that the IAM policy documents are read and their statements can be asserted.

mock_provider "aws" {
  override_during = plan

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

  # The real provider still validates policy arguments as JSON, so the mocked
  # documents render a minimal valid policy; their statements stay asserted.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name                    = "orders-cdc"
  destination             = "s3"
  bucket_name             = "acme-orders-cdc"
  bucket_arn              = "arn:aws:s3:::acme-orders-cdc"
  table_name              = "orders"
  stream_arn              = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
  lambda_zip_path         = "build/ddb_cdc.zip"
  lambda_zip_base64sha256 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
}

run "s3_destination_writes_objects_itself" {
  command = plan

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
    target          = aws_cloudwatch_log_group.this
    override_during = plan
    values          = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-s3-writer" }
  }

  override_resource {
    target          = aws_iam_role.this
    override_during = plan
    values          = { arn = "arn:aws:iam::123456789012:role/orders-cdc-s3-writer" }
  }

  override_resource {
    target          = aws_lambda_function.this
    override_during = plan
    values          = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-s3-writer" }
  }

  assert {
    condition = (
      aws_lambda_function.this.function_name == "orders-cdc-s3-writer" &&
      aws_lambda_function.this.description == "Writes change batches of DynamoDB table orders as gzip NDJSON under s3://acme-orders-cdc/cdc/raw/orders/" &&
      aws_lambda_function.this.runtime == "python3.12" &&
      aws_lambda_function.this.handler == "ddb_cdc.handlers.stream_to_s3.handler" &&
      aws_lambda_function.this.filename == "build/ddb_cdc.zip" &&
      aws_lambda_function.this.source_code_hash == "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=" &&
      aws_lambda_function.this.memory_size == 512 &&
      aws_lambda_function.this.timeout == 60 &&
      aws_lambda_function.this.kms_key_arn == null &&
      aws_lambda_function.this.tracing_config[0].mode == "PassThrough"
    )
    error_message = "The s3 writer must run the stream_to_s3 handler on python3.12 from the given zip, named <name>-s3-writer."
  }

  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      CDC_BUCKET     = "acme-orders-cdc"
      CDC_PREFIX     = "cdc"
      CDC_TABLE_NAME = "orders"
      CDC_DLQ_URL    = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-s3-writer-dlq"
      LOG_LEVEL      = "INFO"
    })
    error_message = "The s3 writer's environment must match the stream_to_s3 handler contract."
  }

  assert {
    condition = (
      aws_iam_role.this.name == "orders-cdc-s3-writer" &&
      aws_iam_role.this.description == "Writer of DynamoDB table orders changes to s3://acme-orders-cdc/cdc/raw/orders/" &&
      aws_iam_role_policy.this.name == "write-cdc-objects" &&
      one(data.aws_iam_policy_document.assume_role.statement[0].principals).identifiers == toset(["lambda.amazonaws.com"])
    )
    error_message = "The role and its inline policy keep the s3_sink module's names and description."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.this.statement : s.sid] == ["WriteRawAndQuarantineObjects", "SendToDeadLetterQueue", "ReadTableStream", "WriteOwnLogs"] &&
      data.aws_iam_policy_document.this.statement[0].actions == toset(["s3:PutObject"]) &&
      data.aws_iam_policy_document.this.statement[0].resources == toset(["arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*", "arn:aws:s3:::acme-orders-cdc/cdc/quarantine/orders/*"]) &&
      data.aws_iam_policy_document.this.statement[1].actions == toset(["sqs:SendMessage", "sqs:GetQueueAttributes"]) &&
      data.aws_iam_policy_document.this.statement[1].resources == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-cdc-s3-writer-dlq"]) &&
      data.aws_iam_policy_document.this.statement[2].actions == toset(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]) &&
      data.aws_iam_policy_document.this.statement[2].resources == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"]) &&
      data.aws_iam_policy_document.this.statement[3].actions == toset(["logs:CreateLogStream", "logs:PutLogEvents"]) &&
      data.aws_iam_policy_document.this.statement[3].resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-s3-writer:*"])
    )
    error_message = "The s3 writer may only put objects under its raw/ and quarantine/ prefixes, use its DLQ, read the stream and write its own logs."
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.this.name == "/aws/lambda/orders-cdc-s3-writer" &&
      aws_cloudwatch_log_group.this.retention_in_days == 30 &&
      aws_cloudwatch_log_group.this.kms_key_id == null &&
      aws_sqs_queue.dlq.name == "orders-cdc-s3-writer-dlq" &&
      aws_sqs_queue.dlq.message_retention_seconds == 1209600 &&
      aws_sqs_queue.dlq.sqs_managed_sse_enabled == true &&
      aws_sqs_queue.dlq.kms_master_key_id == null &&
      jsondecode(aws_sqs_queue.dlq.redrive_allow_policy) == { redrivePermission = "denyAll" }
    )
    error_message = "The log group is /aws/lambda/<function>; the DLQ keeps messages 14 days under SQS-managed SSE and admits no redrive."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.errors.alarm_name == "orders-cdc-s3-writer-errors" &&
      aws_cloudwatch_metric_alarm.errors.namespace == "AWS/Lambda" &&
      aws_cloudwatch_metric_alarm.errors.metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.errors.statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.errors.dimensions["FunctionName"] == "orders-cdc-s3-writer" &&
      aws_cloudwatch_metric_alarm.dlq_depth.alarm_name == "orders-cdc-s3-writer-dlq-not-empty" &&
      aws_cloudwatch_metric_alarm.dlq_depth.namespace == "AWS/SQS" &&
      aws_cloudwatch_metric_alarm.dlq_depth.metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.dlq_depth.dimensions["QueueName"] == "orders-cdc-s3-writer-dlq" &&
      length(aws_cloudwatch_metric_alarm.errors.alarm_actions) == 0
    )
    error_message = "The alarms watch the writer's Errors and the DLQ's visible messages."
  }

  assert {
    condition = (
      output.function_name == "orders-cdc-s3-writer" &&
      output.function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-s3-writer" &&
      output.role_arn == "arn:aws:iam::123456789012:role/orders-cdc-s3-writer" &&
      output.log_group_name == "/aws/lambda/orders-cdc-s3-writer" &&
      output.dlq_arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-s3-writer-dlq" &&
      output.dlq_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-s3-writer-dlq"
    )
    error_message = "The outputs name the writer, its role, log group and DLQ."
  }
}

run "firehose_destination_puts_records_into_the_delivery_stream" {
  command = plan

  variables {
    destination = "firehose"
    delivery_stream = {
      name = "orders-cdc-raw-to-s3"
      arn  = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-cdc-raw-to-s3"
    }
  }

  override_resource {
    target          = aws_sqs_queue.dlq
    override_during = plan
    values = {
      arn  = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-firehose-writer-dlq"
      url  = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-firehose-writer-dlq"
      name = "orders-cdc-firehose-writer-dlq"
    }
  }

  override_resource {
    target          = aws_cloudwatch_log_group.this
    override_during = plan
    values          = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-firehose-writer" }
  }

  assert {
    condition = (
      aws_lambda_function.this.function_name == "orders-cdc-firehose-writer" &&
      aws_lambda_function.this.description == "Puts change batches of DynamoDB table orders into Firehose stream orders-cdc-raw-to-s3" &&
      aws_lambda_function.this.handler == "ddb_cdc.handlers.stream_to_firehose.handler" &&
      aws_lambda_function.this.runtime == "python3.12" &&
      aws_iam_role.this.name == "orders-cdc-firehose-writer" &&
      aws_iam_role.this.description == "Writer of DynamoDB table orders changes to Firehose stream orders-cdc-raw-to-s3" &&
      aws_iam_role_policy.this.name == "put-cdc-records" &&
      aws_cloudwatch_log_group.this.name == "/aws/lambda/orders-cdc-firehose-writer" &&
      aws_sqs_queue.dlq.name == "orders-cdc-firehose-writer-dlq" &&
      aws_cloudwatch_metric_alarm.errors.alarm_name == "orders-cdc-firehose-writer-errors" &&
      aws_cloudwatch_metric_alarm.dlq_depth.alarm_name == "orders-cdc-firehose-writer-dlq-not-empty"
    )
    error_message = "The firehose writer keeps the firehose module's names, descriptions and handler."
  }

  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      CDC_DELIVERY_STREAM = "orders-cdc-raw-to-s3"
      CDC_TABLE_NAME      = "orders"
      CDC_DLQ_URL         = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-firehose-writer-dlq"
      CDC_BUCKET          = "acme-orders-cdc"
      CDC_PREFIX          = "cdc"
      LOG_LEVEL           = "INFO"
    })
    error_message = "The firehose writer's environment must match the stream_to_firehose handler contract."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.this.statement : s.sid] == ["PutRecordsToDeliveryStream", "SpillQuarantinedRecords", "WriteOversizeEnvelopes", "SendToDeadLetterQueue", "ReadTableStream", "WriteOwnLogs"] &&
      data.aws_iam_policy_document.this.statement[0].actions == toset(["firehose:PutRecordBatch"]) &&
      data.aws_iam_policy_document.this.statement[0].resources == toset(["arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-cdc-raw-to-s3"]) &&
      data.aws_iam_policy_document.this.statement[1].actions == toset(["s3:PutObject"]) &&
      data.aws_iam_policy_document.this.statement[1].resources == toset(["arn:aws:s3:::acme-orders-cdc/cdc/quarantine/orders/*"]) &&
      data.aws_iam_policy_document.this.statement[2].actions == toset(["s3:PutObject"]) &&
      data.aws_iam_policy_document.this.statement[2].resources == toset(["arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*"]) &&
      data.aws_iam_policy_document.this.statement[3].resources == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-cdc-firehose-writer-dlq"]) &&
      data.aws_iam_policy_document.this.statement[4].resources == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"]) &&
      data.aws_iam_policy_document.this.statement[5].resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-firehose-writer:*"])
    )
    error_message = "The firehose writer may only put to its delivery stream, spill to quarantine/, write oversize envelopes to raw/, use its DLQ, read the stream and write its logs."
  }
}

run "one_key_for_everything" {
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

  assert {
    condition = (
      aws_sqs_queue.dlq.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_sqs_queue.dlq.kms_data_key_reuse_period_seconds == 300 &&
      aws_lambda_function.this.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_cloudwatch_log_group.this.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    )
    error_message = "kms_key_arn must encrypt the DLQ, the writer's environment and its log group."
  }

  assert {
    condition = (
      { for s in data.aws_iam_policy_document.this.statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKey") } == {
        UseKeyForTableBucketQueuesFunctions = {
          keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"])
          via  = tolist(["dynamodb.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"])
        }
      }
    )
    error_message = "With kms_key_arn the s3 writer may use that key, and only that key, through DynamoDB, S3, SQS and Lambda only."
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["CDC_PREFIX"] == "" &&
      aws_lambda_function.this.description == "Writes change batches of DynamoDB table orders as gzip NDJSON under s3://acme-orders-cdc/raw/orders/" &&
      one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "WriteRawAndQuarantineObjects"]) == toset(["arn:aws:s3:::acme-orders-cdc/raw/orders/*", "arn:aws:s3:::acme-orders-cdc/quarantine/orders/*"])
    )
    error_message = "An empty prefix must put the layout at the bucket root with no leading slash."
  }

  assert {
    condition = (
      aws_lambda_function.this.memory_size == 1024 &&
      aws_lambda_function.this.timeout == 120 &&
      aws_lambda_function.this.reserved_concurrent_executions == 5 &&
      aws_lambda_function.this.environment[0].variables["LOG_LEVEL"] == "DEBUG" &&
      aws_cloudwatch_log_group.this.retention_in_days == 90 &&
      aws_cloudwatch_metric_alarm.errors.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"]) &&
      aws_cloudwatch_metric_alarm.dlq_depth.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"])
    )
    error_message = "Sizing, log level, retention and alarm actions must follow the inputs."
  }
}

run "one_key_for_everything_through_firehose_too" {
  command = plan

  variables {
    destination = "firehose"
    delivery_stream = {
      name = "orders-cdc-raw-to-s3"
      arn  = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-cdc-raw-to-s3"
    }
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = (
      { for s in data.aws_iam_policy_document.this.statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKey") } == {
        UseKeyForTableBucketQueuesFunctions = {
          keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"])
          via  = tolist(["dynamodb.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com", "firehose.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"])
        }
      }
    )
    error_message = "The firehose writer may also use the queues' key through Firehose, which encrypts the delivery stream with it."
  }
}

run "separate_keys_per_purpose_s3" {
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
      aws_sqs_queue.dlq.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a" &&
      aws_cloudwatch_log_group.this.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d" &&
      aws_lambda_function.this.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    )
    error_message = "The log group takes the logs' key; the DLQ (no queues key given) and the environment kms_key_arn."
  }

  assert {
    condition = (
      { for s in data.aws_iam_policy_document.this.statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKey") } == {
        UseKeyForTable           = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000e"]), via = tolist(["dynamodb.eu-west-1.amazonaws.com"]) }
        UseKeyForBucket          = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"]), via = tolist(["s3.eu-west-1.amazonaws.com"]) }
        UseKeyForQueuesFunctions = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"]), via = tolist(["sqs.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"]) }
      }
    )
    error_message = "The s3 writer's grants must follow the key of each thing it touches, through that service only."
  }
}

run "separate_keys_per_purpose_firehose" {
  command = plan

  variables {
    destination = "firehose"
    delivery_stream = {
      name = "orders-cdc-raw-to-s3"
      arn  = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-cdc-raw-to-s3"
    }
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    kms_keys = {
      bucket = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
      queues = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"
      logs   = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d"
    }
  }

  assert {
    condition = (
      aws_sqs_queue.dlq.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c" &&
      aws_cloudwatch_log_group.this.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d" &&
      aws_lambda_function.this.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    )
    error_message = "Each purpose's key must encrypt its resources."
  }

  assert {
    condition = (
      { for s in data.aws_iam_policy_document.this.statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKey") } == {
        UseKeyForBucket = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"]), via = tolist(["s3.eu-west-1.amazonaws.com"]) }
        UseKeyForQueues = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"]), via = tolist(["sqs.eu-west-1.amazonaws.com", "firehose.eu-west-1.amazonaws.com"]) }
        # No table key given: the table's stream falls back to kms_key_arn, as the table itself does at the root.
        UseKeyForTableFunctions = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"]), via = tolist(["dynamodb.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"]) }
      }
    )
    error_message = "The firehose writer gets each key through the services that encrypt with it."
  }
}

run "active_tracing_grants_xray" {
  command = plan

  variables {
    tracing_mode = "Active"
  }

  assert {
    condition = (
      aws_lambda_function.this.tracing_config[0].mode == "Active" &&
      one([for s in data.aws_iam_policy_document.this.statement : s.actions if s.sid == "WriteTraces"]) == toset(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]) &&
      one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "WriteTraces"]) == toset(["*"])
    )
    error_message = "Active tracing must grant X-Ray writes (which take no resource scoping)."
  }
}
