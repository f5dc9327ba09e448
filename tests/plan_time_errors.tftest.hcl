# Every natural mistake of an adopting user fails at plan time, on the root input the user typed (issue 13).
# The file-level configuration is the consumer's (tests/consumer/main.tf): adopted table with its stream on, adopted
# bucket, adopted Serverless workgroup, a KMS key, the user's own SNS topic, aggregation = "firehose",
# load_strategy = "schedule", columns mode with history. It must plan cleanly; each run changes one thing.
# These runs live at the root because `expect_failures` can only name checkable objects of the configuration under
# test (Terraform 1.11 refuses module.cdc and module.cdc.var.x), so the consumer keeps the clean plans.

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
  target = module.ddb_stream.data.aws_dynamodb_table.adopted[0]
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

variables {
  name        = "shop-cdc"
  aggregation = "firehose"
  table       = { name = "orders", create = false }
  bucket      = { name = "acme-shop-cdc", create = false, prefix = "cdc" }
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
  redshift = {
    kind             = "serverless"
    database         = "dev"
    workgroup_name   = "analytics"
    create_copy_role = true
  }
  load_strategy = "schedule"
  loader        = { sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:shop-alerts" }
  target_spec = {
    schema  = "cdc"
    table   = "orders"
    mode    = "columns"
    history = true
    columns = [
      { name = "status", type = "VARCHAR(32)", path = ["status"] },
      { name = "total", type = "DECIMAL(12,2)", path = ["amounts", "total"] },
    ]
  }
}

run "the_consumer_configuration_plans" {
  command = plan

  assert {
    condition     = output.table_key.hash_key.name == "order_id" && output.table_key.range_key.name == "created_at"
    error_message = "The adopted table's key schema must reach the loader."
  }

  assert {
    condition     = output.load_strategy == "schedule" && output.load_queue_url == null && output.load_alerts_topic_arn == "arn:aws:sns:us-east-1:123456789012:shop-alerts"
    error_message = "schedule with the user's own topic must build no queue and alert the user's topic."
  }
}

# -- target_spec: key attributes that are not SQL names -----------------------------------------------------------

run "a_key_attribute_that_is_not_a_sql_name_plans_with_key_column_names" {
  command = plan

  override_data {
    target = module.ddb_stream.data.aws_dynamodb_table.adopted[0]
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
    condition     = output.table_key.hash_key.name == "order-id"
    error_message = "A key attribute named order-id must plan when key_column_names gives it a SQL column."
  }
}

run "a_key_attribute_that_is_not_a_sql_name_is_refused_without_key_column_names" {
  command = plan

  override_data {
    target = module.ddb_stream.data.aws_dynamodb_table.adopted[0]
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

  expect_failures = [var.target_spec]
}

run "a_key_column_name_that_is_not_a_sql_name_is_refused" {
  command = plan

  variables {
    target_spec = {
      schema           = "cdc"
      table            = "orders"
      mode             = "columns"
      columns          = [{ name = "status", type = "VARCHAR(32)", path = ["status"] }]
      key_column_names = { order_id = "order id" }
    }
  }

  expect_failures = [var.target_spec]
}

# -- target_spec: reserved words ------------------------------------------------------------------------------------

run "a_key_attribute_named_user_is_refused_without_key_column_names" {
  command = plan

  override_data {
    target = module.ddb_stream.data.aws_dynamodb_table.adopted[0]
    values = {
      arn              = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_arn       = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
      stream_enabled   = true
      stream_view_type = "NEW_AND_OLD_IMAGES"
      hash_key         = "user"
      range_key        = null
      attribute        = [{ name = "user", type = "S" }]
    }
  }

  expect_failures = [var.target_spec]
}

run "a_key_attribute_named_user_plans_with_key_column_names" {
  command = plan

  override_data {
    target = module.ddb_stream.data.aws_dynamodb_table.adopted[0]
    values = {
      arn              = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_arn       = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
      stream_enabled   = true
      stream_view_type = "NEW_AND_OLD_IMAGES"
      hash_key         = "user"
      range_key        = null
      attribute        = [{ name = "user", type = "S" }]
    }
  }

  variables {
    target_spec = {
      schema           = "cdc"
      table            = "orders"
      mode             = "columns"
      columns          = [{ name = "status", type = "VARCHAR(32)", path = ["status"] }]
      key_column_names = { user = "user_id" }
    }
  }
}

run "a_declared_column_named_timestamp_is_refused" {
  command = plan

  variables {
    target_spec = {
      schema  = "cdc"
      table   = "orders"
      mode    = "columns"
      columns = [{ name = "Timestamp", type = "TIMESTAMP", path = ["ts"] }]
    }
  }

  expect_failures = [var.target_spec]
}

run "a_reserved_target_table_name_is_refused" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "order", mode = "columns", columns = [{ name = "status", type = "VARCHAR(32)", path = ["status"] }] }
  }

  expect_failures = [var.target_spec]
}

