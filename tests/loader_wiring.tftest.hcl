mock_provider "aws" {
  override_during = plan
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1", id = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:orders-cdc-writer-dlq"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/orders-cdc-writer-dlq"
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
      arn    = "arn:aws:s3:::orders-cdc-changes"
      bucket = "orders-cdc-changes"
    }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:orders-cdc-load-alerts" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
      key_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    }
  }
  mock_resource "aws_scheduler_schedule" {
    defaults = { arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/orders-cdc-loader" }
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

run "defaults_wire_an_s3_event_loader" {
  command = plan

  assert {
    condition = (
      length(module.redshift_loader.queue_url) > 0 &&
      output.load_schedule_arn == "arn:aws:scheduler:us-east-1:123456789012:schedule/default/orders-cdc-loader" &&
      output.manifests_prefix == "cdc/manifests/orders/" &&
      output.load_strategy == "s3_event"
    )
    error_message = "Default root wiring must create the s3_event loader."
  }
}

run "schedule_strategy_with_tuning" {
  command = plan

  variables {
    load_strategy = "schedule"
    loader        = { schedule = { rate_minutes = 5 }, timeout = 300, log_level = "DEBUG" }
    redshift = {
      kind               = "provisioned"
      database           = "dev"
      cluster_identifier = "analytics"
      db_user            = "cdc_loader"
      copy_role_arn      = "arn:aws:iam::123456789012:role/redshift-copy"
      data_api_mode      = "poll"
    }
  }

  assert {
    condition     = output.load_queue_url == null && output.copy_role_arn == "arn:aws:iam::123456789012:role/redshift-copy" && output.load_completion_function_name == null
    error_message = "schedule strategy, given copy role and poll mode must pass through."
  }
}

run "every_alarm_reaches_the_encrypted_alert_topic_by_default" {
  command = plan

  assert {
    condition = (
      output.load_alerts_topic_arn == "arn:aws:sns:us-east-1:123456789012:orders-cdc-load-alerts" &&
      output.load_alerts_kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" &&
      local.alarm_actions == tolist(["arn:aws:sns:us-east-1:123456789012:orders-cdc-load-alerts"])
    )
    error_message = "With no alarm_actions, the writer, stream and loader alarms must all notify the created topic, encrypted with the created key."
  }
}

run "alarm_actions_add_to_the_alert_topic" {
  command = plan

  variables {
    alarm_actions = ["arn:aws:sns:us-east-1:123456789012:oncall"]
    loader        = { sns_topic_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555", s3_event = { reconcile_rate_minutes = 15 } }
  }

  assert {
    condition = (
      local.alarm_actions == tolist(["arn:aws:sns:us-east-1:123456789012:oncall", "arn:aws:sns:us-east-1:123456789012:orders-cdc-load-alerts"]) &&
      output.load_alerts_kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555"
    )
    error_message = "alarm_actions must be notified besides the alert topic, and loader.sns_topic_kms_key_arn must reach the loader."
  }
}

run "root_rejects_reconcile_rate_of_zero" {
  command = plan

  variables {
    loader = { s3_event = { reconcile_rate_minutes = 0 } }
  }

  expect_failures = [var.loader]
}

run "root_rejects_topic_key_alias" {
  command = plan

  variables {
    loader = { sns_topic_kms_key_arn = "alias/alerts" }
  }

  expect_failures = [var.loader]
}

run "root_rejects_topic_key_with_own_topic" {
  command = plan

  variables {
    loader = {
      sns_topic_arn         = "arn:aws:sns:us-east-1:123456789012:data-alerts"
      sns_topic_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555"
    }
  }

  expect_failures = [var.loader]
}

run "root_rejects_an_unknown_strategy" {
  command = plan

  variables {
    load_strategy = "kinesis"
  }

  expect_failures = [var.load_strategy]
}

run "key_column_names_for_a_key_attribute_plans" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", key_column_names = { order_id = "id" } }
  }

  assert {
    condition     = output.table_key.hash_key.name == "order_id"
    error_message = "Renaming the column of a key attribute must plan."
  }
}

run "key_column_names_rejects_a_name_that_is_not_a_key_attribute" {
  command = plan

  variables {
    # A typo would otherwise be dropped silently and the loader would fail at run time.
    target_spec = { schema = "cdc", table = "orders", key_column_names = { Order_Id = "id" } }
  }

  expect_failures = [output.table_key]
}
