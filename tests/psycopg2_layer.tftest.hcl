# redshift.psycopg2_layer_zip at the root: the zip `make layer` builds is published by modules/redshift_loader and
# its mistakes are refused on redshift.*, the input the user typed. The configuration is the consumer's of
# plan_time_errors.tftest.hcl, with the psycopg2 executor. modules/redshift_loader/tests/psycopg2_layer.tftest.hcl
# checks the layer resource and the function's layers.

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
  redshift = {
    kind               = "serverless"
    database           = "dev"
    workgroup_name     = "analytics"
    create_copy_role   = true
    executor           = "psycopg2"
    db_secret_arn      = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/redshift-AbCdEf"
    psycopg2_layer_zip = "modules/redshift_loader/tests/fixtures/psycopg2-layer.zip"
    vpc = {
      subnet_ids         = ["subnet-0123456789abcdef0"]
      security_group_ids = ["sg-0123456789abcdef0"]
    }
  }
  load_strategy = "schedule"
  target_spec = {
    schema = "cdc"
    table  = "orders"
  }
}

run "the_built_layer_zip_plans" {
  command = plan
}

run "a_layer_zip_that_was_not_built_names_make_layer" {
  command = plan

  variables {
    redshift = {
      kind               = "serverless"
      database           = "dev"
      workgroup_name     = "analytics"
      create_copy_role   = true
      executor           = "psycopg2"
      db_secret_arn      = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/redshift-AbCdEf"
      psycopg2_layer_zip = ".build/layers/not-built.zip"
      vpc                = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
    }
  }

  expect_failures = [var.redshift]
}

run "a_layer_zip_and_a_layer_arn_are_refused_together" {
  command = plan

  variables {
    redshift = {
      kind               = "serverless"
      database           = "dev"
      workgroup_name     = "analytics"
      create_copy_role   = true
      executor           = "psycopg2"
      db_secret_arn      = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/redshift-AbCdEf"
      psycopg2_layer_zip = "modules/redshift_loader/tests/fixtures/psycopg2-layer.zip"
      psycopg2_layer_arn = "arn:aws:lambda:us-east-1:123456789012:layer:psycopg2:1"
      vpc                = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
    }
  }

  expect_failures = [var.redshift]
}
