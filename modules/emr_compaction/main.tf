# emr_compaction load strategy: every hour, at minute grace_minutes, EventBridge Scheduler starts a Step Functions run
# that asks the loader for the previous hour's plan (its raw keys, written as an s3-dist-cp input list), starts a
# transient EMR cluster only when there is something to compact, merges the hour's small files into a few large ones
# under compacted/, terminates the cluster, then has the loader load the compacted files. A failed compaction still
# terminates its cluster and loads the hour's raw files uncompacted; every failure reaches the alert topic.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # data.aws_region's `name` is deprecated in provider 6; `id` holds the same region in 5.x and 6.x.
  region = data.aws_region.current.id

  machine_name       = "${var.name}-compaction"
  schedule_name      = "${var.name}-compaction"
  service_role_name  = "${var.name}-emr-service"
  instance_role_name = "${var.name}-emr-instance"

  # Built from names so that trust policies and grants can name them without waiting for (or cycling through) them.
  schedule_group_arn  = "arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule-group/default"
  cluster_arn_pattern = "arn:${local.partition}:elasticmapreduce:${local.region}:${local.account_id}:cluster/*"
  # The three EventBridge rules Step Functions manages in the account for the .sync EMR integrations ("IAM policies for
  # Amazon EMR", Step Functions developer guide): createCluster, addStep and terminateCluster.
  sync_rule_arns = [for rule in ["StepFunctionsGetEventForEMRRunJobFlowRule", "StepFunctionsGetEventForEMRAddJobFlowStepsRule", "StepFunctionsGetEventForEMRTerminateJobFlowsRule"] :
    "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${rule}"
  ]

  # Contract 2 layout, normalised as in s3_sink: an empty prefix means no leading slash.
  prefix_root       = var.prefix == "" ? "" : "${var.prefix}/"
  raw_prefix        = "${local.prefix_root}raw/${var.table_name}/"
  compaction_prefix = "${local.prefix_root}compaction/${var.table_name}/"
  compacted_prefix  = "${local.prefix_root}compacted/${var.table_name}/"
  logs_prefix       = "${local.prefix_root}emr-logs/${var.table_name}/"

  # The key of each purpose (kms_keys), kms_key_arn where none is given: the objects the clusters read and write
  # (raw, compacted, EMR's own logs under emr-logs/) take the bucket's key, the state machine's log group the logs'
  # key, the dead-letter queue (the loader's) the queues' key. The instances' local disks and the schedule stay on
  # kms_key_arn.
  kms = { for purpose in ["bucket", "queues", "logs"] : purpose => try(coalesce(var.kms_keys[purpose], var.kms_key_arn), null) }
  # The scheduler role's grants, one statement per key, each through the service that encrypts with it
  # (kms:ViaService, "AWS KMS condition keys",
  # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
  scheduler_kms_uses = concat(
    var.dead_letter_queue_arn == null ? [] : [{ purpose = "queues", key = local.kms.queues, service = "sqs" }],
    [{ purpose = "schedule", key = var.kms_key_arn, service = "scheduler" }],
  )
  scheduler_kms_grants = {
    for key in distinct([for use in local.scheduler_kms_uses : use.key if use.key != null]) : key => {
      sid      = "UseKeyFor${join("", [for use in local.scheduler_kms_uses : title(use.purpose) if use.key == key])}"
      services = distinct([for use in local.scheduler_kms_uses : "${use.service}.${local.region}.${data.aws_partition.current.dns_suffix}" if use.key == key])
    }
  }
  log_uri = "s3://${var.bucket_name}/${local.logs_prefix}"

  # The EMR service role's managed policy (AmazonEMRServicePolicy_v2) acts only on resources that carry this tag, and
  # EMR copies a cluster's tags to its instances and volumes; the user's tags cannot switch it off.
  cluster_tags = merge(var.tags, {
    "ddb-cdc:compaction"                       = local.machine_name
    "for-use-with-amazon-emr-managed-policies" = "true"
  })
}

