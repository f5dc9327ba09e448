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
  name       = "orders-cdc"
  bucket_arn = "arn:aws:s3:::acme-orders-cdc"
  table_name = "orders"
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
    alarm_actions = ["arn:aws:sqs:eu-west-1:123456789012:oncall"]
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

run "bucket_arn_rejects_bucket_name" {
  command = plan

  variables {
    bucket_arn = "acme-orders-cdc"
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

run "buffering_size_above_128_rejected" {
  command = plan

  variables {
    buffering_size = 129
  }

  expect_failures = [var.buffering_size]
}

run "buffering_interval_above_900_rejected" {
  command = plan

  variables {
    buffering_interval = 901
  }

  expect_failures = [var.buffering_interval]
}

run "log_retention_rejects_value_cloudwatch_lacks" {
  command = plan

  variables {
    log_retention_days = 0
  }

  expect_failures = [var.log_retention_days]
}
