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
  create_bucket = true
  bucket_name   = "acme-orders-cdc"
  table_name    = "orders"
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

run "compaction_expiration_days_rejects_zero" {
  command = plan

  variables {
    compaction_expiration_days = 0
  }

  expect_failures = [var.compaction_expiration_days]
}
