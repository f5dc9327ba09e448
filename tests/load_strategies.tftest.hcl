# Root module: every aggregation x load_strategy combination plans and wires its trigger; load_strategy = "ec2_cron"
# builds the loader host from the loader's own environment, role and package (its #cloud-config decoded with
# yamldecode); load_strategy = "emr_compaction" builds the compaction machine around the loader (its definition
# decoded with jsondecode); and every root validation of the ec2_cron and emr_compaction inputs refuses bad values in
# the user's words.

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
  mock_data "aws_ssm_parameter" {
    defaults = { insecure_value = "ami-0123456789abcdef0" }
  }
  mock_data "aws_subnet" {
    defaults = { vpc_id = "vpc-0123456789abcdef0" }
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
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_iam_role" {
    defaults = {
      arn       = "arn:aws:iam::123456789012:role/orders-cdc-redshift-copy"
      unique_id = "AROAEXAMPLELOADER"
    }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/orders-cdc-ec2-loader" }
  }
  mock_resource "aws_launch_template" {
    defaults = {
      id             = "lt-0123456789abcdef0"
      latest_version = 1
    }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orders-cdc-loader" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:orders-cdc-compaction" }
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
  ec2_cron = {
    subnet_ids = ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"]
  }
  emr_compaction = {
    subnet_id = "subnet-0c1d2e3f4a5b60718"
  }
}

# ---------------------------------------------------------------------------
# Every aggregation x load_strategy combination
# ---------------------------------------------------------------------------

run "lambda_with_s3_event" {
  command = plan

  variables {
    aggregation   = "lambda"
    load_strategy = "s3_event"
  }

  assert {
    condition = (
      length(module.firehose) == 0 && length(module.ec2_cron) == 0 && length(module.emr_compaction) == 0 &&
      output.load_queue_url != null && output.load_schedule_arn != null &&
      output.ec2_cron_autoscaling_group_name == null && output.ec2_cron_launch_template_id == null && output.ec2_cron_log_group_name == null &&
      output.compaction_state_machine_arn == null && output.compaction_schedule_arn == null &&
      output.emr_service_role_name == null && output.emr_instance_profile_name == null
    )
    error_message = "lambda x s3_event: the S3 writer, the queue and the reconciliation schedule, no host."
  }
}

run "lambda_with_schedule" {
  command = plan

  variables {
    aggregation   = "lambda"
    load_strategy = "schedule"
  }

  assert {
    condition     = length(module.firehose) == 0 && length(module.ec2_cron) == 0 && length(module.emr_compaction) == 0 && output.load_queue_url == null && output.load_schedule_arn != null
    error_message = "lambda x schedule: the S3 writer and the load schedule, no queue, no host, no compaction."
  }
}

run "lambda_with_ec2_cron" {
  command = plan

  variables {
    aggregation   = "lambda"
    load_strategy = "ec2_cron"
  }

  assert {
    condition = (
      length(module.firehose) == 0 && length(module.ec2_cron) == 1 && length(module.emr_compaction) == 0 &&
      output.load_queue_url == null && output.load_schedule_arn == null &&
      output.ec2_cron_autoscaling_group_name == "orders-cdc-ec2-loader" &&
      output.ec2_cron_launch_template_id == "lt-0123456789abcdef0" &&
      output.ec2_cron_log_group_name == "/ddb-cdc/orders-cdc/ec2-loader"
    )
    error_message = "lambda x ec2_cron: the S3 writer and the loader host, no queue and no schedule (the host's timer is the trigger)."
  }
}

run "firehose_with_s3_event" {
  command = plan

  variables {
    aggregation   = "firehose"
    load_strategy = "s3_event"
  }

  assert {
    condition     = length(module.firehose) == 1 && length(module.ec2_cron) == 0 && length(module.emr_compaction) == 0 && output.load_queue_url != null && output.load_schedule_arn != null
    error_message = "firehose x s3_event: Firehose, the queue and the reconciliation schedule, no host, no compaction."
  }
}

