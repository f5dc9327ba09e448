# Root module, capture path: each aggregation value wires exactly its own sink, and every root validation
# rule rejects bad input. Plan-only with mock providers (the offline archive stand-in supplies the schema).

mock_provider "aws" {
  # The real provider still validates policy arguments as JSON, and ARN-shaped inputs as ARNs.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:orders-cdc-writer-dlq"
    }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::orders-cdc-changes"
    }
  }
}

mock_provider "archive" {
  mock_data "archive_file" {
    defaults = {
      output_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    }
  }
}

variables {
  name = "orders-cdc"
  table = {
    name     = "orders"
    create   = true
    hash_key = { name = "order_id", type = "S" }
  }
  bucket = {
    name   = "orders-cdc-changes"
    create = true
    prefix = "cdc"
  }
  redshift = {
    kind             = "serverless"
    database         = "dev"
    workgroup_name   = "analytics"
    create_copy_role = true
  }
  target_spec = {
    schema = "cdc"
    table  = "orders"
  }
}

run "lambda_aggregation_uses_the_s3_writer_and_no_firehose" {
  command = plan

  assert {
    condition     = length(module.firehose) == 0
    error_message = "aggregation = lambda must not create the Firehose module."
  }

  assert {
    condition = (
      keys(module.stream_writer) == ["lambda"] &&
      output.writer_function_name == module.stream_writer["lambda"].function_name &&
      output.writer_function_name == "orders-cdc-s3-writer"
    )
    error_message = "The stream must be mapped to the S3 writer, the one stream_writer instance (key \"lambda\")."
  }

  assert {
    condition     = output.delivery_stream_name == null
    error_message = "aggregation = lambda creates no delivery stream."
  }

  assert {
    condition     = output.raw_prefix == "cdc/raw/orders/"
    error_message = "raw objects must live under <prefix>/raw/<table>/."
  }
}

run "firehose_aggregation_uses_the_firehose_writer_and_no_s3_writer" {
  command = plan

  variables {
    aggregation = "firehose"
    firehose    = { buffering_size_mb = 32, buffering_interval_seconds = 120 }
  }

  assert {
    condition     = length(module.firehose) == 1
    error_message = "aggregation = firehose must create the Firehose module."
  }

  assert {
    condition     = keys(module.stream_writer) == ["firehose"]
    error_message = "aggregation = firehose must create the Firehose writer only (one stream_writer instance, key \"firehose\"), not the S3 writer."
  }

  assert {
    condition = (
      output.writer_function_name == module.stream_writer["firehose"].function_name &&
      output.writer_function_name == "orders-cdc-firehose-writer"
    )
    error_message = "The stream must be mapped to the Firehose writer."
  }
}

run "adopting_a_table_with_its_stream_on" {
  command = plan

  variables {
    table = { name = "orders", create = false }
  }

  override_data {
    target = module.ddb_stream.data.aws_dynamodb_table.adopted
    values = {
      arn              = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_arn       = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
      stream_enabled   = true
      stream_view_type = "NEW_AND_OLD_IMAGES"
      hash_key         = "order_id"
      range_key        = null
      attribute        = [{ name = "order_id", type = "S" }]
    }
  }

  assert {
    condition     = output.table_name == "orders"
    error_message = "The adopted table must be the one named."
  }
}

run "rejects_an_unknown_aggregation" {
  command = plan

  variables {
    aggregation = "kinesis"
  }

  expect_failures = [var.aggregation]
}

run "rejects_a_bad_name" {
  command = plan

  variables {
    name = "Orders_CDC"
  }

  expect_failures = [var.name]
}

run "rejects_a_kms_key_that_is_not_an_arn" {
  command = plan

  variables {
    kms_key_arn = "alias/my-key"
  }

  expect_failures = [var.kms_key_arn]
}
