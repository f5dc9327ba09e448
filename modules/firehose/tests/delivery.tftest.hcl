# Plan-only tests of the delivery stream, the writer and their wiring, with and
# without a customer managed key. The mock provider produces computed values at
# plan time so that the IAM policy documents are read and can be asserted.

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

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/orders-cdc-mock"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-firehose-writer"
    }
  }

  mock_resource "aws_kinesis_firehose_delivery_stream" {
    defaults = {
      arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-cdc-raw-to-s3"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-firehose-writer-dlq"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-firehose-writer-dlq"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock"
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
  bucket_arn              = "arn:aws:s3:::acme-orders-cdc"
  table_name              = "orders"
  stream_arn              = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
  lambda_zip_path         = "build/ddb_cdc.zip"
  lambda_zip_base64sha256 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
}

run "delivers_gzip_hourly_objects_with_aws_owned_keys" {
  command = plan

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.name == "orders-cdc-raw-to-s3" &&
      aws_kinesis_firehose_delivery_stream.this.destination == "extended_s3"
    )
    error_message = "The module must create one extended_s3 delivery stream named <name>-raw-to-s3."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].bucket_arn == "arn:aws:s3:::acme-orders-cdc" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].prefix == "cdc/raw/orders/!{timestamp:yyyy/MM/dd/HH}/" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].error_output_prefix == "cdc/firehose-errors/orders/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].compression_format == "GZIP" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].file_extension == ".json.gz" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].buffering_size == 64 &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].buffering_interval == 300 &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].kms_key_arn == null
    )
    error_message = "Firehose must deliver gzip .json.gz objects under <prefix>/raw/<table>/YYYY/MM/DD/HH/ and errors under firehose-errors/."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].cloudwatch_logging_options[0].enabled == true &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].cloudwatch_logging_options[0].log_group_name == "/aws/kinesisfirehose/orders-cdc-raw-to-s3" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].cloudwatch_logging_options[0].log_stream_name == "DestinationDelivery" &&
      aws_cloudwatch_log_group.firehose.retention_in_days == 30
    )
    error_message = "Delivery errors must be logged to the module's log group and stream."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.server_side_encryption[0].enabled == true &&
      aws_kinesis_firehose_delivery_stream.this.server_side_encryption[0].key_type == "AWS_OWNED_CMK" &&
      aws_kinesis_firehose_delivery_stream.this.server_side_encryption[0].key_arn == null
    )
    error_message = "Without kms_key_arn the stream must be encrypted with an AWS-owned key."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.firehose.statement : s.sid] == ["LocateBucket", "ListOwnPrefixes", "WriteRawAndErrorObjects", "WriteDeliveryLogs"] &&
      data.aws_iam_policy_document.firehose.statement[0].resources == toset(["arn:aws:s3:::acme-orders-cdc"]) &&
      data.aws_iam_policy_document.firehose.statement[0].actions == toset(["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]) &&
      data.aws_iam_policy_document.firehose.statement[1].actions == toset(["s3:ListBucket"]) &&
      data.aws_iam_policy_document.firehose.statement[1].resources == toset(["arn:aws:s3:::acme-orders-cdc"]) &&
      [for c in data.aws_iam_policy_document.firehose.statement[1].condition : c.values if c.variable == "s3:prefix" && c.test == "StringLikeIfExists"] == [tolist(["cdc/raw/orders/*", "cdc/firehose-errors/orders/*"])] &&
      data.aws_iam_policy_document.firehose.statement[2].actions == toset(["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]) &&
      data.aws_iam_policy_document.firehose.statement[2].resources == toset(["arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*", "arn:aws:s3:::acme-orders-cdc/cdc/firehose-errors/orders/*"]) &&
      data.aws_iam_policy_document.firehose.statement[3].actions == toset(["logs:PutLogEvents"]) &&
      data.aws_iam_policy_document.firehose.statement[3].resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:mock:log-stream:DestinationDelivery"]) &&
      jsondecode(aws_sqs_queue.dlq.redrive_allow_policy) == { redrivePermission = "denyAll" }
    )
    error_message = "The delivery role must reach only the bucket, its raw/ and firehose-errors/ prefixes, and its own log stream."
  }

  assert {
    condition = (
      one(data.aws_iam_policy_document.firehose_assume_role.statement[0].principals).identifiers == toset(["firehose.amazonaws.com"]) &&
      one(data.aws_iam_policy_document.firehose_assume_role.statement[0].condition).variable == "sts:ExternalId" &&
      one(data.aws_iam_policy_document.firehose_assume_role.statement[0].condition).values == tolist(["123456789012"])
    )
    error_message = "Only Firehose acting for this account may assume the delivery role."
  }

  assert {
    condition = (
      aws_lambda_function.writer.function_name == "orders-cdc-firehose-writer" &&
      aws_lambda_function.writer.runtime == "python3.12" &&
      aws_lambda_function.writer.handler == "ddb_cdc.handlers.stream_to_firehose.handler" &&
      aws_lambda_function.writer.filename == "build/ddb_cdc.zip" &&
      aws_lambda_function.writer.source_code_hash == "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=" &&
      aws_lambda_function.writer.tracing_config[0].mode == "PassThrough" &&
      aws_lambda_function.writer.kms_key_arn == null
    )
    error_message = "The writer must run the stream_to_firehose handler on python3.12 from the given zip."
  }

  assert {
    condition = aws_lambda_function.writer.environment[0].variables == tomap({
      CDC_DELIVERY_STREAM = "orders-cdc-raw-to-s3"
      CDC_TABLE_NAME      = "orders"
      CDC_DLQ_URL         = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-firehose-writer-dlq"
      CDC_BUCKET          = "acme-orders-cdc"
      CDC_PREFIX          = "cdc"
      LOG_LEVEL           = "INFO"
    })
    error_message = "The writer's environment must match the handler contract."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.writer.statement : s.sid] == ["PutRecordsToDeliveryStream", "SpillQuarantinedRecords", "WriteOversizeEnvelopes", "SendToDeadLetterQueue", "ReadTableStream", "WriteOwnLogs"] &&
      one([for s in data.aws_iam_policy_document.writer.statement : s.resources if s.sid == "WriteOversizeEnvelopes"]) == toset(["arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*"]) &&
      data.aws_iam_policy_document.writer.statement[0].actions == toset(["firehose:PutRecordBatch"]) &&
      data.aws_iam_policy_document.writer.statement[0].resources == toset(["arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-cdc-raw-to-s3"]) &&
      data.aws_iam_policy_document.writer.statement[1].actions == toset(["s3:PutObject"]) &&
      data.aws_iam_policy_document.writer.statement[1].resources == toset(["arn:aws:s3:::acme-orders-cdc/cdc/quarantine/orders/*"]) &&
      data.aws_iam_policy_document.writer.statement[3].resources == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-cdc-firehose-writer-dlq"]) &&
      data.aws_iam_policy_document.writer.statement[4].resources == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"]) &&
      data.aws_iam_policy_document.writer.statement[5].resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:mock:*"])
    )
    error_message = "The writer may only put to this delivery stream, spill to quarantine/, use its DLQ, read the stream and write its logs."
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.writer.name == "/aws/lambda/orders-cdc-firehose-writer" &&
      aws_sqs_queue.dlq.name == "orders-cdc-firehose-writer-dlq" &&
      aws_sqs_queue.dlq.message_retention_seconds == 1209600 &&
      aws_sqs_queue.dlq.sqs_managed_sse_enabled == true
    )
    error_message = "The writer's log group and 14-day SSE DLQ must be created."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.delivery_freshness.namespace == "AWS/Firehose" &&
      aws_cloudwatch_metric_alarm.delivery_freshness.metric_name == "DeliveryToS3.DataFreshness" &&
      aws_cloudwatch_metric_alarm.delivery_freshness.dimensions["DeliveryStreamName"] == "orders-cdc-raw-to-s3" &&
      aws_cloudwatch_metric_alarm.delivery_freshness.threshold == 660 &&
      aws_cloudwatch_metric_alarm.writer_errors.dimensions["FunctionName"] == "orders-cdc-firehose-writer" &&
      aws_cloudwatch_metric_alarm.dlq_depth.dimensions["QueueName"] == "orders-cdc-firehose-writer-dlq"
    )
    error_message = "Alarms must watch writer errors, DLQ depth and delivery freshness (2 x 300 + 60 s)."
  }

  assert {
    condition = (
      output.delivery_stream_name == "orders-cdc-raw-to-s3" &&
      output.delivery_stream_arn == "arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-cdc-raw-to-s3" &&
      output.writer_function_name == "orders-cdc-firehose-writer" &&
      output.writer_function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-firehose-writer" &&
      output.dlq_arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-firehose-writer-dlq" &&
      output.raw_prefix == "cdc/raw/orders/"
    )
    error_message = "Outputs must expose the delivery stream, writer and DLQ."
  }
}