run "firehose_with_schedule" {
  command = plan

  variables {
    aggregation   = "firehose"
    load_strategy = "schedule"
  }

  assert {
    condition     = length(module.firehose) == 1 && length(module.ec2_cron) == 0 && length(module.emr_compaction) == 0 && output.load_queue_url == null && output.load_schedule_arn != null
    error_message = "firehose x schedule: Firehose and the load schedule, no queue, no host, no compaction."
  }
}

run "firehose_with_ec2_cron" {
  command = plan

  variables {
    aggregation   = "firehose"
    load_strategy = "ec2_cron"
  }

  assert {
    condition = (
      length(module.firehose) == 1 && length(module.ec2_cron) == 1 && length(module.emr_compaction) == 0 &&
      output.load_queue_url == null && output.load_schedule_arn == null &&
      output.ec2_cron_autoscaling_group_name == "orders-cdc-ec2-loader"
    )
    error_message = "firehose x ec2_cron: Firehose and the loader host, no queue and no schedule."
  }
}

run "lambda_with_emr_compaction" {
  command = plan

  variables {
    aggregation   = "lambda"
    load_strategy = "emr_compaction"
  }

  assert {
    condition = (
      length(module.firehose) == 0 && length(module.ec2_cron) == 0 && length(module.emr_compaction) == 1 &&
      output.load_queue_url == null && output.load_schedule_arn != null &&
      output.compaction_state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:orders-cdc-compaction" &&
      output.compaction_schedule_arn != null &&
      output.emr_service_role_name == "orders-cdc-emr-service" &&
      output.emr_instance_profile_name == "orders-cdc-emr-instance" &&
      output.ec2_cron_autoscaling_group_name == null
    )
    error_message = "lambda x emr_compaction: the S3 writer, the compaction machine and its schedule, the loader's reconciliation schedule, no queue, no host."
  }
}

run "firehose_with_emr_compaction" {
  command = plan

  variables {
    aggregation   = "firehose"
    load_strategy = "emr_compaction"
  }

  assert {
    condition = (
      length(module.firehose) == 1 && length(module.ec2_cron) == 0 && length(module.emr_compaction) == 1 &&
      output.load_queue_url == null && output.load_schedule_arn != null &&
      output.compaction_state_machine_arn != null && output.compaction_schedule_arn != null
    )
    error_message = "firehose x emr_compaction: Firehose, the compaction machine and the reconciliation schedule, no queue, no host."
  }
}

# ---------------------------------------------------------------------------
# ec2_cron wiring
# ---------------------------------------------------------------------------

run "ec2_cron_host_runs_the_loader_with_its_environment_role_and_package" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    ec2_cron = {
      subnet_ids   = ["subnet-0a1b2c3d4e5f60718"]
      rate_minutes = 10
    }
    redshift = {
      kind             = "serverless"
      database         = "dev"
      workgroup_name   = "analytics"
      create_copy_role = true
      data_api_mode    = "poll"
    }
    loader = { timeout = 600 }
  }

  assert {
    condition = {
      for line in compact(split("\n", one([for f in yamldecode(module.ec2_cron[0].user_data).write_files : f.content if f.path == "/etc/ddb-cdc/loader.env"]))) :
      split("=", line)[0] => join("=", slice(split("=", line), 1, length(split("=", line))))
      } == merge(module.redshift_loader.loader_environment, {
        AWS_REGION         = "us-east-1"
        AWS_DEFAULT_REGION = "us-east-1"
    })
    error_message = "loader.env must be the loader function's environment plus the region."
  }

  assert {
    condition = (
      module.redshift_loader.loader_environment["CDC_TABLE_NAME"] == "orders" &&
      module.redshift_loader.loader_environment["CDC_DATA_API_MODE"] == "poll" &&
      !anytrue([for k in keys(module.redshift_loader.loader_environment) : strcontains(k, "PASSWORD")])
    )
    error_message = "The environment must carry the loader's settings and no password."
  }

  assert {
    condition = (
      one([for f in yamldecode(module.ec2_cron[0].user_data).write_files : f.content if f.path == "/etc/ddb-cdc/artifact"]) == "s3://orders-cdc-changes/cdc/artifacts/ddb_cdc-e3b0c44298fc1c14.zip\n" &&
      module.ec2_cron[0].artifact_uri == "s3://orders-cdc-changes/cdc/artifacts/ddb_cdc-e3b0c44298fc1c14.zip"
    )
    error_message = "The host must install the functions' zip, uploaded under <prefix>/artifacts/ keyed by its SHA-256."
  }

  assert {
    condition = (
      strcontains(one([for f in yamldecode(module.ec2_cron[0].user_data).write_files : f.content if f.path == "/etc/systemd/system/ddb-cdc-load.service"]), "TimeoutStartSec=600\n") &&
      strcontains(one([for f in yamldecode(module.ec2_cron[0].user_data).write_files : f.content if f.path == "/etc/systemd/system/ddb-cdc-load.timer"]), "OnUnitActiveSec=10min\n") &&
      yamldecode(module.ec2_cron[0].user_data).runcmd == [["bash", "/opt/ddb-cdc/install.sh"]]
    )
    error_message = "The service must get the loader's timeout, the timer ec2_cron.rate_minutes."
  }

  # 10 min + 600 s + 300 s = 1500 s -> 5 periods of 300 s.
  assert {
    condition     = module.redshift_loader.loader_role_name == "orders-cdc-loader" && module.ec2_cron[0].rate_minutes == 10
    error_message = "The host must run as the loader's role, and the lag alarm must follow its timer."
  }
}

