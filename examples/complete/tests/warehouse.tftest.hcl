# Plan-only tests of the optional warehouse (warehouse.create): off by default, and when on, a private, encrypted
# Redshift Serverless workgroup at the smallest base capacity wired into the module's `redshift` input.

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
    defaults = { name = "eu-west-1", id = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_redshiftserverless_workgroup" {
    defaults = { arn = "arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/0b7c0e3e-7e53-4bd2-9d25-2b1e4f1d8c11" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/orders-cdc-redshift-copy" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-writer-dlq"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-writer-dlq"
    }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn        = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
      stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = {
      arn    = "arn:aws:s3:::orders-cdc-changes"
      bucket = "orders-cdc-changes"
    }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts" }
  }
}

mock_provider "archive" {
  mock_data "archive_file" {
    defaults = {
      output_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
      output_sha256       = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    }
  }
}

variables {
  region = "eu-west-1"
  name   = "orders-cdc"
  table = {
    name     = "orders"
    create   = true
    hash_key = { name = "order_id", type = "S" }
  }
  bucket = {
    name   = "orders-cdc-changes"
    create = true
  }
  target_spec = {
    schema = "cdc"
    table  = "orders"
  }
}

run "no_warehouse_by_default" {
  command = plan

  variables {
    redshift = {
      kind             = "serverless"
      database         = "dev"
      workgroup_name   = "analytics"
      create_copy_role = true
    }
  }

  assert {
    condition     = length(aws_redshiftserverless_namespace.this) == 0 && length(aws_redshiftserverless_workgroup.this) == 0
    error_message = "Without warehouse.create the example must create no warehouse."
  }

  assert {
    condition     = local.redshift.workgroup_name == "analytics"
    error_message = "Without warehouse.create the module must get the redshift input unchanged."
  }
}

run "created_warehouse_is_small_private_and_wired" {
  command = plan

  variables {
    warehouse = { create = true }
  }

  assert {
    condition = (
      aws_redshiftserverless_workgroup.this[0].base_capacity == 4 &&
      aws_redshiftserverless_workgroup.this[0].publicly_accessible == false &&
      aws_redshiftserverless_workgroup.this[0].workgroup_name == "orders-cdc-warehouse"
    )
    error_message = "The created workgroup must be private, at the 4-RPU minimum, named <name>-warehouse."
  }

  assert {
    condition = (
      aws_redshiftserverless_namespace.this[0].manage_admin_password == true &&
      aws_redshiftserverless_namespace.this[0].admin_user_password == null &&
      aws_redshiftserverless_namespace.this[0].iam_roles == toset(["arn:aws:iam::123456789012:role/orders-cdc-redshift-copy"])
    )
    error_message = "The namespace must let Redshift manage the admin password and carry the module's COPY role."
  }

  assert {
    condition = (
      local.redshift.kind == "serverless" && local.redshift.executor == "data_api" &&
      local.redshift.workgroup_name == "orders-cdc-warehouse" && local.redshift.create_copy_role == true
    )
    error_message = "The module must load into the created workgroup through the Data API with its own COPY role."
  }
}

run "rejects_both_or_neither_warehouse" {
  command = plan

  variables {
    warehouse = { create = true }
    redshift = {
      kind             = "serverless"
      database         = "dev"
      workgroup_name   = "analytics"
      create_copy_role = true
    }
  }

  expect_failures = [var.redshift]
}

run "rejects_no_warehouse_at_all" {
  command = plan

  expect_failures = [var.redshift]
}

run "rejects_a_base_capacity_redshift_does_not_offer" {
  command = plan

  variables {
    warehouse = { create = true, base_capacity = 12 }
  }

  expect_failures = [var.warehouse]
}

run "rejects_a_max_capacity_below_the_base" {
  command = plan

  variables {
    warehouse = { create = true, base_capacity = 8, max_capacity = 4 }
  }

  expect_failures = [var.warehouse]
}

run "rejects_an_invalid_warehouse_name" {
  command = plan

  variables {
    warehouse = { create = true, name = "Orders_Warehouse" }
  }

  expect_failures = [var.warehouse]
}

run "rejects_an_invalid_database_name" {
  command = plan

  variables {
    warehouse = { create = true, database = "1dev" }
  }

  expect_failures = [var.warehouse]
}

run "rejects_a_reserved_admin_username" {
  command = plan

  variables {
    warehouse = { create = true, admin_username = "admin" }
  }

  expect_failures = [var.warehouse]
}

run "rejects_an_unknown_data_api_mode" {
  command = plan

  variables {
    warehouse = { create = true, data_api_mode = "sync" }
  }

  expect_failures = [var.warehouse]
}

run "rejects_fewer_than_three_subnets" {
  command = plan

  variables {
    warehouse = { create = true, subnet_ids = ["subnet-1", "subnet-2"] }
  }

  expect_failures = [var.warehouse]
}

run "ec2_cron_passes_through_to_the_loader_host" {
  command = plan

  variables {
    redshift = {
      kind             = "serverless"
      database         = "dev"
      workgroup_name   = "analytics"
      create_copy_role = true
    }
    load_strategy = "ec2_cron"
    ec2_cron      = { subnet_ids = ["subnet-0a1b2c3d4e5f60718"], rate_minutes = 15 }
  }

  assert {
    condition     = output.ec2_cron_autoscaling_group_name == "orders-cdc-ec2-loader" && output.ec2_cron_log_group_name == "/ddb-cdc/orders-cdc/ec2-loader"
    error_message = "The example must pass ec2_cron through to the root module's loader host."
  }
}

# The example forwards target_spec whole, key_column_names included: were it dropped (issue 13), the key attribute
# order-id would have no SQL column and the root module would refuse the plan.
run "key_column_names_reach_the_module" {
  command = plan

  variables {
    table = {
      name     = "orders"
      create   = true
      hash_key = { name = "order-id", type = "S" }
    }
    redshift = {
      kind             = "serverless"
      database         = "dev"
      workgroup_name   = "analytics"
      create_copy_role = true
    }
    target_spec = {
      schema           = "cdc"
      table            = "orders"
      key_column_names = { "order-id" = "order_id" }
    }
  }

  assert {
    condition     = module.cdc.table_key.hash_key.name == "order-id"
    error_message = "The example must plan a key attribute named order-id with its key_column_names mapping."
  }
}