run "customer_managed_key_and_empty_prefix" {
  command = plan

  variables {
    prefix             = ""
    kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    buffering_size     = 128
    buffering_interval = 60
    alarm_actions      = ["arn:aws:sns:eu-west-1:123456789012:oncall"]
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.server_side_encryption[0].key_type == "CUSTOMER_MANAGED_CMK" &&
      aws_kinesis_firehose_delivery_stream.this.server_side_encryption[0].key_arn == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    )
    error_message = "kms_key_arn must encrypt the stream (CUSTOMER_MANAGED_CMK) and the delivered objects."
  }

  assert {
    condition = (
      aws_sqs_queue.dlq.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_lambda_function.writer.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_cloudwatch_log_group.writer.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_cloudwatch_log_group.firehose.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    )
    error_message = "kms_key_arn must encrypt the DLQ, the writer's environment and both log groups."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.firehose.statement : s.resources if s.sid == "EncryptObjectsThroughS3"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"]) &&
      one(one([for s in data.aws_iam_policy_document.firehose.statement : s.condition if s.sid == "EncryptObjectsThroughS3"])).values == tolist(["s3.eu-west-1.amazonaws.com"]) &&
      { for s in data.aws_iam_policy_document.writer.statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKey") } == {
        UseKeyForTableBucketQueuesFunctions = {
          keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"])
          via  = tolist(["dynamodb.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com", "firehose.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"])
        }
      }
    )
    error_message = "Both roles may use the key through the services that encrypt with it only: the delivery role through S3."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].prefix == "raw/orders/!{timestamp:yyyy/MM/dd/HH}/" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].error_output_prefix == "firehose-errors/orders/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/" &&
      one([for s in data.aws_iam_policy_document.writer.statement : s.resources if s.sid == "SpillQuarantinedRecords"]) == toset(["arn:aws:s3:::acme-orders-cdc/quarantine/orders/*"]) &&
      aws_lambda_function.writer.environment[0].variables["CDC_PREFIX"] == ""
    )
    error_message = "An empty prefix must put the layout at the bucket root with no leading slash."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].buffering_size == 128 &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].buffering_interval == 60 &&
      aws_cloudwatch_metric_alarm.delivery_freshness.threshold == 180
    )
    error_message = "Buffering inputs must reach Firehose and move the freshness threshold to 2 x 60 + 60 s."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.writer_errors.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"]) &&
      aws_cloudwatch_metric_alarm.dlq_depth.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"]) &&
      aws_cloudwatch_metric_alarm.delivery_freshness.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"])
    )
    error_message = "All three alarms must notify alarm_actions."
  }
}