# -- target_spec: duplicate and metadata column names -------------------------------------------------------------

run "a_declared_column_named_like_a_key_column_is_refused" {
  command = plan

  variables {
    target_spec = {
      schema  = "cdc"
      table   = "orders"
      mode    = "columns"
      columns = [{ name = "Order_Id", type = "VARCHAR(64)", path = ["order_id"] }]
    }
  }

  expect_failures = [var.target_spec]
}

run "two_declared_columns_with_the_same_name_in_any_case_are_refused" {
  command = plan

  variables {
    target_spec = {
      schema = "cdc"
      table  = "orders"
      mode   = "columns"
      columns = [
        { name = "total", type = "DECIMAL(12,2)", path = ["total"] },
        { name = "TOTAL", type = "VARCHAR(32)", path = ["total_text"] },
      ]
    }
  }

  expect_failures = [var.target_spec]
}

run "a_key_column_renamed_onto_a_declared_column_is_refused" {
  command = plan

  variables {
    target_spec = {
      schema           = "cdc"
      table            = "orders"
      mode             = "columns"
      columns          = [{ name = "status", type = "VARCHAR(32)", path = ["status"] }]
      key_column_names = { created_at = "status" }
    }
  }

  expect_failures = [var.target_spec]
}

run "a_column_named_like_the_loaders_metadata_is_refused" {
  command = plan

  variables {
    target_spec = {
      schema  = "cdc"
      table   = "orders"
      mode    = "columns"
      columns = [{ name = "_cdc_op", type = "VARCHAR(8)", path = ["op"] }]
    }
  }

  expect_failures = [var.target_spec]
}

run "a_key_column_named_doc_in_document_mode_is_refused" {
  command = plan

  variables {
    target_spec = { schema = "cdc", table = "orders", key_column_names = { order_id = "doc" } }
  }

  expect_failures = [var.target_spec]
}

run "key_column_types_naming_a_non_key_attribute_is_refused" {
  command = plan

  variables {
    target_spec = {
      schema           = "cdc"
      table            = "orders"
      mode             = "columns"
      columns          = [{ name = "status", type = "VARCHAR(32)", path = ["status"] }]
      key_column_types = { orderid = "VARCHAR(64)" }
    }
  }

  expect_failures = [var.target_spec]
}

# -- bucket: adoption is explicit, and s3_event never clobbers an adopted bucket's notifications -------------------

run "bucket_create_unset_is_refused" {
  command = plan

  variables {
    bucket = { name = "acme-shop-cdc", prefix = "cdc" }
  }

  expect_failures = [var.bucket]
}

run "s3_event_on_an_adopted_bucket_is_refused" {
  command = plan

  variables {
    load_strategy = "s3_event"
  }

  expect_failures = [var.bucket]
}

run "s3_event_on_an_adopted_bucket_plans_when_acknowledged" {
  command = plan

  variables {
    load_strategy = "s3_event"
    loader = {
      sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:shop-alerts"
      s3_event      = { replace_bucket_notifications = true }
    }
  }

  assert {
    condition     = output.load_strategy == "s3_event"
    error_message = "An acknowledged s3_event on an adopted bucket must plan."
  }
}

run "s3_event_on_a_created_bucket_needs_no_acknowledgement" {
  command = plan

  variables {
    load_strategy = "s3_event"
    bucket        = { name = "acme-shop-cdc", create = true, prefix = "cdc" }
  }
}

run "an_invalid_bucket_name_is_refused_as_bucket_name" {
  command = plan

  variables {
    bucket = { name = "Acme_Shop", create = false }
  }

  expect_failures = [var.bucket]
}