run "ec2_cron_psycopg2_host_joins_the_cluster_groups" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    redshift = {
      kind               = "provisioned"
      database           = "dev"
      cluster_identifier = "analytics"
      db_user            = "cdc_loader"
      executor           = "psycopg2"
      db_secret_arn      = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift-AbCdEf"
      psycopg2_layer_arn = "arn:aws:lambda:us-east-1:123456789012:layer:psycopg2:1"
      copy_role_arn      = "arn:aws:iam::123456789012:role/redshift-copy"
      vpc                = { subnet_ids = ["subnet-0c1d2e3f4a5b60718"], security_group_ids = ["sg-0ccccccccccccccc0"] }
    }
  }

  assert {
    condition = (
      strcontains(one([for f in yamldecode(module.ec2_cron[0].user_data).write_files : f.content if f.path == "/opt/ddb-cdc/install.sh"]), "boto3 psycopg2-binary") &&
      strcontains(module.ec2_cron[0].user_data, "CDC_DB_SECRET_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift-AbCdEf\n")
    )
    error_message = "A psycopg2 host must install psycopg2-binary and name (never hold) the database secret."
  }
}

# ---------------------------------------------------------------------------
# Validations of the ec2_cron input
# ---------------------------------------------------------------------------

run "ec2_cron_needs_subnets" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    ec2_cron      = {}
  }

  expect_failures = [var.ec2_cron]
}

run "ec2_cron_subnets_are_not_needed_by_other_strategies" {
  command = plan

  variables {
    load_strategy = "schedule"
    ec2_cron      = {}
  }

  assert {
    condition     = length(module.ec2_cron) == 0
    error_message = "Without ec2_cron, ec2_cron.subnet_ids is not required."
  }
}

run "ec2_cron_rejects_a_subnet_name" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    ec2_cron      = { subnet_ids = ["private-a"] }
  }

  expect_failures = [var.ec2_cron]
}

run "ec2_cron_rejects_an_instance_size_alone" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    ec2_cron      = { subnet_ids = ["subnet-0a1b2c3d4e5f60718"], instance_type = "nano" }
  }

  expect_failures = [var.ec2_cron]
}

run "ec2_cron_rejects_an_unknown_architecture" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    ec2_cron      = { subnet_ids = ["subnet-0a1b2c3d4e5f60718"], architecture = "aarch64" }
  }

  expect_failures = [var.ec2_cron]
}

run "ec2_cron_rejects_x86_64_on_graviton" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    ec2_cron      = { subnet_ids = ["subnet-0a1b2c3d4e5f60718"], instance_type = "t4g.small", architecture = "x86_64" }
  }

  expect_failures = [var.ec2_cron]
}

run "ec2_cron_rejects_a_rate_of_zero" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    ec2_cron      = { subnet_ids = ["subnet-0a1b2c3d4e5f60718"], rate_minutes = 0 }
  }

  expect_failures = [var.ec2_cron]
}