run "active_tracing_and_writer_sizing" {
  command = plan

  variables {
    tracing_mode                   = "Active"
    memory_size                    = 256
    timeout                        = 30
    reserved_concurrent_executions = 2
    log_level                      = "WARNING"
    log_retention_days             = 14
  }

  assert {
    condition = (
      aws_lambda_function.writer.tracing_config[0].mode == "Active" &&
      one([for s in data.aws_iam_policy_document.writer.statement : s.actions if s.sid == "WriteTraces"]) == toset(["xray:PutTraceSegments", "xray:PutTelemetryRecords"])
    )
    error_message = "Active tracing must grant X-Ray writes."
  }

  assert {
    condition = (
      aws_lambda_function.writer.memory_size == 256 &&
      aws_lambda_function.writer.timeout == 30 &&
      aws_lambda_function.writer.reserved_concurrent_executions == 2 &&
      aws_lambda_function.writer.environment[0].variables["LOG_LEVEL"] == "WARNING" &&
      aws_cloudwatch_log_group.writer.retention_in_days == 14 &&
      aws_cloudwatch_log_group.firehose.retention_in_days == 14
    )
    error_message = "Writer sizing, log level and both retentions must follow the inputs."
  }
}

# Teams that keep keys apart: the delivered objects take the bucket's key, the stream and the DLQ the queues' key, the
# log groups the logs' key, and each role's grants follow them.
run "separate_keys_per_purpose_are_followed_by_both_roles" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    kms_keys = {
      bucket = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
      queues = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"
      logs   = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d"
    }
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.server_side_encryption[0].key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b" &&
      aws_sqs_queue.dlq.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c" &&
      aws_cloudwatch_log_group.writer.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d" &&
      aws_cloudwatch_log_group.firehose.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d" &&
      aws_lambda_function.writer.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    )
    error_message = "Each purpose's key must encrypt its resources."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.firehose.statement : s.resources if s.sid == "EncryptObjectsThroughS3"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"]) &&
      { for s in data.aws_iam_policy_document.writer.statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKey") } == {
        UseKeyForBucket = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"]), via = tolist(["s3.eu-west-1.amazonaws.com"]) }
        UseKeyForQueues = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"]), via = tolist(["sqs.eu-west-1.amazonaws.com", "firehose.eu-west-1.amazonaws.com"]) }
        # No table key given: the table's stream falls back to kms_key_arn, as the table itself does at the root.
        UseKeyForTableFunctions = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"]), via = tolist(["dynamodb.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"]) }
      }
    )
    error_message = "The delivery role must get the bucket's key through S3 only; the writer each key through the services that encrypt with it."
  }
}
