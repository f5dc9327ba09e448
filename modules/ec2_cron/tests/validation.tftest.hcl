# Every validation of modules/ec2_cron refuses a bad value at plan time.

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

  mock_data "aws_ssm_parameter" {
    defaults = {
      insecure_value = "ami-0123456789abcdef0"
    }
  }

  mock_data "aws_subnet" {
    defaults = {
      vpc_id = "vpc-0123456789abcdef0"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ddb-cdc/orders-cdc/ec2-loader"
    }
  }

  mock_resource "aws_iam_instance_profile" {
    defaults = {
      arn = "arn:aws:iam::123456789012:instance-profile/orders-cdc-ec2-loader"
    }
  }

  mock_resource "aws_security_group" {
    defaults = {
      id = "sg-0aaaaaaaaaaaaaaaa"
    }
  }

  mock_resource "aws_launch_template" {
    defaults = {
      id             = "lt-0123456789abcdef0"
      latest_version = 1
    }
  }
}

variables {
  name                   = "orders-cdc"
  subnet_ids             = ["subnet-0a1b2c3d4e5f60718"]
  role_name              = "orders-cdc-loader"
  loader_environment     = { CDC_TABLE_NAME = "orders", CDC_EXECUTOR = "data_api" }
  loader_timeout_seconds = 120
  bucket_name            = "acme-orders-cdc"
  bucket_arn             = "arn:aws:s3:::acme-orders-cdc"
  package_path           = "build/ddb_cdc.zip"
  package_sha256         = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}

run "valid_inputs_plan" {
  command = plan
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

run "subnet_ids_rejects_empty" {
  command = plan

  variables {
    subnet_ids = []
  }

  expect_failures = [var.subnet_ids]
}

run "subnet_ids_rejects_a_vpc_id" {
  command = plan

  variables {
    subnet_ids = ["vpc-0a1b2c3d"]
  }

  expect_failures = [var.subnet_ids]
}

run "security_group_ids_rejects_a_name" {
  command = plan

  variables {
    security_group_ids = ["redshift-clients"]
  }

  expect_failures = [var.security_group_ids]
}

run "instance_type_rejects_a_size_alone" {
  command = plan

  variables {
    instance_type = "nano"
  }

  expect_failures = [var.instance_type]
}

run "architecture_rejects_unknown" {
  command = plan

  variables {
    architecture = "aarch64"
  }

  expect_failures = [var.architecture]
}

run "architecture_rejects_x86_64_on_graviton" {
  command = plan

  variables {
    instance_type = "t4g.nano"
    architecture  = "x86_64"
  }

  expect_failures = [var.architecture]
}

run "architecture_rejects_arm64_on_intel" {
  command = plan

  variables {
    instance_type = "t3.micro"
    architecture  = "arm64"
  }

  expect_failures = [var.architecture]
}

run "rate_minutes_rejects_zero" {
  command = plan

  variables {
    rate_minutes = 0
  }

  expect_failures = [var.rate_minutes]
}

run "rate_minutes_rejects_a_fraction" {
  command = plan

  variables {
    rate_minutes = 2.5
  }

  expect_failures = [var.rate_minutes]
}

run "root_volume_size_rejects_under_eight" {
  command = plan

  variables {
    root_volume_size_gb = 4
  }

  expect_failures = [var.root_volume_size_gb]
}

run "ami_ssm_parameter_rejects_an_ami_id" {
  command = plan

  variables {
    ami_ssm_parameter = "ami-0123456789abcdef0"
  }

  expect_failures = [var.ami_ssm_parameter]
}

run "log_retention_days_rejects_unsupported" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

run "role_name_rejects_an_arn" {
  command = plan

  variables {
    role_name = "arn:aws:iam::123456789012:role/orders-cdc-loader"
  }

  expect_failures = [var.role_name]
}

run "loader_environment_rejects_lowercase_keys" {
  command = plan

  variables {
    loader_environment = { cdc_table_name = "orders" }
  }

  expect_failures = [var.loader_environment]
}

run "loader_environment_rejects_a_value_systemd_would_change" {
  command = plan

  variables {
    loader_environment = { CDC_TABLE_NAME = "orders", CDC_TARGET_SPEC = "{\"path\":\"a\\\\b\"}" }
  }

  expect_failures = [var.loader_environment]
}

run "loader_environment_rejects_a_quoted_value" {
  command = plan

  variables {
    loader_environment = { CDC_TABLE_NAME = "'orders'" }
  }

  expect_failures = [var.loader_environment]
}

run "loader_timeout_rejects_under_thirty" {
  command = plan

  variables {
    loader_timeout_seconds = 10
  }

  expect_failures = [var.loader_timeout_seconds]
}

run "bucket_name_rejects_uppercase" {
  command = plan

  variables {
    bucket_name = "Acme"
  }

  expect_failures = [var.bucket_name]
}

run "bucket_arn_rejects_an_object_arn" {
  command = plan

  variables {
    bucket_arn = "arn:aws:s3:::acme-orders-cdc/cdc/"
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

run "package_path_rejects_a_directory" {
  command = plan

  variables {
    package_path = "lambda_src"
  }

  expect_failures = [var.package_path]
}

run "package_sha256_rejects_base64" {
  command = plan

  variables {
    package_sha256 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
  }

  expect_failures = [var.package_sha256]
}