# ---------------------------------------------------------------------------
# Cluster identity: the EMR service role, the instance role and its profile
# ---------------------------------------------------------------------------

# EMR documents both keys for its service role's trust ("Service role for Amazon EMR"): they keep another account's
# clusters from borrowing it.
data "aws_iam_policy_document" "emr_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["elasticmapreduce.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:elasticmapreduce:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "emr_service" {
  name               = local.service_role_name
  description        = "EMR service role of the ${local.machine_name} clusters (compaction of ${var.table_name})"
  assume_role_policy = data.aws_iam_policy_document.emr_assume_role.json
  tags               = var.tags
}

# AWS's scoped v2 policy: it acts only on EC2 resources tagged for-use-with-amazon-emr-managed-policies = true (the
# clusters carry the tag; the subnet, and the VPC when EMR creates its security groups, must too: see the README).
resource "aws_iam_role_policy_attachment" "emr_service" {
  role       = aws_iam_role.emr_service.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"
}

# The managed policy passes only EMR_EC2_DefaultRole to EC2; the clusters' instances run as this module's role.
data "aws_iam_policy_document" "emr_service" {
  statement {
    sid       = "PassInstanceRoleToEc2"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.instance.arn]

    condition {
      test     = "StringLike"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com*"]
    }
  }
}

resource "aws_iam_role_policy" "emr_service" {
  name   = "pass-instance-role"
  role   = aws_iam_role.emr_service.id
  policy = data.aws_iam_policy_document.emr_service.json
}

data "aws_iam_policy_document" "ec2_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "instance" {
  name               = local.instance_role_name
  description        = "Instances of the ${local.machine_name} clusters: s3-dist-cp of s3://${var.bucket_name}/${local.raw_prefix} into ${local.compacted_prefix}"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume_role.json
  tags               = var.tags
}

# What s3-dist-cp and EMR's log pusher do, on this table's prefixes only: read the hour's raw files and the loader's
# input list, write the compacted files and the cluster logs. No delete anywhere: raw files stay until the loader has
# ledgered them (and lifecycle expires them), so a failed compaction loses nothing.
data "aws_iam_policy_document" "instance" {
  # compacted/ too: Hadoop's S3 file systems read back (HEAD) the paths they write, and a HEAD needs s3:GetObject.
  statement {
    sid     = "ReadRawFilesInputListsAndOwnOutput"
    actions = ["s3:GetObject"]
    resources = [
      "${var.bucket_arn}/${local.raw_prefix}*",
      "${var.bucket_arn}/${local.compaction_prefix}*",
      "${var.bucket_arn}/${local.compacted_prefix}*",
    ]
  }

  statement {
    sid       = "WriteCompactedFilesAndLogs"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${var.bucket_arn}/${local.compacted_prefix}*", "${var.bucket_arn}/${local.logs_prefix}*"]
  }

  # Without ListBucket a missing key reads as 403 instead of 404, which s3-dist-cp and EMRFS take for a failure.
  statement {
    sid       = "ListCompactionPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for p in [local.raw_prefix, local.compaction_prefix, local.compacted_prefix, local.logs_prefix] : "${p}*"]
    }
  }

  # SSE-KMS objects (reading raw files, writing compacted files and logs) through S3 only.
  dynamic "statement" {
    for_each = local.kms.bucket == null ? [] : [local.kms.bucket]
    content {
      sid       = "UseBucketKeyThroughS3"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.${data.aws_partition.current.dns_suffix}"]
      }
    }
  }

  # EMR's local disk encryption: each instance asks KMS itself for the data key of its LUKS volumes at boot ("The role
  # for the Amazon EC2 instance profile must have permissions to use the KMS key you specify", EMR management guide,
  # "Create keys and certificates for data encryption"), so no service condition can narrow this grant.
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "EncryptLocalDisks"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "instance" {
  name   = "compact-cdc-files"
  role   = aws_iam_role.instance.id
  policy = data.aws_iam_policy_document.instance.json
}

