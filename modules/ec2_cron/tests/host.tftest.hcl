# Plan-only tests of the loader host: the rendered #cloud-config (decoded with yamldecode, every part checked), the
# launch template, the group of one, the grants added to the loader's role, and the alarm.

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
  name       = "orders-cdc"
  subnet_ids = ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"]
  role_name  = "orders-cdc-loader"
  loader_environment = {
    CDC_BUCKET            = "acme-orders-cdc"
    CDC_PREFIX            = "cdc"
    CDC_TABLE_NAME        = "orders"
    CDC_TARGET_SPEC       = "{\"schema\":\"cdc\",\"table\":\"orders\",\"keys\":[{\"name\":\"order_id\",\"type\":\"S\"}]}"
    CDC_EXECUTOR          = "data_api"
    CDC_REDSHIFT_DATABASE = "dev"
    CDC_DATA_API_MODE     = "async"
    LOG_LEVEL             = "INFO"
  }
  loader_timeout_seconds = 120
  bucket_name            = "acme-orders-cdc"
  bucket_arn             = "arn:aws:s3:::acme-orders-cdc"
  package_path           = "build/ddb_cdc.zip"
  package_sha256         = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}

run "user_data_is_cloud_config_with_exactly_the_contract_parts" {
  command = plan

  assert {
    condition     = startswith(output.user_data, "#cloud-config\n") && aws_launch_template.host.user_data == base64encode(output.user_data)
    error_message = "The user data must start with #cloud-config and reach the launch template base64-encoded."
  }

  assert {
    condition     = keys(yamldecode(output.user_data)) == ["runcmd", "write_files"]
    error_message = "The cloud-config must hold exactly write_files and runcmd."
  }

  assert {
    condition     = yamldecode(output.user_data).runcmd == [["bash", "/opt/ddb-cdc/install.sh"]]
    error_message = "runcmd must run only the install script."
  }

  assert {
    condition = [for f in yamldecode(output.user_data).write_files : f.path] == [
      "/etc/ddb-cdc/loader.env",
      "/etc/ddb-cdc/artifact",
      "/etc/systemd/system/ddb-cdc-load.service",
      "/etc/systemd/system/ddb-cdc-load.timer",
      "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json",
      "/opt/ddb-cdc/install.sh",
    ]
    error_message = "write_files must hold the six contract files, in order."
  }

  assert {
    condition = alltrue([for f in yamldecode(output.user_data).write_files :
      keys(f) == ["content", "owner", "path", "permissions"] && f.owner == "root:root"
    ])
    error_message = "Every write_files entry must have path, permissions, owner root:root and content."
  }

  assert {
    condition = {
      for f in yamldecode(output.user_data).write_files : f.path => f.permissions
      } == {
      "/etc/ddb-cdc/loader.env"                                           = "0600"
      "/etc/ddb-cdc/artifact"                                             = "0644"
      "/etc/systemd/system/ddb-cdc-load.service"                          = "0644"
      "/etc/systemd/system/ddb-cdc-load.timer"                            = "0644"
      "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json" = "0644"
      "/opt/ddb-cdc/install.sh"                                           = "0755"
    }
    error_message = "loader.env must be 0600, install.sh 0755, the rest 0644."
  }
}

run "loader_env_is_the_loader_environment_plus_the_region" {
  command = plan

  assert {
    condition = {
      for line in compact(split("\n", one([for f in yamldecode(output.user_data).write_files : f.content if f.path == "/etc/ddb-cdc/loader.env"]))) :
      split("=", line)[0] => join("=", slice(split("=", line), 1, length(split("=", line))))
      } == merge(var.loader_environment, {
        AWS_REGION         = "eu-west-1"
        AWS_DEFAULT_REGION = "eu-west-1"
    })
    error_message = "loader.env must hold the loader's environment, value for value (the target spec's JSON unquoted), plus AWS_REGION and AWS_DEFAULT_REGION."
  }

  assert {
    condition     = one([for f in yamldecode(output.user_data).write_files : f.content if f.path == "/etc/ddb-cdc/artifact"]) == "s3://acme-orders-cdc/cdc/artifacts/ddb_cdc-9f86d081884c7d65.zip\n"
    error_message = "The artifact file must name the package object, keyed by the first 16 hex digits of its SHA-256."
  }

  assert {
    condition = (
      aws_s3_object.package.bucket == "acme-orders-cdc" &&
      aws_s3_object.package.key == "cdc/artifacts/ddb_cdc-9f86d081884c7d65.zip" &&
      aws_s3_object.package.source == "build/ddb_cdc.zip" &&
      output.artifact_uri == "s3://acme-orders-cdc/cdc/artifacts/ddb_cdc-9f86d081884c7d65.zip"
    )
    error_message = "The package zip must be uploaded under <prefix>/artifacts/ with its hash in the key."
  }
}

