# One run per validation rule: each sets a single bad value and expects that variable's validation to fail the plan.

mock_provider "aws" {
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

  # The real provider still validates policy arguments as JSON.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name                    = "orders-cdc"
  table_name              = "orders"
  table_arn               = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
  key_names               = ["id"]
  stream_mapping_uuid     = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
  bucket_name             = "acme-orders-cdc"
  bucket_arn              = "arn:aws:s3:::acme-orders-cdc"
  lambda_zip_path         = "build/ddb_cdc.zip"
  lambda_zip_base64sha256 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
}

run "name_rejects_uppercase" {
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

run "mode_rejects_unknown" {
  command = plan
  variables {
    mode = "zero_etl"
  }
  expect_failures = [var.mode]
}

run "table_name_rejects_bad_characters" {
  command = plan
  variables {
    table_name = "orders table"
  }
  expect_failures = [var.table_name]
}

run "table_arn_rejects_stream_arn" {
  command = plan
  variables {
    table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
  }
  expect_failures = [var.table_arn]
}

run "key_names_rejects_empty" {
  command = plan
  variables {
    key_names = []
  }
  expect_failures = [var.key_names]
}

run "key_names_rejects_three" {
  command = plan
  variables {
    key_names = ["a", "b", "c"]
  }
  expect_failures = [var.key_names]
}

run "stream_mapping_uuid_rejects_arn" {
  command = plan
  variables {
    stream_mapping_uuid = "arn:aws:lambda:eu-west-1:123456789012:event-source-mapping:0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
  }
  expect_failures = [var.stream_mapping_uuid]
}

run "bucket_name_rejects_uppercase" {
  command = plan
  variables {
    bucket_name = "Acme_Orders"
  }
  expect_failures = [var.bucket_name]
}

run "bucket_arn_rejects_object_arn" {
  command = plan
  variables {
    bucket_arn = "arn:aws:s3:::acme-orders-cdc/cdc/*"
  }
  expect_failures = [var.bucket_arn]
}

run "prefix_rejects_trailing_slash" {
  command = plan
  variables {
    prefix = "cdc/"
  }
  expect_failures = [var.prefix]
}

run "lambda_zip_path_rejects_non_zip" {
  command = plan
  variables {
    lambda_zip_path = "build/ddb_cdc.tar.gz"
  }
  expect_failures = [var.lambda_zip_path]
}

run "lambda_zip_base64sha256_rejects_hex" {
  command = plan
  variables {
    lambda_zip_base64sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
  }
  expect_failures = [var.lambda_zip_base64sha256]
}

run "memory_size_rejects_too_small" {
  command = plan
  variables {
    memory_size = 64
  }
  expect_failures = [var.memory_size]
}

run "timeout_rejects_under_a_minute" {
  command = plan
  variables {
    timeout = 30
  }
  expect_failures = [var.timeout]
}

run "timeout_rejects_over_fifteen_minutes" {
  command = plan
  variables {
    timeout = 901
  }
  expect_failures = [var.timeout]
}

run "log_level_rejects_unknown" {
  command = plan
  variables {
    log_level = "TRACE"
  }
  expect_failures = [var.log_level]
}

run "log_retention_days_rejects_unsupported" {
  command = plan
  variables {
    log_retention_days = 10
  }
  expect_failures = [var.log_retention_days]
}

run "total_segments_rejects_zero" {
  command = plan
  variables {
    total_segments = 0
  }
  expect_failures = [var.total_segments]
}

run "total_segments_rejects_over_a_thousand" {
  command = plan
  variables {
    total_segments = 1001
  }
  expect_failures = [var.total_segments]
}

run "max_concurrency_rejects_over_forty" {
  command = plan
  variables {
    max_concurrency = 41
  }
  expect_failures = [var.max_concurrency]
}

run "page_size_rejects_over_ten_thousand" {
  command = plan
  variables {
    page_size = 10001
  }
  expect_failures = [var.page_size]
}

run "read_units_per_second_rejects_zero" {
  command = plan
  variables {
    read_units_per_second = 0
  }
  expect_failures = [var.read_units_per_second]
}

run "retry_interval_rejects_zero" {
  command = plan
  variables {
    retry = { interval_seconds = 0 }
  }
  expect_failures = [var.retry]
}

run "retry_max_attempts_rejects_fraction" {
  command = plan
  variables {
    retry = { max_attempts = 2.5 }
  }
  expect_failures = [var.retry]
}

run "retry_backoff_rate_rejects_below_one" {
  command = plan
  variables {
    retry = { backoff_rate = 0.5 }
  }
  expect_failures = [var.retry]
}

run "retry_max_delay_rejects_zero" {
  command = plan
  variables {
    retry = { max_delay_seconds = 0 }
  }
  expect_failures = [var.retry]
}

run "export_poll_seconds_rejects_under_five" {
  command = plan
  variables {
    export_poll_seconds = 1
  }
  expect_failures = [var.export_poll_seconds]
}

run "max_attempts_rejects_zero" {
  command = plan
  variables {
    max_attempts = 0
  }
  expect_failures = [var.max_attempts]
}