resource "aws_iam_instance_profile" "instance" {
  name = local.instance_role_name
  role = aws_iam_role.instance.name
  tags = var.tags
}

# ---------------------------------------------------------------------------
# Security configuration
# ---------------------------------------------------------------------------

# At rest: S3 objects the cluster writes (compacted files) with SSE-KMS under kms_key_arn, or SSE-S3 without a key; the
# instances' local disks (HDFS, spill, the step's scratch space) with LUKS under kms_key_arn. EMR's local disk
# encryption needs a key provider (AWS KMS or a custom one), so without kms_key_arn it stays off: a cluster lives for one
# hour's copy and holds nothing that is not also in S3, and the account's EBS encryption by default, when on, still
# covers its volumes. In transit it is off too: it needs a PEM certificate bundle in S3, and the only traffic outside the
# cluster is to S3, which is HTTPS already. IMDSv2 only, one hop, as on the ec2_cron host.
locals {
  security_configuration = {
    EncryptionConfiguration = {
      EnableInTransitEncryption = false
      EnableAtRestEncryption    = true
      AtRestEncryptionConfiguration = merge(
        {
          S3EncryptionConfiguration = local.kms.bucket == null ? { EncryptionMode = "SSE-S3" } : { EncryptionMode = "SSE-KMS", AwsKmsKey = local.kms.bucket }
        },
        var.kms_key_arn == null ? {} : {
          LocalDiskEncryptionConfiguration = {
            EncryptionKeyProviderType = "AwsKms"
            AwsKmsKey                 = var.kms_key_arn
          }
        },
      )
    }
    InstanceMetadataServiceConfiguration = {
      MinimumInstanceMetadataServiceVersion = 2
      HttpPutResponseHopLimit               = 1
    }
  }
}

resource "aws_emr_security_configuration" "this" {
  #checkov:skip=CKV_AWS_171:SSE-KMS with kms_key_arn whenever one is given; without a key the whole stack uses AWS-managed encryption (the bucket's default is SSE-S3), and the clusters' writes follow it.
  name          = local.machine_name
  configuration = jsonencode(local.security_configuration)
}

# ---------------------------------------------------------------------------
# State machine
# ---------------------------------------------------------------------------

