# Plan-only tests of the delivery stream, its role, log and freshness alarm, with and
# without a customer managed key. The mock provider produces computed values at
# plan time so that the IAM policy documents are read and can be asserted. The
# writer that puts records into the stream is modules/stream_writer's.

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

  mock_resource "aws_kinesis_firehose_delivery_stream" {
    defaults = {
      arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-cdc-raw-to-s3"
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
  name       = "orders-cdc"
  bucket_arn = "arn:aws:s3:::acme-orders-cdc"
  table_name = "orders"
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
      data.aws_iam_policy_document.firehose.statement[3].resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:mock:log-stream:DestinationDelivery"])
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
      aws_cloudwatch_metric_alarm.delivery_freshness.namespace == "AWS/Firehose" &&
      aws_cloudwatch_metric_alarm.delivery_freshness.metric_name == "DeliveryToS3.DataFreshness" &&
      aws_cloudwatch_metric_alarm.delivery_freshness.dimensions["DeliveryStreamName"] == "orders-cdc-raw-to-s3" &&
      aws_cloudwatch_metric_alarm.delivery_freshness.threshold == 660 &&
      aws_cloudwatch_metric_alarm.delivery_freshness.alarm_name == "orders-cdc-raw-to-s3-delivery-stale"
    )
    error_message = "The alarm must watch delivery freshness (2 x 300 + 60 s)."
  }

  assert {
    condition = (
      output.delivery_stream_name == "orders-cdc-raw-to-s3" &&
      output.delivery_stream_arn == "arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-cdc-raw-to-s3" &&
      output.delivery_role_arn == "arn:aws:iam::123456789012:role/orders-cdc-mock" &&
      output.raw_prefix == "cdc/raw/orders/"
    )
    error_message = "Outputs must expose the delivery stream, its role and the raw prefix."
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
      one([for s in data.aws_iam_policy_document.firehose.statement : s.resources if s.sid == "EncryptObjectsThroughS3"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"]) &&
      one(one([for s in data.aws_iam_policy_document.firehose.statement : s.condition if s.sid == "EncryptObjectsThroughS3"])).values == tolist(["s3.eu-west-1.amazonaws.com"]) &&
      aws_cloudwatch_log_group.firehose.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    )
    error_message = "The delivery role may use the key through S3 only, and the key encrypts the delivery log."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].prefix == "raw/orders/!{timestamp:yyyy/MM/dd/HH}/" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].error_output_prefix == "firehose-errors/orders/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
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
      aws_cloudwatch_metric_alarm.delivery_freshness.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"])
    )
    error_message = "The freshness alarm must notify alarm_actions."
  }
}

run "log_retention_follows_its_input" {
  command = plan

  variables {
    log_retention_days = 14
  }

  assert {
    condition     = aws_cloudwatch_log_group.firehose.retention_in_days == 14
    error_message = "The delivery log group's retention must follow log_retention_days."
  }
}

# Teams that keep keys apart: the delivered objects take the bucket's key, the stream the queues' key, the log group
# the logs' key, and the delivery role's grant follows the bucket's.
run "separate_keys_per_purpose_are_followed" {
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
      aws_cloudwatch_log_group.firehose.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d"
    )
    error_message = "Each purpose's key must encrypt its resources."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.firehose.statement : s.sid if startswith(s.sid, "Encrypt")] == ["EncryptObjectsThroughS3"] &&
      one([for s in data.aws_iam_policy_document.firehose.statement : s.resources if s.sid == "EncryptObjectsThroughS3"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"])
    )
    error_message = "The delivery role must get the bucket's key, and only that key, through S3 only."
  }
}
