# One run per validation rule: each sets a single bad value (or a wrong combination) and expects that variable's
# validation to fail the plan.

mock_provider "aws" {
  # The real provider still validates policy arguments as JSON.
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

run "name_rejects_uppercase_and_underscores" {
  command = plan

  variables {
    name = "Orders_CDC"
  }

  expect_failures = [var.name]
}

run "alarm_actions_rejects_non_sns_arns" {
  command = plan

  variables {
    alarm_actions = ["oncall@example.com"]
  }

  expect_failures = [var.alarm_actions]
}

run "kms_key_arn_rejects_alias" {
  command = plan

  variables {
    kms_key_arn = "alias/cdc"
  }

  expect_failures = [var.kms_key_arn]
}

run "kms_keys_rejects_alias" {
  command = plan

  variables {
    kms_keys = { logs = "alias/logs" }
  }

  expect_failures = [var.kms_keys]
}

run "destination_rejects_unknown_destination" {
  command = plan

  variables {
    destination = "kinesis"
  }

  expect_failures = [var.destination]
}

run "s3_destination_refuses_a_delivery_stream" {
  command = plan

  variables {
    delivery_stream = {
      name = "orders-cdc-raw-to-s3"
      arn  = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-cdc-raw-to-s3"
    }
  }

  expect_failures = [var.delivery_stream]
}

run "firehose_destination_requires_a_delivery_stream" {
  command = plan

  variables {
    destination = "firehose"
  }

  expect_failures = [var.delivery_stream]
}

run "delivery_stream_arn_must_name_the_stream" {
  command = plan

  variables {
    destination = "firehose"
    delivery_stream = {
      name = "orders-cdc-raw-to-s3"
      arn  = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/other-stream"
    }
  }

  expect_failures = [var.delivery_stream]
}

run "bucket_name_rejects_uppercase" {
  command = plan

  variables {
    bucket_name = "Acme-Orders"
  }

  # bucket_arn's own check reads bucket_name, so Terraform skips it once bucket_name has failed.
  expect_failures = [var.bucket_name]
}

run "bucket_arn_rejects_bucket_name" {
  command = plan

  variables {
    bucket_arn = "acme-orders-cdc"
  }

  expect_failures = [var.bucket_arn]
}

run "bucket_arn_must_be_the_named_bucket" {
  command = plan

  variables {
    bucket_arn = "arn:aws:s3:::acme-other-bucket"
  }

  expect_failures = [var.bucket_arn]
}

run "prefix_rejects_leading_slash" {
  command = plan

  variables {
    prefix = "/cdc"
  }

  expect_failures = [var.prefix]
}

run "table_name_rejects_short_name" {
  command = plan

  variables {
    table_name = "ab"
  }

  expect_failures = [var.table_name]
}

run "stream_arn_rejects_table_arn" {
  command = plan

  variables {
    stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
  }

  expect_failures = [var.stream_arn]
}

run "lambda_zip_path_rejects_non_zip" {
  command = plan

  variables {
    lambda_zip_path = "build/ddb_cdc.tar.gz"
  }

  expect_failures = [var.lambda_zip_path]
}

run "lambda_zip_hash_rejects_hex_digest" {
  command = plan

  variables {
    lambda_zip_base64sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
  }

  expect_failures = [var.lambda_zip_base64sha256]
}

run "memory_size_below_128_rejected" {
  command = plan

  variables {
    memory_size = 64
  }

  expect_failures = [var.memory_size]
}

run "timeout_above_900_rejected" {
  command = plan

  variables {
    timeout = 901
  }

  expect_failures = [var.timeout]
}

run "reserved_concurrency_zero_rejected" {
  command = plan

  variables {
    reserved_concurrent_executions = 0
  }

  expect_failures = [var.reserved_concurrent_executions]
}

run "tracing_mode_rejects_unknown_mode" {
  command = plan

  variables {
    tracing_mode = "Disabled"
  }

  expect_failures = [var.tracing_mode]
}

run "log_level_rejects_unknown_level" {
  command = plan

  variables {
    log_level = "TRACE"
  }

  expect_failures = [var.log_level]
}

run "log_retention_rejects_value_cloudwatch_lacks" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

