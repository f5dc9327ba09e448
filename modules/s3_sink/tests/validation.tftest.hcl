# One run per validation rule: each sets a single bad value and expects that
# variable's validation to fail the plan.

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
  create_bucket           = true
  bucket_name             = "acme-orders-cdc"
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

run "bucket_name_rejects_uppercase" {
  command = plan

  variables {
    bucket_name = "Acme-Orders"
  }

  expect_failures = [var.bucket_name]
}

run "bucket_name_rejects_double_dots" {
  command = plan

  variables {
    bucket_name = "acme..orders"
  }

  expect_failures = [var.bucket_name]
}

run "prefix_rejects_leading_slash" {
  command = plan

  variables {
    prefix = "/cdc"
  }

  expect_failures = [var.prefix]
}

run "prefix_rejects_trailing_slash" {
  command = plan

  variables {
    prefix = "cdc/"
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

run "noncurrent_version_expiration_rejects_zero" {
  command = plan

  variables {
    noncurrent_version_expiration_days = 0
  }

  expect_failures = [var.noncurrent_version_expiration_days]
}

run "raw_expiration_rejects_negative" {
  command = plan

  variables {
    raw_expiration_days = -1
  }

  expect_failures = [var.raw_expiration_days]
}

run "access_log_target_rejects_invalid_bucket" {
  command = plan

  variables {
    access_log_target = { bucket_name = "Logs_Bucket" }
  }

  expect_failures = [var.access_log_target]
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

run "compaction_expiration_days_rejects_zero" {
  command = plan

  variables {
    compaction_expiration_days = 0
  }

  expect_failures = [var.compaction_expiration_days]
}
