# One run per validation rule: each sets a single bad value and expects that
# variable's validation to fail the plan.

mock_provider "aws" {}

variables {
  name                       = "orders-cdc"
  table_name                 = "orders"
  hash_key                   = { name = "pk", type = "S" }
  function_name              = "orders-cdc-s3-writer"
  on_failure_destination_arn = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-s3-writer-dlq"
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
    kms_key_arn = "alias/aws/dynamodb"
  }

  expect_failures = [var.kms_key_arn]
}

run "table_name_rejects_short_name" {
  command = plan

  variables {
    table_name = "ab"
  }

  expect_failures = [var.table_name]
}

run "hash_key_rejects_unknown_type" {
  command = plan

  variables {
    hash_key = { name = "pk", type = "BOOL" }
  }

  expect_failures = [var.hash_key]
}

run "hash_key_rejects_empty_name" {
  command = plan

  variables {
    hash_key = { name = "", type = "S" }
  }

  expect_failures = [var.hash_key]
}

run "range_key_rejects_unknown_type" {
  command = plan

  variables {
    range_key = { name = "sk", type = "SS" }
  }

  expect_failures = [var.range_key]
}

run "range_key_rejects_empty_name" {
  command = plan

  variables {
    range_key = { name = "", type = "S" }
  }

  expect_failures = [var.range_key]
}

run "function_name_rejects_arn" {
  command = plan

  variables {
    function_name = "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-s3-writer"
  }

  expect_failures = [var.function_name]
}

run "on_failure_destination_rejects_sns_arn" {
  command = plan

  variables {
    on_failure_destination_arn = "arn:aws:sns:eu-west-1:123456789012:dlq"
  }

  expect_failures = [var.on_failure_destination_arn]
}

run "batch_size_above_10000_rejected" {
  command = plan

  variables {
    stream_mapping = { batch_size = 10001 }
  }

  expect_failures = [var.stream_mapping]
}

run "batching_window_above_300_rejected" {
  command = plan

  variables {
    stream_mapping = { maximum_batching_window_in_seconds = 301 }
  }

  expect_failures = [var.stream_mapping]
}

run "parallelization_factor_above_10_rejected" {
  command = plan

  variables {
    stream_mapping = { parallelization_factor = 11 }
  }

  expect_failures = [var.stream_mapping]
}

run "starting_position_at_timestamp_rejected" {
  command = plan

  variables {
    stream_mapping = { starting_position = "AT_TIMESTAMP" }
  }

  expect_failures = [var.stream_mapping]
}

run "retry_attempts_below_minus_one_rejected" {
  command = plan

  variables {
    stream_mapping = { maximum_retry_attempts = -2 }
  }

  expect_failures = [var.stream_mapping]
}

run "record_age_between_0_and_60_rejected" {
  command = plan

  variables {
    stream_mapping = { maximum_record_age_in_seconds = 30 }
  }

  expect_failures = [var.stream_mapping]
}

run "more_than_10_filter_patterns_rejected" {
  command = plan

  variables {
    stream_mapping = { filter_patterns = [for i in range(11) : "{\"eventName\":[\"INSERT\"]}"] }
  }

  expect_failures = [var.stream_mapping]
}

run "filter_pattern_that_is_not_a_json_object_rejected" {
  command = plan

  variables {
    stream_mapping = { filter_patterns = ["eventName = INSERT"] }
  }

  expect_failures = [var.stream_mapping]
}

run "iterator_age_threshold_beyond_stream_retention_rejected" {
  command = plan

  variables {
    iterator_age_alarm_threshold_ms = 86400000
  }

  expect_failures = [var.iterator_age_alarm_threshold_ms]
}