locals {
  lambda_invoke = "arn:${local.partition}:states:::lambda:invoke"

  # The loader has reserved concurrency 1: a scheduled reconciliation pass holding it throttles our invocation. The
  # delays (5 s doubling to at most 120 s, 12 retries: about 1,000 s in all) outlast the longest loader run (900 s).
  lambda_retry = [{
    ErrorEquals     = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"]
    IntervalSeconds = 5
    MaxAttempts     = 12
    BackoffRate     = 2
    MaxDelaySeconds = 120
  }]

  # Terminating is always safe to repeat; a cluster left running still ends itself after idle_timeout_seconds.
  terminate_timeout_seconds = 1800
  terminate_retry = [{
    ErrorEquals     = ["States.ALL"]
    IntervalSeconds = 30
    MaxAttempts     = 4
    BackoffRate     = 2
  }]

  notify_retry = [{
    ErrorEquals     = ["States.ALL"]
    IntervalSeconds = 5
    MaxAttempts     = 5
    BackoffRate     = 2
  }]

  to_notify = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "Notify" }]

  # The latest a run can still be loading an hour's compacted files, counted from the end of the hour: the grace, a
  # start Scheduler delivered late (maximum_event_age_in_seconds below), the Plan's throttling retries, the cluster's
  # and the step's timeouts, the termination (its timeout and retries), the Load's throttling retries. The loader's
  # sweep adds an hour and the Load's own timeout (CDC_RECONCILE_GRACE_SECONDS), so it never takes a raw file a run
  # may still compact. Retry waits: 5 s doubling to 120 s, 12 attempts = 995 s; 30 s doubling, 4 attempts = 450 s.
  schedule_max_event_age_seconds = 900
  lambda_retry_wait_seconds      = 995
  terminate_retry_wait_seconds   = 450
  latest_finish_seconds = (
    var.grace_minutes * 60 + local.schedule_max_event_age_seconds + local.lambda_retry_wait_seconds +
    var.cluster_timeout_seconds + var.step_timeout_seconds +
    local.terminate_timeout_seconds + local.terminate_retry_wait_seconds + local.lambda_retry_wait_seconds
  )

  instance_groups = concat(
    [{ Name = "primary", InstanceRole = "MASTER", InstanceType = var.master_instance_type, InstanceCount = 1, Market = "ON_DEMAND" }],
    var.core_instance_count == 0 ? [] : [{
      Name          = "core"
      InstanceRole  = "CORE"
      InstanceType  = var.core_instance_type
      InstanceCount = var.core_instance_count
      Market        = var.core_spot ? "SPOT" : "ON_DEMAND"
    }],
  )

  # createCluster takes RunJobFlow's request; KeepJobFlowAliveWhenNoSteps must be true ("Call Amazon EMR with Step
  # Functions"), and Steps are refused: the step is added by Compact, whose outcome the machine then handles.
  instances = merge(
    {
      KeepJobFlowAliveWhenNoSteps = true
      TerminationProtected        = false
      Ec2SubnetId                 = var.subnet_id
      InstanceGroups              = local.instance_groups
    },
    var.emr_managed_master_security_group_id == null ? {} : {
      EmrManagedMasterSecurityGroup = var.emr_managed_master_security_group_id
      EmrManagedSlaveSecurityGroup  = var.emr_managed_core_security_group_id
    },
    var.service_access_security_group_id == null ? {} : { ServiceAccessSecurityGroup = var.service_access_security_group_id },
    length(var.additional_security_group_ids) == 0 ? {} : {
      AdditionalMasterSecurityGroups = var.additional_security_group_ids
      AdditionalSlaveSecurityGroups  = var.additional_security_group_ids
    },
  )

  run_job_flow = merge(
    {
      Name                  = local.machine_name
      ReleaseLabel          = var.release_label
      Applications          = [{ Name = "Hadoop" }]
      ServiceRole           = aws_iam_role.emr_service.name
      JobFlowRole           = aws_iam_instance_profile.instance.name
      LogUri                = local.log_uri
      SecurityConfiguration = aws_emr_security_configuration.this.name
      VisibleToAllUsers     = true
      AutoTerminationPolicy = { IdleTimeout = var.idle_timeout_seconds }
      Tags                  = [for k in sort(keys(local.cluster_tags)) : { Key = k, Value = local.cluster_tags[k] }]
      Instances             = local.instances
    },
    # The logs EMR pushes to LogUri, objects of the bucket, encrypted with the same key as the data (emr-5.30.0 and later).
    local.kms.bucket == null ? {} : { LogEncryptionKmsKeyId = local.kms.bucket },
  )

  load_payload = {
    trigger   = "compacted"
    "hour.$"  = "$.plan.hour"
    "run.$"   = "$.plan.run"
    compacted = true
  }

  # Input: {"scheduled_time": "<ISO 8601>"} from the schedule, or {"hour": "YYYY-MM-DDTHH"} for a manual run.
  # JSONPath only: no intrinsic functions, no JSONata, no execution-level TimeoutSeconds.
  definition = {
    Comment = "Hourly compaction of ${var.table_name}: plan, transient EMR cluster, s3-dist-cp, terminate, load. A failed compaction terminates its cluster and loads the hour raw."
    StartAt = "Plan"
    States = {
      Plan = {
        Type     = "Task"
        Resource = local.lambda_invoke
        Parameters = {
          FunctionName = var.loader_function_arn
          Payload = {
            trigger     = "compaction_plan"
            "request.$" = "$"
          }
        }
        ResultSelector = {
          "hour.$"   = "$.Payload.hour"
          "run.$"    = "$.Payload.run"
          "inputs.$" = "$.Payload.inputs"
          "args.$"   = "$.Payload.args"
        }
        ResultPath = "$.plan"
        Retry      = local.lambda_retry
        Catch      = local.to_notify
        Next       = "AnyInputs"
      }
      # An hour without raw objects starts no cluster; its load step still runs, for files that landed late in the
      # hours before (after their own run's listing).
      AnyInputs = {
        Type    = "Choice"
        Choices = [{ Variable = "$.plan.inputs", NumericGreaterThan = 0, Next = "StartCluster" }]
        Default = "LoadLateFiles"
      }
      LoadLateFiles = {
        Type     = "Task"
        Resource = local.lambda_invoke
        Parameters = {
          FunctionName = var.loader_function_arn
          Payload      = merge(local.load_payload, { compacted = false })
        }
        ResultPath = null
        Retry      = local.lambda_retry
        Catch      = local.to_notify
        Next       = "Done"
      }
      # No Retry: a second createCluster would start a second cluster while the first may still be booting. A cluster
      # that fails to start terminates itself; one that outlives TimeoutSeconds ends after idle_timeout_seconds. Either
      # way the hour is loaded raw at once.
      StartCluster = {
        Type           = "Task"
        Resource       = "arn:${local.partition}:states:::elasticmapreduce:createCluster.sync"
        Parameters     = local.run_job_flow
        ResultSelector = { "id.$" = "$.ClusterId" }
        ResultPath     = "$.cluster"
        TimeoutSeconds = var.cluster_timeout_seconds
        Catch          = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "LoadRaw" }]
        Next           = "Compact"
      }
      # No Retry either: a second s3-dist-cp would write a second copy into the run's folder. On any failure the
      # cluster is terminated and the hour is loaded raw.
      Compact = {
        Type     = "Task"
        Resource = "arn:${local.partition}:states:::elasticmapreduce:addStep.sync"
        Parameters = {
          "ClusterId.$" = "$.cluster.id"
          Step = {
            Name            = "s3-dist-cp"
            ActionOnFailure = "CONTINUE"
            HadoopJarStep = {
              Jar      = "command-runner.jar"
              "Args.$" = "$.plan.args"
            }
          }
        }
        ResultPath     = null
        TimeoutSeconds = var.step_timeout_seconds
        Catch          = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "TerminateAfterFailure" }]
        Next           = "Terminate"
      }
      # The cluster goes before the load, so the load's retries never keep instances running.
      # A cluster that would not terminate is idle auto-termination's (idle_timeout_seconds); the compacted files are
      # loaded all the same, then the run alerts.
      Terminate = {
        Type           = "Task"
        Resource       = "arn:${local.partition}:states:::elasticmapreduce:terminateCluster.sync"
        Parameters     = { "ClusterId.$" = "$.cluster.id" }
        ResultPath     = null
        TimeoutSeconds = local.terminate_timeout_seconds
        Retry          = local.terminate_retry
        Catch          = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.terminate_error", Next = "LoadAndAlert" }]
        Next           = "Load"
      }
      LoadAndAlert = {
        Type     = "Task"
        Resource = local.lambda_invoke
        Parameters = {
          FunctionName = var.loader_function_arn
          Payload      = local.load_payload
        }
        ResultPath = null
        Retry      = local.lambda_retry
        Catch      = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.load_error", Next = "Notify" }]
        Next       = "Notify"
      }
      Load = {
        Type     = "Task"
        Resource = local.lambda_invoke
        Parameters = {
          FunctionName = var.loader_function_arn
          Payload      = local.load_payload
        }
        ResultPath = null
        Retry      = local.lambda_retry
        Catch      = local.to_notify
        Next       = "Done"
      }
      Done = {
        Type = "Succeed"
      }
      TerminateAfterFailure = {
        Type           = "Task"
        Resource       = "arn:${local.partition}:states:::elasticmapreduce:terminateCluster.sync"
        Parameters     = { "ClusterId.$" = "$.cluster.id" }
        ResultPath     = null
        TimeoutSeconds = local.terminate_timeout_seconds
        Retry          = local.terminate_retry
        Catch          = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.terminate_error", Next = "LoadRaw" }]
        Next           = "LoadRaw"
      }
      # The hour's raw files, uncompacted, at once; the run still ends in Notify and Failed, so the failed compaction
      # is reported even when this load succeeds.
      LoadRaw = {
        Type     = "Task"
        Resource = local.lambda_invoke
        Parameters = {
          FunctionName = var.loader_function_arn
          Payload      = merge(local.load_payload, { compacted = false })
        }
        ResultPath = null
        Retry      = local.lambda_retry
        Catch      = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.load_error", Next = "Notify" }]
        Next       = "Notify"
      }
      # The message is the run's state: the plan (hour, run, input count, s3-dist-cp arguments: keys, never item
      # contents), the cluster ID and the errors. SNS caps a subject at 100 characters.
      Notify = {
        Type     = "Task"
        Resource = "arn:${local.partition}:states:::sns:publish"
        Parameters = {
          TopicArn    = var.alerts_topic_arn
          Subject     = "DdbCdc compaction failed: ${substr(var.table_name, 0, 70)}"
          "Message.$" = "$"
        }
        ResultPath = null
        Retry      = local.notify_retry
        Catch      = [{ ErrorEquals = ["States.ALL"], Next = "Failed" }]
        Next       = "Failed"
      }
      Failed = {
        Type  = "Fail"
        Error = "CompactionFailed"
        Cause = "A compaction run of ${var.table_name} failed; the alert has its state. The hour's raw files stay out of the ledger until they are loaded: by LoadRaw when it ran, else by the loader's reconciliation sweep and the next runs."
      }
    }
  }
}

