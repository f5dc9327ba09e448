# The consumer configuration (../main.tf) plans cleanly, and so do its accepted variants. Its mistakes are refused in
# tests/plan_time_errors.tftest.hcl at the repository root: `expect_failures` may only name checkable objects of the
# configuration under test (Terraform 1.11 refuses module.cdc and module.cdc.var.bucket), so a refusal inside
# module.cdc cannot be expected from here. tests/terraform/test_consumer_mistakes.py plans this consumer with each
# mistake and reads the error Terraform prints, which must name the input the consumer typed.

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
  mock_data "aws_s3_bucket" {
    defaults = {
      arn    = "arn:aws:s3:::acme-shop-cdc"
      bucket = "acme-shop-cdc"
    }
  }
  mock_data "aws_redshiftserverless_workgroup" {
    defaults = { arn = "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/0b7c0e3e-7e53-4bd2-9d25-2b1e4f1d8c11" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:shop-cdc-firehose-writer-dlq"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/shop-cdc-firehose-writer-dlq"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/shop-cdc-role" }
  }
  mock_resource "aws_kinesis_firehose_delivery_stream" {
    defaults = { arn = "arn:aws:firehose:us-east-1:123456789012:deliverystream/shop-cdc-raw-to-s3" }
  }
  mock_resource "aws_scheduler_schedule" {
    defaults = { arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/shop-cdc-loader" }
  }
}

mock_provider "archive" {
  mock_data "archive_file" {
    defaults = {
      output_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    }
  }
}

# The adopted table, as AWS describes it while planning.
override_data {
  target = module.cdc.module.ddb_stream.data.aws_dynamodb_table.adopted[0]
  values = {
    arn              = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    stream_arn       = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
    stream_enabled   = true
    stream_view_type = "NEW_AND_OLD_IMAGES"
    hash_key         = "order_id"
    range_key        = "created_at"
    attribute        = [{ name = "order_id", type = "S" }, { name = "created_at", type = "N" }]
  }
}

run "the_consumer_plans_without_taking_over_anything" {
  command = plan

  assert {
    condition     = module.cdc.bucket_name == "acme-shop-cdc" && module.cdc.bucket_arn == "arn:aws:s3:::acme-shop-cdc"
    error_message = "The adopted bucket must be used by name."
  }

  assert {
    condition     = module.cdc.load_queue_url == null && module.cdc.load_strategy == "schedule"
    error_message = "schedule must build no S3 notification queue: the adopted bucket's notifications stay the team's."
  }

  assert {
    condition     = module.cdc.load_alerts_topic_arn == "arn:aws:sns:us-east-1:123456789012:shop-alerts" && module.cdc.table_key.range_key.name == "created_at"
    error_message = "The team's topic and the adopted table's key schema must reach the loader."
  }
}

run "a_key_attribute_that_is_not_a_sql_name_plans_with_key_column_names" {
  command = plan

  override_data {
    target = module.cdc.module.ddb_stream.data.aws_dynamodb_table.adopted[0]
    values = {
      arn              = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_arn       = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
      stream_enabled   = true
      stream_view_type = "NEW_AND_OLD_IMAGES"
      hash_key         = "order-id"
      range_key        = null
      attribute        = [{ name = "order-id", type = "S" }]
    }
  }

  variables {
    target_spec = {
      schema           = "cdc"
      table            = "orders"
      mode             = "columns"
      history          = true
      columns          = [{ name = "status", type = "VARCHAR(32)", path = ["status"] }]
      key_column_names = { "order-id" = "order_id" }
    }
  }

  assert {
    condition     = module.cdc.table_key.hash_key.name == "order-id"
    error_message = "key_column_names must carry order-id through to the loader."
  }
}

run "s3_event_on_the_adopted_bucket_plans_once_acknowledged" {
  command = plan

  variables {
    load_strategy = "s3_event"
    loader = {
      sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:shop-alerts"
      s3_event      = { replace_bucket_notifications = true }
    }
  }

  assert {
    condition     = module.cdc.load_queue_url != null
    error_message = "An acknowledged s3_event strategy must build its queue."
  }
}