run "service_and_timer_run_the_loader_cli_on_the_cadence" {
  command = plan

  variables {
    rate_minutes = 7
  }

  assert {
    condition     = one([for f in yamldecode(output.user_data).write_files : f.content if f.path == "/etc/systemd/system/ddb-cdc-load.service"]) == <<-EOT
      [Unit]
      Description=ddb-cdc load of orders into Redshift (python -m ddb_cdc.cli load)
      Wants=network-online.target
      After=network-online.target

      [Service]
      Type=oneshot
      User=ddb-cdc
      EnvironmentFile=/etc/ddb-cdc/loader.env
      Environment=PYTHONPATH=/opt/ddb-cdc/app
      ExecStart=/opt/ddb-cdc/venv/bin/python -m ddb_cdc.cli load
      TimeoutStartSec=120
      StandardOutput=append:/var/log/ddb-cdc/load.log
      StandardError=append:/var/log/ddb-cdc/load.log
    EOT
    error_message = "The service must run the loader CLI once per start as ddb-cdc, with the loader's environment and timeout, logging to load.log."
  }

  assert {
    condition     = one([for f in yamldecode(output.user_data).write_files : f.content if f.path == "/etc/systemd/system/ddb-cdc-load.timer"]) == <<-EOT
      [Unit]
      Description=Runs ddb-cdc-load.service every 7 min

      [Timer]
      OnBootSec=1min
      OnUnitActiveSec=7min
      AccuracySec=10s
      Persistent=true

      [Install]
      WantedBy=timers.target
    EOT
    error_message = "The timer must start the service 1 minute after boot, then every rate_minutes."
  }

  assert {
    condition     = output.rate_minutes == 7
    error_message = "rate_minutes must be passed on for the loader's lag alarm."
  }
}

run "cloudwatch_agent_ships_load_log_to_the_host_log_group" {
  command = plan

  assert {
    condition = jsondecode(one([for f in yamldecode(output.user_data).write_files : f.content if f.path == "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"])).logs.logs_collected.files.collect_list == [{
      file_path       = "/var/log/ddb-cdc/load.log"
      log_group_name  = "/ddb-cdc/orders-cdc/ec2-loader"
      log_stream_name = "{instance_id}"
      timezone        = "UTC"
    }]
    error_message = "The agent must ship load.log to /ddb-cdc/<name>/ec2-loader, one stream per instance."
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.host.name == "/ddb-cdc/orders-cdc/ec2-loader" &&
      aws_cloudwatch_log_group.host.retention_in_days == 30 &&
      output.log_group_name == "/ddb-cdc/orders-cdc/ec2-loader"
    )
    error_message = "The module must create the host's log group with the default retention."
  }
}

run "install_script_installs_the_package_and_starts_the_timer" {
  command = plan

  assert {
    condition = alltrue([for line in [
      "#!/bin/bash",
      "set -euo pipefail",
      "dnf install -y python3.11 python3.11-pip unzip amazon-cloudwatch-agent",
      "useradd --system",
      "chown -R ddb-cdc:ddb-cdc /var/log/ddb-cdc",
      "python3.11 -m venv /opt/ddb-cdc/venv",
      "/opt/ddb-cdc/venv/bin/pip install --no-cache-dir --upgrade boto3\n",
      "aws s3 cp --region \"eu-west-1\" \"$(cat /etc/ddb-cdc/artifact)\" /opt/ddb-cdc/package.zip",
      "unzip -o -q /opt/ddb-cdc/package.zip -d /opt/ddb-cdc/app",
      "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s",
      "file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json",
      "systemctl daemon-reload",
      "systemctl enable --now ddb-cdc-load.timer",
      ] : strcontains(one([for f in yamldecode(output.user_data).write_files : f.content if f.path == "/opt/ddb-cdc/install.sh"]), line)
    ])
    error_message = "install.sh must install Python 3.11, the agent and boto3, fetch and unzip the package, start the agent and enable the timer."
  }

  assert {
    condition     = startswith(one([for f in yamldecode(output.user_data).write_files : f.content if f.path == "/opt/ddb-cdc/install.sh"]), "#!/bin/bash\n")
    error_message = "install.sh must be a bash script."
  }
}