run "ec2_cron_rejects_a_small_root_volume" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    ec2_cron      = { subnet_ids = ["subnet-0a1b2c3d4e5f60718"], root_volume_size_gb = 2 }
  }

  expect_failures = [var.ec2_cron]
}

run "ec2_cron_rejects_an_ami_id_for_the_parameter" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    ec2_cron      = { subnet_ids = ["subnet-0a1b2c3d4e5f60718"], ami_ssm_parameter = "ami-0123456789abcdef0" }
  }

  expect_failures = [var.ec2_cron]
}

run "ec2_cron_rejects_an_unsupported_retention" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    ec2_cron      = { subnet_ids = ["subnet-0a1b2c3d4e5f60718"], log_retention_days = 2 }
  }

  expect_failures = [var.ec2_cron]
}

run "x86_64_instance_type_with_its_architecture_plans" {
  command = plan

  variables {
    load_strategy = "ec2_cron"
    ec2_cron      = { subnet_ids = ["subnet-0a1b2c3d4e5f60718"], instance_type = "t3.micro", architecture = "x86_64" }
  }

  assert {
    condition     = module.ec2_cron[0].architecture == "x86_64"
    error_message = "t3.micro with x86_64 must plan."
  }
}

# ---------------------------------------------------------------------------
# emr_compaction wiring
# ---------------------------------------------------------------------------

run "emr_compaction_machine_drives_the_loader" {
  command = plan

  variables {
    load_strategy = "emr_compaction"
    kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    emr_compaction = {
      subnet_id              = "subnet-0c1d2e3f4a5b60718"
      grace_minutes          = 20
      target_size_mb         = 128
      reconcile_rate_minutes = 30
      core_instance_count    = 2
    }
  }

  assert {
    condition = alltrue([
      for name in ["Plan", "Load", "LoadRaw"] :
      jsondecode(module.emr_compaction[0].state_machine_definition).States[name].Parameters.FunctionName == module.redshift_loader.loader_function_arn
    ])
    error_message = "Plan, Load and LoadRaw must invoke the stack's loader function."
  }

  assert {
    condition = (
      jsondecode(module.emr_compaction[0].state_machine_definition).States.Notify.Parameters.TopicArn == output.load_alerts_topic_arn &&
      jsondecode(module.emr_compaction[0].state_machine_definition).States.StartCluster.Parameters.Instances.Ec2SubnetId == "subnet-0c1d2e3f4a5b60718" &&
      jsondecode(module.emr_compaction[0].state_machine_definition).States.StartCluster.Parameters.Instances.InstanceGroups[1].InstanceCount == 2 &&
      jsondecode(module.emr_compaction[0].state_machine_definition).States.StartCluster.Parameters.LogUri == "s3://orders-cdc-changes/cdc/emr-logs/orders/" &&
      jsondecode(module.emr_compaction[0].state_machine_definition).States.StartCluster.Parameters.LogEncryptionKmsKeyId == var.kms_key_arn &&
      module.emr_compaction[0].schedule_expression == "cron(20 * * * ? *)"
    )
    error_message = "Failures go to the stack's alert topic; the clusters start in emr_compaction.subnet_id, log under the bucket's emr-logs/<table>/ with the stack's key; runs start at minute emr_compaction.grace_minutes."
  }

  # 3600 + latest finish (20 x 60 + 900 + 995 + 1800 + 3600 + 1800 + 450 + 995 = 11740) + 900 (the loader timeout: the
  # compacted load waits even in async mode) = 16240 s.
  assert {
    condition = (
      module.redshift_loader.loader_environment["CDC_LOAD_STRATEGY"] == "emr_compaction" &&
      module.redshift_loader.loader_environment["CDC_COMPACTION_TARGET_SIZE_MB"] == "128" &&
      module.redshift_loader.loader_environment["CDC_RECONCILE_GRACE_SECONDS"] == "16240" &&
      module.redshift_loader.reconcile_grace_seconds == 3600 + module.emr_compaction[0].latest_finish_seconds + module.redshift_loader.loader_timeout_seconds
    )
    error_message = "The loader's sweep must wait an hour plus the grace, the machine's timeouts and its own timeout before it takes a raw file from its compaction."
  }

  assert {
    condition     = module.redshift_loader.lag_alarm_threshold_seconds == 16240 + 30 * 60
    error_message = "The lag alarm's default threshold must cover the compaction's designed wait plus one reconciliation cadence."
  }
}

