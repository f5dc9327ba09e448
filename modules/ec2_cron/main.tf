# ec2_cron load strategy: one small instance in an Auto Scaling group of exactly one runs `python -m ddb_cdc.cli load`
# (the loader Lambda's code and environment) from a systemd timer. The group replaces a failed or terminated host;
# a launch template change (new package, AMI or setting) replaces it through an instance refresh. Two hosts alive at
# once are harmless: every load takes the target's LOCK first, so their loads serialise.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_ssm_parameter" "ami" {
  name = local.ami_ssm_parameter
}

# The host's own security group lives in the subnets' VPC.
data "aws_subnet" "first" {
  id = var.subnet_ids[0]
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # data.aws_region's `name` is deprecated in provider 6; `id` holds the same region in 5.x and 6.x.
  region = data.aws_region.current.id

  # The key of each purpose (kms_keys), kms_key_arn where none is given: the package object is one of the bucket's
  # objects, the log group takes the logs' key; the root volume stays on kms_key_arn. The host reads its package under
  # the loader's role, whose grant on the bucket's key (through S3) is the redshift_loader module's.
  kms = { for purpose in ["bucket", "logs"] : purpose => try(coalesce(var.kms_keys[purpose], var.kms_key_arn), null) }

  host_name      = "${var.name}-ec2-loader"
  log_group_name = "/ddb-cdc/${var.name}/ec2-loader"

  # Graviton families carry a "g" right after the generation digit (t4g, m7g, c7gn, r8gd), and a1 is the first one.
  architecture      = coalesce(var.architecture, can(regex("^([a-z]+[0-9]+g|a1\\.)", var.instance_type)) ? "arm64" : "x86_64")
  ami_ssm_parameter = coalesce(var.ami_ssm_parameter, "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${local.architecture}")

  # Contract 2 layout: an empty prefix means no leading slash. A new package is a new key (first 16 hex digits of its
  # SHA-256), hence new user data, a new launch template version and an instance refresh.
  prefix_root  = var.prefix == "" ? "" : "${var.prefix}/"
  artifact_key = "${local.prefix_root}artifacts/ddb_cdc-${substr(var.package_sha256, 0, 16)}.zip"
  artifact_uri = "s3://${var.bucket_name}/${local.artifact_key}"

  psycopg2     = lookup(var.loader_environment, "CDC_EXECUTOR", "data_api") == "psycopg2"
  pip_packages = local.psycopg2 ? ["boto3", "psycopg2-binary"] : ["boto3"]

  # The loader Lambda's environment plus the region the SDK would get from Lambda; KEY=VALUE lines, sorted.
  environment = merge(var.loader_environment, {
    AWS_REGION         = local.region
    AWS_DEFAULT_REGION = local.region
  })
  loader_env = join("", [for k in sort(keys(local.environment)) : "${k}=${local.environment[k]}\n"])

  cloudwatch_agent_config = jsonencode({
    agent = { run_as_user = "root" }
    logs = {
      logs_collected = {
        files = {
          collect_list = [{
            file_path       = "/var/log/ddb-cdc/load.log"
            log_group_name  = local.log_group_name
            log_stream_name = "{instance_id}"
            timezone        = "UTC"
          }]
        }
      }
    }
  })

  # The contract with tests/sandbox/ec2_host.py (ec2_cron spec, "User data"): these files, then runcmd runs install.sh.
  write_files = [
    {
      path        = "/etc/ddb-cdc/loader.env"
      permissions = "0600"
      owner       = "root:root"
      content     = local.loader_env
    },
    {
      path        = "/etc/ddb-cdc/artifact"
      permissions = "0644"
      owner       = "root:root"
      content     = "${local.artifact_uri}\n"
    },
    {
      path        = "/etc/systemd/system/ddb-cdc-load.service"
      permissions = "0644"
      owner       = "root:root"
      content = templatefile("${path.module}/templates/ddb-cdc-load.service.tftpl", {
        table_name      = lookup(var.loader_environment, "CDC_TABLE_NAME", var.name)
        timeout_seconds = var.loader_timeout_seconds
      })
    },
    {
      path        = "/etc/systemd/system/ddb-cdc-load.timer"
      permissions = "0644"
      owner       = "root:root"
      content     = templatefile("${path.module}/templates/ddb-cdc-load.timer.tftpl", { rate_minutes = var.rate_minutes })
    },
    {
      path        = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
      permissions = "0644"
      owner       = "root:root"
      content     = "${local.cloudwatch_agent_config}\n"
    },
    {
      path        = "/opt/ddb-cdc/install.sh"
      permissions = "0755"
      owner       = "root:root"
      content = templatefile("${path.module}/templates/install.sh.tftpl", {
        pip_packages = join(" ", local.pip_packages)
        region       = local.region
      })
    },
  ]

  user_data = templatefile("${path.module}/templates/cloud-config.yaml.tftpl", {
    name        = local.host_name
    write_files = local.write_files
  })

  tags = merge(var.tags, { Name = local.host_name })
}

# ---------------------------------------------------------------------------
# Package artifact
# ---------------------------------------------------------------------------

resource "aws_s3_object" "package" {
  #checkov:skip=CKV_AWS_186:Encrypted with kms_key_arn whenever one is given; otherwise the bucket's default encryption (SSE-S3) applies, as for every CDC object.
  bucket       = var.bucket_name
  key          = local.artifact_key
  source       = var.package_path
  source_hash  = var.package_sha256
  content_type = "application/zip"
  kms_key_id   = local.kms.bucket
  tags         = var.tags

  # The launch template names the new key before the old object goes, so a host replaced meanwhile still finds its package.
  lifecycle {
    create_before_destroy = true
  }
}