run "psycopg2_executor_also_installs_psycopg2_and_joins_the_cluster_groups" {
  command = plan

  variables {
    loader_environment = {
      CDC_BUCKET           = "acme-orders-cdc"
      CDC_TABLE_NAME       = "orders"
      CDC_EXECUTOR         = "psycopg2"
      CDC_DB_SECRET_ARN    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift-AbCdEf"
      LOG_LEVEL            = "INFO"
      CDC_METRIC_NAMESPACE = "DdbCdc"
    }
    security_group_ids = ["sg-0bbbbbbbbbbbbbbbb"]
  }

  assert {
    condition     = strcontains(one([for f in yamldecode(output.user_data).write_files : f.content if f.path == "/opt/ddb-cdc/install.sh"]), "pip install --no-cache-dir --upgrade boto3 psycopg2-binary\n")
    error_message = "A psycopg2 loader needs psycopg2-binary in the venv."
  }

  assert {
    condition     = aws_launch_template.host.vpc_security_group_ids == toset(["sg-0aaaaaaaaaaaaaaaa", "sg-0bbbbbbbbbbbbbbbb"])
    error_message = "The host must join its own group and the cluster's."
  }
}

run "launch_template_is_locked_down" {
  command = plan

  assert {
    condition = (
      aws_launch_template.host.metadata_options[0].http_tokens == "required" &&
      aws_launch_template.host.metadata_options[0].http_put_response_hop_limit == 1 &&
      aws_launch_template.host.metadata_options[0].http_endpoint == "enabled" &&
      aws_launch_template.host.key_name == null
    )
    error_message = "IMDSv2 must be required with one hop, and there must be no key pair."
  }

  assert {
    condition = (
      aws_launch_template.host.image_id == "ami-0123456789abcdef0" &&
      data.aws_ssm_parameter.ami.name == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64" &&
      aws_launch_template.host.instance_type == "t4g.nano" &&
      output.architecture == "arm64" &&
      aws_launch_template.host.iam_instance_profile[0].arn == "arn:aws:iam::123456789012:instance-profile/orders-cdc-ec2-loader" &&
      aws_launch_template.host.update_default_version == true
    )
    error_message = "The template must launch t4g.nano from the arm64 Amazon Linux 2023 parameter, with the instance profile."
  }

  assert {
    condition = (
      aws_launch_template.host.block_device_mappings[0].device_name == "/dev/xvda" &&
      aws_launch_template.host.block_device_mappings[0].ebs[0].encrypted == "true" &&
      aws_launch_template.host.block_device_mappings[0].ebs[0].volume_type == "gp3" &&
      aws_launch_template.host.block_device_mappings[0].ebs[0].volume_size == 8 &&
      aws_launch_template.host.block_device_mappings[0].ebs[0].kms_key_id == null
    )
    error_message = "The root volume must be an encrypted 8 GiB gp3 volume."
  }

  assert {
    condition = (
      [for t in aws_launch_template.host.tag_specifications : t.resource_type] == ["instance", "volume"] &&
      aws_launch_template.host.tag_specifications[0].tags["Name"] == "orders-cdc-ec2-loader"
    )
    error_message = "Instances and volumes must be tagged with the host's name."
  }

  assert {
    condition = (
      aws_security_group.host.vpc_id == "vpc-0123456789abcdef0" &&
      length(aws_security_group.host.ingress) == 0 &&
      [for e in aws_security_group.host.egress : [e.protocol, e.from_port, e.to_port]] == [["tcp", 443, 443]]
    )
    error_message = "The host's group must allow HTTPS out and nothing in."
  }
}

run "group_of_exactly_one_refreshed_on_template_change" {
  command = plan

  assert {
    condition = (
      aws_autoscaling_group.host.name == "orders-cdc-ec2-loader" &&
      aws_autoscaling_group.host.min_size == 1 &&
      aws_autoscaling_group.host.max_size == 1 &&
      aws_autoscaling_group.host.desired_capacity == 1 &&
      aws_autoscaling_group.host.vpc_zone_identifier == toset(var.subnet_ids) &&
      aws_autoscaling_group.host.health_check_type == "EC2"
    )
    error_message = "The group must hold exactly one instance across the subnets, health-checked by EC2."
  }

  assert {
    condition = (
      aws_autoscaling_group.host.launch_template[0].id == "lt-0123456789abcdef0" &&
      aws_autoscaling_group.host.launch_template[0].version == "1" &&
      aws_autoscaling_group.host.instance_refresh[0].strategy == "Rolling" &&
      aws_autoscaling_group.host.instance_refresh[0].preferences[0].min_healthy_percentage == 100 &&
      aws_autoscaling_group.host.instance_refresh[0].preferences[0].max_healthy_percentage == 200
    )
    error_message = "The group must launch the template's latest version and refresh (launch before terminate) when it changes."
  }

  assert {
    condition     = aws_autoscaling_group.host.enabled_metrics == toset(["GroupInServiceInstances"])
    error_message = "The group must publish GroupInServiceInstances for the host alarm."
  }
}