run "an_invalid_bucket_prefix_is_refused_as_bucket_prefix" {
  command = plan

  variables {
    bucket = { name = "acme-shop-cdc", create = false, prefix = "/cdc/" }
  }

  expect_failures = [var.bucket]
}

# -- redshift: the warehouse's rules, in redshift.* words ---------------------------------------------------------

run "an_invalid_workgroup_name_is_refused_as_redshift_workgroup_name" {
  command = plan

  variables {
    redshift = { kind = "serverless", database = "dev", workgroup_name = "Analytics_WG", create_copy_role = true }
  }

  expect_failures = [var.redshift]
}

run "a_serverless_warehouse_with_a_cluster_identifier_is_refused" {
  command = plan

  variables {
    redshift = { kind = "serverless", database = "dev", workgroup_name = "analytics", cluster_identifier = "analytics", create_copy_role = true }
  }

  expect_failures = [var.redshift]
}

run "a_warehouse_without_a_copy_role_is_refused" {
  command = plan

  variables {
    redshift = { kind = "serverless", database = "dev", workgroup_name = "analytics" }
  }

  expect_failures = [var.redshift]
}

run "psycopg2_without_its_layer_and_network_is_refused" {
  command = plan

  variables {
    redshift = { kind = "serverless", database = "dev", workgroup_name = "analytics", create_copy_role = true, executor = "psycopg2" }
  }

  expect_failures = [var.redshift]
}

# -- kms_key_arn: an alias is refused with the command that finds its key ARN ---------------------------------------

run "a_kms_alias_name_is_refused" {
  command = plan

  variables {
    kms_key_arn = "alias/shop-cdc"
  }

  expect_failures = [var.kms_key_arn]
}

run "a_kms_alias_arn_is_refused" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/shop-cdc"
  }

  expect_failures = [var.kms_key_arn]
}

# -- name: names and descriptions that would exceed AWS's limits once combined (checked on name, their prefix) ----------------------------------------------------

run "a_long_table_name_that_overflows_a_lambda_description_is_refused" {
  command = plan

  variables {
    # 150 characters: "Loads <table> changes from s3://acme-shop-cdc/cdc/raw/<table>/ into Redshift cdc.orders" is 355 > 256.
    table = { name = "orders-${join("", [for i in range(142) : "x"])}", create = false }
  }

  expect_failures = [var.name]
}

run "a_created_table_without_a_hash_key_is_refused_as_table_hash_key" {
  command = plan

  variables {
    table = { name = "orders", create = true }
  }

  expect_failures = [var.table]
}

# -- writer, firehose, loader: the submodules' ranges, in the root's words ----------------------------------------

run "a_writer_memory_size_out_of_range_is_refused_as_writer_memory_size" {
  command = plan

  variables {
    writer = { memory_size = 64 }
  }

  expect_failures = [var.writer]
}

run "a_firehose_buffer_out_of_range_is_refused_as_firehose_buffering_size_mb" {
  command = plan

  variables {
    firehose = { buffering_size_mb = 256 }
  }

  expect_failures = [var.firehose]
}

run "a_loader_timeout_out_of_range_is_refused_as_loader_timeout" {
  command = plan

  variables {
    loader = { sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:shop-alerts", timeout = 5 }
  }

  expect_failures = [var.loader]
}

run "a_schedule_rate_out_of_range_is_refused_as_loader_schedule_rate_minutes" {
  command = plan

  variables {
    loader = { sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:shop-alerts", schedule = { rate_minutes = 0 } }
  }

  expect_failures = [var.loader]
}

run "a_loader_topic_that_is_not_an_sns_arn_is_refused" {
  command = plan

  variables {
    loader = { sns_topic_arn = "shop-alerts" }
  }

  expect_failures = [var.loader]
}

run "loader_and_writer_values_at_their_limits_plan" {
  command = plan

  variables {
    writer = { memory_size = 10240, timeout = 900, reserved_concurrent_executions = 5000 }
    loader = {
      sns_topic_arn               = "arn:aws:sns:us-east-1:123456789012:shop-alerts"
      lag_alarm_threshold_seconds = 2000000
      timeout                     = 900
      schedule                    = { rate_minutes = 1440 }
    }
  }
}