# Execution data (the plan's keys, errors) stays out of the logs: include_execution_data = false.
resource "aws_cloudwatch_log_group" "state_machine" {
  #checkov:skip=CKV_AWS_338:Retention is the user's choice through log_retention_days (validated against CloudWatch's values); a year of compaction logs is rarely worth its cost.
  # The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's CloudWatch Logs resource policy.
  name              = "/aws/vendedlogs/states/${local.machine_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms.logs
  tags              = var.tags
}

data "aws_iam_policy_document" "states_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${local.machine_name}-states"
  description        = "State machine ${local.machine_name}: plans with ${var.loader_function_arn}, runs transient EMR clusters, loads"
  assume_role_policy = data.aws_iam_policy_document.states_assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "state_machine" {
  #checkov:skip=CKV_AWS_111:RunJobFlow and the CloudWatch Logs delivery and X-Ray actions accept no resource ARN (Service Authorization Reference; "Logging using CloudWatch Logs"); RunJobFlow is limited to clusters tagged for the managed policies, every other grant is scoped.
  #checkov:skip=CKV_AWS_356:RunJobFlow and the CloudWatch Logs delivery and X-Ray actions accept no resource ARN; every other grant is scoped.
  statement {
    sid       = "InvokeLoader"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.loader_function_arn, "${var.loader_function_arn}:*"]
  }

  # RunJobFlow takes no resource ARN. The condition is the one AWS's own AmazonEMRFullAccessPolicy_v2 uses: only
  # clusters that carry the tag the service role's policy needs.
  statement {
    sid       = "StartTaggedClusters"
    actions   = ["elasticmapreduce:RunJobFlow"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/for-use-with-amazon-emr-managed-policies"
      values   = ["true"]
    }
  }

  # Creating a cluster with tags also needs AddTags (EMR, since April 2023), and with an AutoTerminationPolicy,
  # PutAutoTerminationPolicy ("Using an auto-termination policy"). EMR checks both while it creates the cluster, and
  # which condition keys it supplies then is not documented, so these two stay on the account's and region's clusters.
  statement {
    sid       = "TagAndPolicyOwnClustersAtCreation"
    actions   = ["elasticmapreduce:AddTags", "elasticmapreduce:PutAutoTerminationPolicy"]
    resources = [local.cluster_arn_pattern]
  }

  # createCluster.sync polls, addStep.sync adds, polls and cancels its step, terminateCluster.sync terminates and polls:
  # only clusters carrying this machine's tag, so the role can never touch another team's cluster.
  statement {
    sid = "ManageOwnClusters"
    actions = [
      "elasticmapreduce:AddJobFlowSteps",
      "elasticmapreduce:CancelSteps",
      "elasticmapreduce:DescribeCluster",
      "elasticmapreduce:DescribeStep",
      "elasticmapreduce:TerminateJobFlows",
    ]
    resources = [local.cluster_arn_pattern]

    condition {
      test     = "StringEquals"
      variable = "elasticmapreduce:ResourceTag/ddb-cdc:compaction"
      values   = [local.machine_name]
    }
  }

  statement {
    sid       = "PassServiceRoleToEmr"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_service.arn]

    condition {
      test     = "StringLike"
      variable = "iam:PassedToService"
      values   = ["elasticmapreduce.amazonaws.com*"]
    }
  }

  # JobFlowRole (the instance profile's role) is passed on to EC2.
  statement {
    sid       = "PassInstanceRoleToEc2"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.instance.arn]

    condition {
      test     = "StringLike"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com*"]
    }
  }

  # The .sync integrations learn of cluster and step changes through these managed rules, which Step Functions
  # creates in the account on first use.
  statement {
    sid       = "ManageSyncRules"
    actions   = ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    resources = local.sync_rule_arns
  }

  # createCluster needs EMR's cleanup role, which it creates on first use ("Call Amazon EMR with Step Functions").
  statement {
    sid       = "CreateEmrCleanupRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/elasticmapreduce.amazonaws.com*/AWSServiceRoleForEMRCleanup*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["elasticmapreduce.amazonaws.com", "elasticmapreduce.amazonaws.com.cn"]
    }
  }

  statement {
    sid       = "PublishFailures"
    actions   = ["sns:Publish"]
    resources = [var.alerts_topic_arn]
  }

  # SNS encrypts a published message with the topic's key under the publisher's identity.
  dynamic "statement" {
    for_each = var.alerts_topic_kms_key_arn == null ? [] : [var.alerts_topic_kms_key_arn]
    content {
      sid       = "EncryptFailuresThroughSns"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sns.${local.region}.amazonaws.com"]
      }
    }
  }

  statement {
    sid = "DeliverExecutionLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "run-compaction"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

resource "aws_sfn_state_machine" "compaction" {
  #checkov:skip=CKV_AWS_285:Execution data holds the plan (raw object keys) and errors; logs stay at ERROR without it. Step Functions keeps each execution's full history for 90 days anyway (GetExecutionHistory).
  name       = local.machine_name
  role_arn   = aws_iam_role.state_machine.arn
  type       = "STANDARD"
  definition = jsonencode(local.definition)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = false
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = true
  }

  tags = var.tags

  # Step Functions checks the role's log delivery permissions when the machine is created; the clusters need the
  # service role's grants and the instance role's policy from their first run.
  depends_on = [aws_iam_role_policy.state_machine, aws_iam_role_policy_attachment.emr_service, aws_iam_role_policy.emr_service, aws_iam_role_policy.instance]
}