run "host_alarm_fires_when_no_instance_is_in_service" {
  command = plan

  variables {
    alarm_actions = ["arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"]
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.host_gone.namespace == "AWS/AutoScaling" &&
      aws_cloudwatch_metric_alarm.host_gone.metric_name == "GroupInServiceInstances" &&
      aws_cloudwatch_metric_alarm.host_gone.dimensions.AutoScalingGroupName == "orders-cdc-ec2-loader" &&
      aws_cloudwatch_metric_alarm.host_gone.comparison_operator == "LessThanThreshold" &&
      aws_cloudwatch_metric_alarm.host_gone.threshold == 1 &&
      aws_cloudwatch_metric_alarm.host_gone.treat_missing_data == "breaching" &&
      aws_cloudwatch_metric_alarm.host_gone.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"])
    )
    error_message = "The host alarm must fire on fewer than one instance in service (or no data) and notify alarm_actions."
  }
}

run "role_gets_session_manager_package_and_log_grants_only" {
  command = plan

  assert {
    condition = (
      aws_iam_instance_profile.host.role == "orders-cdc-loader" &&
      aws_iam_role_policy.host.role == "orders-cdc-loader"
    )
    error_message = "The instance profile must hold the loader's role, with the host's own inline policy."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.host.statement : s.sid] == ["ReadPackage", "WriteHostLogs", "SessionManagerFromTheInstanceOnly"] &&
      data.aws_iam_policy_document.host.statement[2].actions == toset(["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]) &&
      one(data.aws_iam_policy_document.host.statement[2].condition).test == "Null" &&
      one(data.aws_iam_policy_document.host.statement[2].condition).variable == "ec2:SourceInstanceARN" &&
      data.aws_iam_policy_document.host.statement[0].actions == toset(["s3:GetObject"]) &&
      data.aws_iam_policy_document.host.statement[0].resources == toset(["arn:aws:s3:::acme-orders-cdc/cdc/artifacts/ddb_cdc-9f86d081884c7d65.zip"]) &&
      data.aws_iam_policy_document.host.statement[1].actions == toset(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]) &&
      data.aws_iam_policy_document.host.statement[1].resources == toset([
        "arn:aws:logs:eu-west-1:123456789012:log-group:/ddb-cdc/orders-cdc/ec2-loader",
        "arn:aws:logs:eu-west-1:123456789012:log-group:/ddb-cdc/orders-cdc/ec2-loader:*",
      ])
    )
    error_message = "The host may read only its package object and write only its log group."
  }
}

run "x86_64_instance_type_selects_the_x86_64_ami_and_a_kms_key_encrypts" {
  command = plan

  variables {
    instance_type       = "t3.micro"
    root_volume_size_gb = 16
    log_retention_days  = 7
    prefix              = ""
    kms_key_arn         = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
  }

  assert {
    condition = (
      output.architecture == "x86_64" &&
      data.aws_ssm_parameter.ami.name == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64" &&
      aws_launch_template.host.block_device_mappings[0].ebs[0].volume_size == 16 &&
      aws_launch_template.host.block_device_mappings[0].ebs[0].kms_key_id == var.kms_key_arn &&
      aws_cloudwatch_log_group.host.kms_key_id == var.kms_key_arn &&
      aws_cloudwatch_log_group.host.retention_in_days == 7 &&
      aws_s3_object.package.kms_key_id == var.kms_key_arn &&
      aws_s3_object.package.key == "artifacts/ddb_cdc-9f86d081884c7d65.zip"
    )
    error_message = "t3.micro must boot the x86_64 AMI; the key must encrypt volume, log group and package; an empty prefix must put the package at artifacts/."
  }
}

run "separate_keys_per_purpose_encrypt_package_and_logs" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    kms_keys = {
      bucket = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
      logs   = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d"
    }
  }

  assert {
    condition = (
      aws_s3_object.package.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b" &&
      aws_cloudwatch_log_group.host.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d" &&
      aws_launch_template.host.block_device_mappings[0].ebs[0].kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    )
    error_message = "The package is one of the bucket's objects (its key), the log group takes the logs' key, the root volume kms_key_arn."
  }
}

run "own_ami_parameter_and_explicit_architecture" {
  command = plan

  variables {
    instance_type     = "c7gn.medium"
    architecture      = "arm64"
    ami_ssm_parameter = "/acme/golden/al2023-arm64"
  }

  assert {
    condition     = data.aws_ssm_parameter.ami.name == "/acme/golden/al2023-arm64" && output.architecture == "arm64"
    error_message = "ami_ssm_parameter must name the AMI parameter."
  }
}