run "emr_compaction_is_not_required_by_other_strategies" {
  command = plan

  variables {
    load_strategy  = "schedule"
    emr_compaction = {}
  }

  assert {
    condition     = length(module.emr_compaction) == 0 && !contains(keys(module.redshift_loader.loader_environment), "CDC_RECONCILE_GRACE_SECONDS")
    error_message = "Without emr_compaction, emr_compaction.subnet_id is not required and the loader keeps its default sweep grace."
  }
}

# ---------------------------------------------------------------------------
# Validations of the emr_compaction input
# ---------------------------------------------------------------------------

run "emr_compaction_needs_a_subnet" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = {}
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_a_subnet_name" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "private-a" }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_a_release_without_emr_prefix" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", release_label = "7.2.0" }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_a_release_before_6_1" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", release_label = "emr-6.0.1" }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_an_instance_size_alone" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", master_instance_type = "xlarge" }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_a_core_family_alone" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", core_instance_type = "m5" }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_21_core_nodes" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", core_instance_count = 21 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_a_target_size_above_a_gib" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", target_size_mb = 2048 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_grace_of_zero" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", grace_minutes = 0 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_grace_of_an_hour" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", grace_minutes = 60 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_an_idle_timeout_below_a_minute" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", idle_timeout_seconds = 30 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_a_step_timeout_above_a_day" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", step_timeout_seconds = 90000 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_a_cluster_timeout_below_5_minutes" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", cluster_timeout_seconds = 120 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_a_reconcile_rate_of_zero" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", reconcile_rate_minutes = 0 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_a_log_retention_of_zero" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", log_retention_days = 0 }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_five_additional_groups" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", additional_security_group_ids = ["sg-01", "sg-02", "sg-03", "sg-04", "sg-05"] }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_a_security_group_name" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", service_access_security_group_id = "emr-service" }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_rejects_a_master_group_without_the_core_group" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { subnet_id = "subnet-0c1d2e3f4a5b60718", emr_managed_master_security_group_id = "sg-0bbbbbbbbbbbbbbbb" }
  }

  expect_failures = [var.emr_compaction]
}

run "emr_compaction_with_every_setting_plans" {
  command = plan

  variables {
    load_strategy = "emr_compaction"
    emr_compaction = {
      subnet_id                            = "subnet-0c1d2e3f4a5b60718"
      release_label                        = "emr-6.15.0"
      master_instance_type                 = "m6g.xlarge"
      core_instance_type                   = "r6g.2xlarge"
      core_instance_count                  = 0
      core_spot                            = true
      target_size_mb                       = 256
      grace_minutes                        = 59
      idle_timeout_seconds                 = 604800
      step_timeout_seconds                 = 86400
      cluster_timeout_seconds              = 7200
      reconcile_rate_minutes               = 1440
      log_retention_days                   = 7
      additional_security_group_ids        = ["sg-0aaaaaaaaaaaaaaaa"]
      emr_managed_master_security_group_id = "sg-0bbbbbbbbbbbbbbbb"
      emr_managed_core_security_group_id   = "sg-0cccccccccccccccc"
      service_access_security_group_id     = "sg-0dddddddddddddddd"
    }
  }

  # The longest settings stay within the loader's ceiling: 3600 + (3540 + 900 + 995 + 7200 + 86400 + 1800 + 450 + 995) + 900 = 106780 s <= 604800.
  assert {
    condition = (
      module.redshift_loader.loader_environment["CDC_RECONCILE_GRACE_SECONDS"] == "106780" &&
      jsondecode(module.emr_compaction[0].state_machine_definition).States.StartCluster.Parameters.ReleaseLabel == "emr-6.15.0" &&
      length(jsondecode(module.emr_compaction[0].state_machine_definition).States.StartCluster.Parameters.Instances.InstanceGroups) == 1
    )
    error_message = "Every emr_compaction setting at its limit must plan and reach the modules."
  }
}