# ---------------------------------------------------------------------------
# Schedule: every hour at minute grace_minutes (UTC)
# ---------------------------------------------------------------------------

locals {
  # Written out rather than jsonencode'd: jsonencode escapes < and > (\u003c, \u003e), and Scheduler must see its
  # context attribute <aws.scheduler.scheduled-time> verbatim to replace it.
  schedule_input = "{\"scheduled_time\":\"<aws.scheduler.scheduled-time>\"}"
}

# aws:SourceArn as well as aws:SourceAccount ("Confused deputy prevention", EventBridge Scheduler user guide,
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html). Its value must be
# the schedule GROUP's ARN ("Do not scope the aws:SourceArn statement to a specific schedule"): the default group,
# which holds this schedule.
data "aws_iam_policy_document" "scheduler_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.schedule_group_arn]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${local.machine_name}-scheduler"
  description        = "EventBridge Scheduler starting ${local.machine_name} every hour"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "StartCompaction"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.compaction.arn]
  }

  dynamic "statement" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]
    content {
      sid       = "SendDeadLetters"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }

  # The dead-letter queue's key through SQS, the schedule's through Scheduler.
  dynamic "statement" {
    for_each = local.scheduler_kms_grants
    content {
      sid       = statement.value.sid
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.key]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = statement.value.services
      }
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "start-compaction"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "compaction" {
  name                         = local.schedule_name
  group_name                   = "default"
  description                  = "Compacts the previous hour of ${var.table_name} at minute ${var.grace_minutes} of every hour (UTC)"
  schedule_expression          = "cron(${var.grace_minutes} * * * ? *)"
  schedule_expression_timezone = "UTC"
  kms_key_arn                  = var.kms_key_arn
  state                        = var.schedule_enabled ? "ENABLED" : "DISABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.compaction.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = local.schedule_input

    # The hour comes from scheduled_time, not from when the start succeeds, so a late start still compacts the right
    # hour; after an hour Scheduler gives up (to the dead-letter queue) and the reconciliation sweep loads the hour raw.
    retry_policy {
      maximum_retry_attempts       = 10
      maximum_event_age_in_seconds = local.schedule_max_event_age_seconds
    }

    dynamic "dead_letter_config" {
      for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]
      content {
        arn = dead_letter_config.value
      }
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}