# ---------------------------------------------------------------------------
# Logs
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "host" {
  #checkov:skip=CKV_AWS_338:Retention is the user's choice through log_retention_days (validated against CloudWatch's values); a year of load logs is rarely worth its cost.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms.logs
  tags              = var.tags
}

# ---------------------------------------------------------------------------
# Identity: the loader's role, held by the instance profile
# ---------------------------------------------------------------------------

# What the host needs beyond the loader's permissions: its package and its log group. The CloudWatch agent names its
# stream after the instance and looks it up before it writes.
data "aws_iam_policy_document" "host" {
  statement {
    sid       = "ReadPackage"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arn}/${local.artifact_key}"]
  }

  statement {
    sid       = "WriteHostLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [aws_cloudwatch_log_group.host.arn, "${aws_cloudwatch_log_group.host.arn}:*"]
  }

  # Session Manager is the only way in (no key pair, no inbound rule). Only the calls the agent makes for sessions (the
  # AWS managed AWSCloud9SSMInstanceProfile's set), not AmazonSSMManagedInstanceCore, which also allows
  # ssm:GetParameter(s) on every parameter; and only with the instance's own credentials (ec2:SourceInstanceARN is
  # set for those alone), because the loader functions share this role.
  statement {
    sid = "SessionManagerFromTheInstanceOnly"
    actions = [
      "ssm:UpdateInstanceInformation",
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "ec2:SourceInstanceARN"
      values   = ["false"]
    }
  }
}

resource "aws_iam_role_policy" "host" {
  name   = "ec2-loader-host"
  role   = var.role_name
  policy = data.aws_iam_policy_document.host.json
}


resource "aws_iam_instance_profile" "host" {
  name = local.host_name
  role = var.role_name
  tags = var.tags
}

# ---------------------------------------------------------------------------
# Network: HTTPS out (AWS APIs, package repositories), nothing in
# ---------------------------------------------------------------------------

resource "aws_security_group" "host" {
  name        = local.host_name
  description = "ddb-cdc loader host ${local.host_name}: HTTPS out, nothing in"
  vpc_id      = data.aws_subnet.first.vpc_id
  tags        = local.tags

  egress {
    description = "HTTPS to AWS APIs and the package repositories"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["0.0.0.0/0"]
  }
}

# ---------------------------------------------------------------------------
# Launch template and group of one
# ---------------------------------------------------------------------------

resource "aws_launch_template" "host" {
  name                   = local.host_name
  description            = "ddb-cdc loader host: python -m ddb_cdc.cli load every ${var.rate_minutes} min"
  image_id               = data.aws_ssm_parameter.ami.insecure_value
  instance_type          = var.instance_type
  update_default_version = true
  user_data              = base64encode(local.user_data)
  # install.sh shuts a host down when it cannot install: terminated, the group replaces it.
  instance_initiated_shutdown_behavior = "terminate"
  vpc_security_group_ids               = concat([aws_security_group.host.id], var.security_group_ids)

  iam_instance_profile {
    arn = aws_iam_instance_profile.host.arn
  }

  # IMDSv2 only, and one hop: containers on the host (there are none) could not borrow its credentials.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  # Amazon Linux 2023's root device.
  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.root_volume_size_gb
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.kms_key_arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = local.tags
  }

  tag_specifications {
    resource_type = "volume"
    tags          = local.tags
  }

  tags = var.tags
}

resource "aws_autoscaling_group" "host" {
  name                = local.host_name
  min_size            = 1
  max_size            = 1
  desired_capacity    = 1
  vpc_zone_identifier = var.subnet_ids

  # No load balancer: EC2 status checks decide, and the group replaces an impaired or terminated host.
  health_check_type         = "EC2"
  health_check_grace_period = 300

  launch_template {
    id      = aws_launch_template.host.id
    version = aws_launch_template.host.latest_version
  }

  # A new launch template version replaces the host. Launching the new one before the old one goes (100-200 %)
  # leaves no gap in loads; the overlap is harmless because loads serialise on the target's LOCK.
  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage = 100
      max_healthy_percentage = 200
    }
  }

  enabled_metrics     = ["GroupInServiceInstances"]
  metrics_granularity = "1Minute"

  # The first boot fetches the package with the role's new grants.
  depends_on = [aws_s3_object.package, aws_iam_role_policy.host]

  dynamic "tag" {
    for_each = local.tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = false
    }
  }
}

# ---------------------------------------------------------------------------
# Alarm
# ---------------------------------------------------------------------------

# The group normally heals within minutes; five minutes without an instance in service means it cannot (no capacity
# in the subnets' zones, a broken AMI parameter, an instance profile or key it may not use). No data is breaching:
# the group publishes the metric every minute while it exists.
resource "aws_cloudwatch_metric_alarm" "host_gone" {
  alarm_name        = "${local.host_name}-not-in-service"
  alarm_description = "The ddb-cdc loader host of ${local.host_name} has had no instance in service for 5 minutes, so no load runs (the lag alarm follows). Check the group's activity history: aws autoscaling describe-scaling-activities --auto-scaling-group-name ${local.host_name}."

  namespace   = "AWS/AutoScaling"
  metric_name = "GroupInServiceInstances"
  dimensions = {
    AutoScalingGroupName = aws_autoscaling_group.host.name
  }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"

  alarm_actions = var.alarm_actions
  tags          = var.tags
}
