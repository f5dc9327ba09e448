# Every validation of modules/emr_compaction refuses a bad value at plan time.

mock_provider "aws" {
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }

  mock_data "aws_region" {
    defaults = { id = "eu-west-1", name = "eu-west-1" }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/orders-cdc-mock" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vendedlogs/states/orders-cdc-compaction" }
  }

  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders-cdc-compaction" }
  }
}

variables {
  name                = "orders-cdc"
  table_name          = "orders"
  bucket_name         = "acme-orders-cdc"
  bucket_arn          = "arn:aws:s3:::acme-orders-cdc"
  subnet_id           = "subnet-0a1b2c3d4e5f60718"
  loader_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader"
  alerts_topic_arn    = "arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"
}

run "valid_inputs_plan" {
  command = plan
}

run "release_6_1_0_plans" {
  command = plan

  variables {
    release_label = "emr-6.1.0"
  }
}

run "release_10_plans" {
  command = plan

  variables {
    release_label = "emr-10.0.0"
  }
}

run "name_rejects_uppercase" {
  command = plan

  variables {
    name = "Orders"
  }

  expect_failures = [var.name]
}

run "alarm_actions_rejects_non_sns_arn" {
  command = plan

  variables {
    alarm_actions = ["arn:aws:sqs:eu-west-1:123456789012:q"]
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

run "log_retention_rejects_value_cloudwatch_lacks" {
  command = plan

  variables {
    log_retention_days = 2
  }

  expect_failures = [var.log_retention_days]
}

run "table_name_rejects_short_name" {
  command = plan

  variables {
    table_name = "ab"
  }

  expect_failures = [var.table_name]
}

run "bucket_name_rejects_uppercase" {
  command = plan

  variables {
    bucket_name = "Acme-Orders"
  }

  expect_failures = [var.bucket_name]
}

run "bucket_arn_rejects_object_arn" {
  command = plan

  variables {
    bucket_arn = "arn:aws:s3:::acme-orders-cdc/cdc"
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

run "loader_function_arn_rejects_qualified_arn" {
  command = plan

  variables {
    loader_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader:live"
  }

  expect_failures = [var.loader_function_arn]
}

run "alerts_topic_arn_rejects_queue_arn" {
  command = plan

  variables {
    alerts_topic_arn = "arn:aws:sqs:eu-west-1:123456789012:q"
  }

  expect_failures = [var.alerts_topic_arn]
}

run "alerts_topic_kms_key_arn_rejects_alias" {
  command = plan

  variables {
    alerts_topic_kms_key_arn = "alias/alerts"
  }

  expect_failures = [var.alerts_topic_kms_key_arn]
}

run "dead_letter_queue_arn_rejects_topic_arn" {
  command = plan

  variables {
    dead_letter_queue_arn = "arn:aws:sns:eu-west-1:123456789012:t"
  }

  expect_failures = [var.dead_letter_queue_arn]
}

run "subnet_id_rejects_a_name" {
  command = plan

  variables {
    subnet_id = "private-a"
  }

  expect_failures = [var.subnet_id]
}

run "release_label_rejects_a_version_alone" {
  command = plan

  variables {
    release_label = "7.2.0"
  }

  expect_failures = [var.release_label]
}

run "release_label_rejects_6_0" {
  command = plan

  variables {
    release_label = "emr-6.0.0"
  }

  expect_failures = [var.release_label]
}

run "release_label_rejects_5_x" {
  command = plan

  variables {
    release_label = "emr-5.36.1"
  }

  expect_failures = [var.release_label]
}

run "master_instance_type_rejects_a_size_alone" {
  command = plan

  variables {
    master_instance_type = "xlarge"
  }

  expect_failures = [var.master_instance_type]
}

run "core_instance_type_rejects_a_family_alone" {
  command = plan

  variables {
    core_instance_type = "m5"
  }

  expect_failures = [var.core_instance_type]
}

run "core_instance_count_rejects_21" {
  command = plan

  variables {
    core_instance_count = 21
  }

  expect_failures = [var.core_instance_count]
}

run "core_instance_count_rejects_a_fraction" {
  command = plan

  variables {
    core_instance_count = 1.5
  }

  expect_failures = [var.core_instance_count]
}

run "additional_security_group_ids_rejects_five" {
  command = plan

  variables {
    additional_security_group_ids = ["sg-01", "sg-02", "sg-03", "sg-04", "sg-05"]
  }

  expect_failures = [var.additional_security_group_ids]
}

run "additional_security_group_ids_rejects_a_name" {
  command = plan

  variables {
    additional_security_group_ids = ["emr-extra"]
  }

  expect_failures = [var.additional_security_group_ids]
}

run "emr_managed_master_security_group_id_rejects_a_name" {
  command = plan

  variables {
    emr_managed_master_security_group_id = "master"
    emr_managed_core_security_group_id   = "sg-0cccccccccccccccc"
  }

  expect_failures = [var.emr_managed_master_security_group_id]
}

run "emr_managed_core_security_group_id_needs_the_master_one" {
  command = plan

  variables {
    emr_managed_core_security_group_id = "sg-0cccccccccccccccc"
  }

  expect_failures = [var.emr_managed_core_security_group_id]
}

run "service_access_security_group_id_rejects_a_name" {
  command = plan

  variables {
    service_access_security_group_id = "service"
  }

  expect_failures = [var.service_access_security_group_id]
}

run "idle_timeout_rejects_below_a_minute" {
  command = plan

  variables {
    idle_timeout_seconds = 59
  }

  expect_failures = [var.idle_timeout_seconds]
}

run "idle_timeout_rejects_above_7_days" {
  command = plan

  variables {
    idle_timeout_seconds = 604801
  }

  expect_failures = [var.idle_timeout_seconds]
}

run "grace_minutes_rejects_zero" {
  command = plan

  variables {
    grace_minutes = 0
  }

  expect_failures = [var.grace_minutes]
}

run "grace_minutes_rejects_60" {
  command = plan

  variables {
    grace_minutes = 60
  }

  expect_failures = [var.grace_minutes]
}

run "cluster_timeout_rejects_below_5_minutes" {
  command = plan

  variables {
    cluster_timeout_seconds = 299
  }

  expect_failures = [var.cluster_timeout_seconds]
}

run "cluster_timeout_rejects_above_2_hours" {
  command = plan

  variables {
    cluster_timeout_seconds = 7201
  }

  expect_failures = [var.cluster_timeout_seconds]
}

run "step_timeout_rejects_below_a_minute" {
  command = plan

  variables {
    step_timeout_seconds = 59
  }

  expect_failures = [var.step_timeout_seconds]
}

run "step_timeout_rejects_above_a_day" {
  command = plan

  variables {
    step_timeout_seconds = 86401
  }

  expect_failures = [var.step_timeout_seconds]
}