# ---------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------

locals {
  execution_alarms = {
    failed = {
      metric      = "ExecutionsFailed"
      description = "A compaction run of ${local.machine_name} failed: its hour was loaded raw (LoadRaw), or is left to the loader's reconciliation sweep. The alert topic has the run's state (subject \"DdbCdc compaction failed\"); aws stepfunctions list-executions --state-machine-arn <arn> --status-filter FAILED lists them."
    }
    timed_out = {
      metric      = "ExecutionsTimedOut"
      description = "A compaction run of ${local.machine_name} timed out. Check that its cluster terminated (aws emr list-clusters --active); idle auto-termination ends it after the idle timeout otherwise."
    }
    # An aborted run (StopExecution) does not terminate its cluster: Step Functions leaves EMR clusters running when an
    # execution stops ("Call Amazon EMR with Step Functions"), so someone should look even when the stop was deliberate.
    aborted = {
      metric      = "ExecutionsAborted"
      description = "A compaction run of ${local.machine_name} was stopped. Step Functions does not terminate its cluster: aws emr list-clusters --active, then terminate it (idle auto-termination ends it otherwise). The reconciliation sweep loads the hour's raw files."
    }
  }
}

# The schedule's runs stop (the schedule or its role broken, Scheduler giving up): no execution starts, the alarms above
# see nothing, and raw files wait for the reconciliation sweep. Hourly runs: fewer than one start in three hours pages.
resource "aws_cloudwatch_metric_alarm" "not_running" {
  count = var.schedule_enabled ? 1 : 0

  alarm_name        = "${local.machine_name}-not-running"
  alarm_description = "No compaction run of ${local.machine_name} started in 3 hours although its schedule is enabled: check the schedule ${local.schedule_name} and its dead-letter queue. Raw files wait for the loader's reconciliation sweep meanwhile."

  namespace   = "AWS/States"
  metric_name = "ExecutionsStarted"
  dimensions = {
    StateMachineArn = aws_sfn_state_machine.compaction.arn
  }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 3
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  # No datapoint means no execution started in that hour.
  treat_missing_data = "breaching"

  alarm_actions = var.alarm_actions
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "executions" {
  for_each = local.execution_alarms

  alarm_name        = "${local.machine_name}-executions-${replace(each.key, "_", "-")}"
  alarm_description = each.value.description

  namespace   = "AWS/States"
  metric_name = each.value.metric
  dimensions = {
    StateMachineArn = aws_sfn_state_machine.compaction.arn
  }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  # Step Functions publishes these metrics only for periods with executions: no datapoint means no such execution.
  treat_missing_data = "notBreaching"

  alarm_actions = var.alarm_actions
  tags          = var.tags
}
