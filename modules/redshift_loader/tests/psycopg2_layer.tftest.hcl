# psycopg2_layer_zip: the module publishes the layer `make layer` builds and the loader uses it; psycopg2_layer_arn
# still names your own. tests/fixtures/psycopg2-layer.zip is a one-file stand-in for the built zip.

mock_provider "aws" {
  override_during = plan

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

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/orders-cdc-mock"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-mock"
    }
  }

  mock_resource "aws_lambda_layer_version" {
    defaults = {
      arn = "arn:aws:lambda:eu-west-1:123456789012:layer:orders-cdc-psycopg2:1"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-mock"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-mock"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"
    }
  }

  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
      key_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    }
  }

  mock_resource "aws_scheduler_schedule" {
    defaults = {
      arn = "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/orders-cdc-loader"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-loader"
    }
  }
}

variables {
  name                    = "orders-cdc"
  bucket_name             = "acme-orders-cdc"
  bucket_arn              = "arn:aws:s3:::acme-orders-cdc"
  table_name              = "orders"
  lambda_zip_path         = "build/ddb_cdc.zip"
  lambda_zip_base64sha256 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
  copy_role_arn           = "arn:aws:iam::123456789012:role/redshift-copy"
  executor                = "psycopg2"
  db_secret_arn           = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdc/db-AbCdEf"
  vpc = {
    subnet_ids         = ["subnet-0123456789abcdef0"]
    security_group_ids = ["sg-0123456789abcdef0"]
  }

  target = {
    kind               = "provisioned"
    database           = "dev"
    cluster_identifier = "analytics"
    db_user            = "cdc_loader"
  }

  target_spec = {
    schema = "cdc"
    table  = "orders"
    keys   = [{ name = "order_id", type = "S" }]
  }
}

run "zip_publishes_the_layer_and_the_loader_uses_it" {
  command = plan

  variables {
    psycopg2_layer_zip = "tests/fixtures/psycopg2-layer.zip"
  }

  assert {
    condition = (
      length(aws_lambda_layer_version.psycopg2) == 1 &&
      aws_lambda_layer_version.psycopg2[0].layer_name == "orders-cdc-psycopg2" &&
      aws_lambda_layer_version.psycopg2[0].filename == "tests/fixtures/psycopg2-layer.zip" &&
      aws_lambda_layer_version.psycopg2[0].source_code_hash == "1cXIiFyY/+ZuC2CaCQ2rydHhnVq8m9g5HZSQLFrwq3I=" &&
      aws_lambda_layer_version.psycopg2[0].compatible_runtimes == toset(["python3.12"]) &&
      aws_lambda_layer_version.psycopg2[0].compatible_architectures == toset(["x86_64"])
    )
    error_message = "psycopg2_layer_zip must publish <name>-psycopg2 for python3.12 on x86_64, hashed by the zip's own bytes."
  }

  assert {
    condition = (
      aws_lambda_function.loader.layers == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:orders-cdc-psycopg2:1"]) &&
      toset(aws_lambda_function.loader.architectures) == aws_lambda_layer_version.psycopg2[0].compatible_architectures &&
      contains(tolist(aws_lambda_layer_version.psycopg2[0].compatible_runtimes), aws_lambda_function.loader.runtime)
    )
    error_message = "The loader must use the layer the module published, on a runtime and architecture the layer declares."
  }
}

run "your_own_layer_arn_publishes_nothing" {
  command = plan

  variables {
    psycopg2_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:psycopg2-py312:3"
  }

  assert {
    condition = (
      length(aws_lambda_layer_version.psycopg2) == 0 &&
      aws_lambda_function.loader.layers == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:psycopg2-py312:3"])
    )
    error_message = "With psycopg2_layer_arn the module publishes no layer and the loader uses the given one."
  }
}

run "data_api_publishes_no_layer" {
  command = plan

  variables {
    executor           = "data_api"
    db_secret_arn      = null
    vpc                = null
    psycopg2_layer_zip = "tests/fixtures/psycopg2-layer.zip"
  }

  assert {
    condition     = length(aws_lambda_layer_version.psycopg2) == 0 && length(aws_lambda_function.loader.layers) == 0
    error_message = "The Data API executor needs no psycopg2 layer."
  }
}

run "psycopg2_without_a_layer_is_refused" {
  command = plan

  expect_failures = [var.psycopg2_layer_arn]
}

run "both_layer_inputs_are_refused" {
  command = plan

  variables {
    psycopg2_layer_zip = "tests/fixtures/psycopg2-layer.zip"
    psycopg2_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:psycopg2-py312:3"
  }

  expect_failures = [var.psycopg2_layer_arn]
}

run "a_missing_layer_zip_says_run_make_layer" {
  command = plan

  variables {
    psycopg2_layer_zip = "tests/fixtures/not-built-yet.zip"
  }

  expect_failures = [var.psycopg2_layer_zip]
}

run "a_layer_zip_must_be_a_zip" {
  command = plan

  variables {
    psycopg2_layer_zip = "tests/fixtures/psycopg2-layer.tar.gz"
  }

  expect_failures = [var.psycopg2_layer_zip]
}
