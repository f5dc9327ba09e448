# Warehouse loader: the loader Lambda (one COPY + MERGE transaction per invocation,
# single concurrency), its trigger (S3 notifications through SQS, or EventBridge
# Scheduler; none for ec2_cron, whose host runs the loader CLI under this role; a
# reconciliation schedule for emr_compaction, whose state machine invokes the loader),
# the Data API completion function, alerts, alarms and least-privilege IAM.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# A workgroup ARN holds its ID, not its name, so it is looked up.
data "aws_redshiftserverless_workgroup" "target" {
  count = local.serverless && local.data_api ? 1 : 0

  workgroup_name = var.target.workgroup_name
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  # Built from the name so that the queue's own (inline) policy can name it without a cycle.
  load_queue_arn = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:${local.loader_name}-queue"
  partition      = data.aws_partition.current.partition
  region         = data.aws_region.current.id

  s3_event       = var.load_strategy == "s3_event"
  schedule       = var.load_strategy == "schedule"
  ec2_cron       = var.load_strategy == "ec2_cron"
  emr_compaction = var.load_strategy == "emr_compaction"
  data_api       = var.executor == "data_api"
  psycopg2       = var.executor == "psycopg2"
  async_data_api = local.data_api && var.data_api_mode == "async"
  provisioned    = var.target.kind == "provisioned"
  serverless     = var.target.kind == "serverless"

  # Contract 2 layout, normalised as in s3_sink: an empty prefix means no leading slash.
  prefix_root          = var.prefix == "" ? "" : "${var.prefix}/"
  raw_prefix           = "${local.prefix_root}raw/${var.table_name}/"
  manifests_prefix     = "${local.prefix_root}manifests/${var.table_name}/"
  load_failures_prefix = "${local.prefix_root}load-failures/${var.table_name}/"
  quarantine_prefix    = "${local.prefix_root}quarantine/${var.table_name}/"
  # emr_compaction: the loader writes each run's s3-dist-cp input list under compaction/ and loads from compacted/.
  compaction_prefix = "${local.prefix_root}compaction/${var.table_name}/"
  compacted_prefix  = "${local.prefix_root}compacted/${var.table_name}/"
  loader_prefixes = concat(
    [local.raw_prefix, local.manifests_prefix, local.load_failures_prefix, local.quarantine_prefix],
    local.emr_compaction ? [local.compaction_prefix, local.compacted_prefix] : [],
  )

  loader_name     = "${var.name}-loader"
  completion_name = "${var.name}-load-completion"

  # Async Data API calls return at once; poll mode and psycopg2 wait for the load, and so does emr_compaction's
  # compacted load in every mode (its state machine must know the outcome).
  loader_timeout       = coalesce(var.loader_timeout, local.async_data_api && !local.emr_compaction ? 120 : 900)
  statement_timeout_ms = coalesce(var.statement_timeout_ms, max(local.loader_timeout - 60, 10) * 1000)
  # How long a waiting load may take: a minute short of the timeout, and never nothing (a 30 s timeout gives 15 s).
  poll_budget_seconds = max(local.loader_timeout - 60, floor(local.loader_timeout / 2))
  # AWS guidance for SQS event sources: at least 6x the function timeout, plus the batching window.
  queue_visibility_timeout = 6 * local.loader_timeout + var.s3_event.maximum_batching_window_in_seconds

  # Minutes between scheduled runs: the load schedule, the ec2_cron host's timer, or the reconciliation schedule of
  # s3_event and emr_compaction. ec2_cron has no EventBridge schedule: the host's timer is its only trigger.
  run_cadence_minutes = (
    local.schedule ? var.schedule.rate_minutes :
    local.ec2_cron ? var.ec2_cron_rate_minutes :
    local.emr_compaction ? var.emr_compaction.reconcile_rate_minutes :
    var.s3_event.reconcile_rate_minutes
  )
  create_schedule = !local.ec2_cron
  # emr_compaction's schedule only reconciles (retries, one sweep step, the lag metric); the state machine loads. With
  # the compaction's schedule paused it loads everything itself, or a busy table would outrun the sweep's few pages.
  schedule_input = jsonencode({ trigger = local.emr_compaction && var.emr_compaction.compaction_scheduled ? "reconcile" : "schedule" })

  # emr_compaction: an hour's raw files wait for its run, which starts latest_finish_seconds after the hour ends at the
  # latest, then loads within the loader's timeout. The sweep leaves files younger than that (counted from the start
  # of their hour: one more hour) to the compaction, so it never loads a file its compaction may still take; in the
  # other modes the loader's default (900 s) applies.
  reconcile_grace_seconds = local.emr_compaction ? 3600 + coalesce(var.emr_compaction.latest_finish_seconds, 0) + local.loader_timeout : null
  # Changes wait that long by design in emr_compaction mode, so the lag alarm's default threshold does too, plus one
  # reconciliation cadence for the sweep that catches what a failed compaction left.
  lag_alarm_threshold_seconds = coalesce(
    var.lag_alarm_threshold_seconds,
    local.emr_compaction ? local.reconcile_grace_seconds + local.run_cadence_minutes * 60 : 1800,
  )
  # The longest gap between two ReplicationLagSeconds datapoints of a healthy loader: one cadence, plus one run
  # (a run publishes when it ends, up to the function timeout after it started), plus 5 minutes for Scheduler's
  # delivery and CloudWatch's ingestion. The lag alarm fires only when every period of this window is breaching
  # or empty, so one healthy datapoint per cadence keeps it OK.
  lag_alarm_window_seconds = local.run_cadence_minutes * 60 + local.loader_timeout + 300
  # PutMetricAlarm: period x evaluation periods may not exceed 1 day for periods under an hour, 7 days otherwise
  # (the longest window, a 1440-minute cadence, is about 24.3 hours).
  lag_alarm_period             = local.lag_alarm_window_seconds <= 86400 ? 300 : 3600
  lag_alarm_evaluation_periods = ceil(local.lag_alarm_window_seconds / local.lag_alarm_period)

  cluster_arn   = local.provisioned ? "arn:${local.partition}:redshift:${local.region}:${local.account_id}:cluster:${var.target.cluster_identifier}" : null
  workgroup_arn = try(data.aws_redshiftserverless_workgroup.target[0].arn, null)

  create_topic     = var.sns_topic_arn == null
  create_topic_key = local.create_topic && var.sns_topic_kms_key_arn == null
  topic_kms_key_arn = (
    local.create_topic_key ? aws_kms_key.alerts[0].arn :
    local.create_topic ? var.sns_topic_kms_key_arn : null
  )
  sns_topic_arn = local.create_topic ? aws_sns_topic.alerts[0].arn : var.sns_topic_arn
  # Every alarm of this stack is named "<name>-...": the topic and its key admit those alarms only.
  alarm_arn_pattern = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-*"
  copy_role_arn     = var.create_copy_role ? aws_iam_role.copy[0].arn : var.copy_role_arn
  alarm_actions     = distinct(concat(var.alarm_actions, [local.sns_topic_arn]))

  # Contract with ddb_cdc.handlers.loader and ddb_cdc.handlers.load_completion; null entries are dropped.
  environment = { for k, v in {
    CDC_BUCKET                  = var.bucket_name
    CDC_PREFIX                  = var.prefix
    CDC_TABLE_NAME              = var.table_name
    CDC_TARGET_SPEC             = jsonencode(var.target_spec)
    CDC_COPY_ROLE_ARN           = local.copy_role_arn
    CDC_EXECUTOR                = var.executor
    CDC_REDSHIFT_DATABASE       = var.target.database
    CDC_REDSHIFT_WORKGROUP      = local.serverless ? var.target.workgroup_name : null
    CDC_REDSHIFT_CLUSTER_ID     = local.provisioned ? var.target.cluster_identifier : null
    CDC_REDSHIFT_DB_USER        = local.provisioned ? var.target.db_user : null
    CDC_REDSHIFT_SECRET_ARN     = local.provisioned ? var.target.secret_arn : null
    CDC_DATA_API_MODE           = local.data_api ? var.data_api_mode : null
    CDC_POLL_BUDGET_SECONDS     = local.data_api && (var.data_api_mode == "poll" || local.emr_compaction) ? tostring(local.poll_budget_seconds) : null
    CDC_DB_SECRET_ARN           = local.psycopg2 ? var.db_secret_arn : null
    CDC_DB_SSM_PARAMETER        = local.psycopg2 ? var.db_ssm_parameter_arn : null
    CDC_DB_SSLMODE              = local.psycopg2 ? var.db_sslmode : null
    CDC_DB_SSLROOTCERT          = local.psycopg2 ? var.db_sslrootcert : null
    CDC_CONNECT_TIMEOUT_SECONDS = local.psycopg2 ? tostring(var.connect_timeout_seconds) : null
    CDC_STATEMENT_TIMEOUT_MS    = local.psycopg2 ? tostring(local.statement_timeout_ms) : null
    CDC_ALERT_TOPIC_ARN         = local.sns_topic_arn
    CDC_MAX_FILE_FAILURES       = tostring(var.max_file_failures)
    CDC_SCHEDULE_LOOKBACK_HOURS = tostring(var.schedule_lookback_hours)
    CDC_METRIC_NAMESPACE        = var.metric_namespace
    CDC_LAG_ALARM_SECONDS       = tostring(local.lag_alarm_threshold_seconds)
    LOG_LEVEL                   = var.log_level
    # Contract with ddb_cdc.loader.config (emr_compaction spec, "Loader environment added").
    CDC_LOAD_STRATEGY             = var.load_strategy
    CDC_COMPACTION_TARGET_SIZE_MB = local.emr_compaction ? tostring(var.emr_compaction.target_size_mb) : null
    CDC_RECONCILE_GRACE_SECONDS   = local.emr_compaction ? tostring(local.reconcile_grace_seconds) : null
  } : k => v if v != null }

  # The key of each purpose (kms_keys), kms_key_arn where none is given: the bucket's objects, the queues, the log
  # groups. The functions' environment and the schedule stay on kms_key_arn.
  kms = { for purpose in ["bucket", "queues", "logs"] : purpose => try(coalesce(var.kms_keys[purpose], var.kms_key_arn), null) }
  queue_sse = {
    sqs_managed_sse_enabled           = local.kms.queues == null ? true : null
    kms_data_key_reuse_period_seconds = local.kms.queues == null ? null : 300
  }

  # A role's KMS grants, one statement per key, each usable only through the services that encrypt with it for that
  # role (kms:ViaService, "AWS KMS condition keys", https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service):
  # S3 for the objects, SQS for the queues, Lambda for the functions' environment, Scheduler for the schedule.
  kms_uses = {
    # Secrets Manager and SSM decrypt a secret or SecureString with the caller's identity, and SNS encrypts a message
    # for the publisher: a secret, parameter or adopted topic encrypted with kms_key_arn needs the key through them.
    loader = [
      { purpose = "bucket", key = local.kms.bucket, service = "s3" },
      { purpose = "queues", key = local.kms.queues, service = "sqs" },
      { purpose = "functions", key = var.kms_key_arn, service = "lambda" },
      { purpose = "secrets", key = (local.psycopg2 && var.db_secret_arn != null) || (local.data_api && local.provisioned && var.target.secret_arn != null) ? var.kms_key_arn : null, service = "secretsmanager" },
      { purpose = "parameters", key = local.psycopg2 && var.db_ssm_parameter_arn != null ? var.kms_key_arn : null, service = "ssm" },
      { purpose = "alerts", key = local.create_topic ? null : var.kms_key_arn, service = "sns" },
    ]
    scheduler = [
      { purpose = "queues", key = local.kms.queues, service = "sqs" },
      { purpose = "schedule", key = var.kms_key_arn, service = "scheduler" },
    ]
    copy = [{ purpose = "bucket", key = local.kms.bucket, service = "s3" }]
  }
  kms_grants = { for role, uses in local.kms_uses : role => {
    for key in distinct([for use in uses : use.key if use.key != null]) : key => {
      sid      = "UseKeyFor${join("", [for use in uses : title(use.purpose) if use.key == key])}"
      services = distinct([for use in uses : "${use.service}.${local.region}.${data.aws_partition.current.dns_suffix}" if use.key == key])
    }
  } }
}

# ---------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------

# The topic cannot use the AWS-managed aws/sns key: its key policy is fixed and admits only principals of this account
# calling through SNS, so CloudWatch alarms and EventBridge rules, which publish as service principals, are refused and
# the alarm is never delivered ("Enable compatibility between event sources from AWS services and encrypted topics",
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
# Hence a customer managed key, created here unless sns_topic_kms_key_arn names one.
resource "aws_sns_topic" "alerts" {
  count = local.create_topic ? 1 : 0

  name              = "${var.name}-load-alerts"
  kms_master_key_id = local.topic_kms_key_arn
  tags              = var.tags
}

resource "aws_kms_key" "alerts" {
  count = local.create_topic_key ? 1 : 0

  description             = "Encrypts ${var.name}-load-alerts; CloudWatch alarms and EventBridge may use it to publish"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.alerts_key[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "alerts" {
  count = local.create_topic_key ? 1 : 0

  name          = "alias/${var.name}-load-alerts"
  target_key_id = aws_kms_key.alerts[0].key_id
}

# In a key policy "*" as the resource means this key. SNS uses the key under the publisher's identity: the account
# statement lets IAM policies grant that (the loader's role does, through SNS only); the service statements follow
# the SNS guide above.
data "aws_iam_policy_document" "alerts_key" {
  count = local.create_topic_key ? 1 : 0

  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is the key itself; the account root must keep full control or the key becomes unmanageable.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself; the account root must keep full control or the key becomes unmanageable.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself, not every resource.
  statement {
    sid       = "AdministerKeyFromThisAccount"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # aws:SourceAccount and aws:SourceArn are supported for CloudWatch here; they keep the grant to this stack's alarms.
  statement {
    sid       = "CloudWatchAlarmsOfThisStack"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.alarm_arn_pattern]
    }
  }

  # The SNS guide: "Adding the aws:SourceAccount and aws:SourceArn to a AWS KMS policy is not supported for
  # EventBridge-to-encrypted topics" (the request carries neither key, so a conditioned grant drops every event).
  # The grant is therefore unconditioned, and the topic policy is the gate: it lets EventBridge publish only for
  # rules of this account. Kept so that a rule routed to this topic later pages as an alarm does.
  statement {
    sid       = "EventBridgeRulesThroughTheTopicPolicy"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

# Replaces the default topic policy (any principal of this account, which IAM already covers) with the publishers
# that act as service principals: this stack's CloudWatch alarms, and EventBridge rules of this account.
data "aws_iam_policy_document" "alerts_topic" {
  count = local.create_topic ? 1 : 0

  statement {
    sid       = "CloudWatchAlarmsOfThisStack"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts[0].arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.alarm_arn_pattern]
    }
  }

  statement {
    sid       = "EventBridgeRulesOfThisAccount"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/*"]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  count = local.create_topic ? 1 : 0

  arn    = aws_sns_topic.alerts[0].arn
  policy = data.aws_iam_policy_document.alerts_topic[0].json
}

# Failed asynchronous invocations: Scheduler's dead letters, the loader's
# on-failure destination and the completion function's DLQ. Its depth alarms.
resource "aws_sqs_queue" "invoke_dlq" {
  name                              = "${local.loader_name}-invoke-dlq"
  message_retention_seconds         = 1209600 # 14 days, the SQS maximum: time to inspect and replay
  sqs_managed_sse_enabled           = local.queue_sse.sqs_managed_sse_enabled
  kms_master_key_id                 = local.kms.queues
  kms_data_key_reuse_period_seconds = local.queue_sse.kms_data_key_reuse_period_seconds

  # Lambda and Scheduler send here directly; no queue redrives into it, so none may ("RedriveAllowPolicy", SQS API
  # reference, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html).
  redrive_allow_policy = jsonencode({ redrivePermission = "denyAll" })

  tags = var.tags
}

# ---------------------------------------------------------------------------
# Shared execution role
# ---------------------------------------------------------------------------

# The Data API only lets the IAM role that ran a statement describe it and read
# its result, so the completion function runs under the loader's role. For the
# same reason the ec2_cron host runs as this role too (its instance profile holds
# it): a separate host role would own the statements, the completion function could
# not describe them, and a serverless target would see another database user
# (IAMR:<role name>) than the one granted on the target schema.

data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = local.ec2_cron ? ["lambda.amazonaws.com", "ec2.amazonaws.com"] : ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "loader" {
  name               = local.loader_name
  description        = "Loader of s3://${var.bucket_name}/${local.raw_prefix} into Redshift ${var.target_spec.schema}.${var.target_spec.table}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "loader" {
  statement {
    sid       = "ListLoaderPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for p in local.loader_prefixes : "${p}*"]
    }
  }

  statement {
    sid       = "ReadLoaderObjects"
    actions   = ["s3:GetObject"]
    resources = [for p in local.loader_prefixes : "${var.bucket_arn}/${p}*"]
  }

  # emr_compaction adds compaction/: each run's s3-dist-cp input list and the loader's own records of it.
  statement {
    sid     = "WriteLoaderObjects"
    actions = ["s3:PutObject"]
    resources = concat(
      ["${var.bucket_arn}/${local.manifests_prefix}*", "${var.bucket_arn}/${local.load_failures_prefix}*", "${var.bucket_arn}/${local.quarantine_prefix}*"],
      local.emr_compaction ? ["${var.bucket_arn}/${local.compaction_prefix}*"] : [],
    )
  }

  # Quarantine copies a file then deletes it from raw/; a successful load resets its failure count.
  statement {
    sid       = "DeleteQuarantinedAndResetObjects"
    actions   = ["s3:DeleteObject"]
    resources = ["${var.bucket_arn}/${local.raw_prefix}*", "${var.bucket_arn}/${local.load_failures_prefix}*"]
  }

  dynamic "statement" {
    for_each = local.s3_event ? ["sqs"] : []
    content {
      sid       = "ConsumeLoadQueue"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [aws_sqs_queue.load[0].arn]
    }
  }

  dynamic "statement" {
    for_each = local.data_api ? ["run"] : []
    content {
      sid       = "RunStatementsOnTarget"
      actions   = ["redshift-data:BatchExecuteStatement", "redshift-data:ExecuteStatement"]
      resources = [local.provisioned ? local.cluster_arn : local.workgroup_arn]
    }
  }

  # These actions take no resource ARN; the owner condition keeps them to this role's statements.
  dynamic "statement" {
    for_each = local.data_api ? ["read"] : []
    content {
      sid       = "ReadOwnStatements"
      actions   = ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:CancelStatement"]
      resources = ["*"]

      condition {
        test     = "StringLike"
        variable = "redshift-data:statement-owner-iam-userid"
        values   = ["${aws_iam_role.loader.unique_id}:*"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.data_api && local.provisioned && var.target.db_user != null ? ["creds"] : []
    content {
      sid     = "GetClusterCredentials"
      actions = ["redshift:GetClusterCredentials"]
      resources = [
        "arn:${local.partition}:redshift:${local.region}:${local.account_id}:dbuser:${var.target.cluster_identifier}/${var.target.db_user}",
        "arn:${local.partition}:redshift:${local.region}:${local.account_id}:dbname:${var.target.cluster_identifier}/${var.target.database}",
      ]
    }
  }

  dynamic "statement" {
    for_each = local.data_api && local.serverless ? ["creds"] : []
    content {
      sid       = "GetServerlessCredentials"
      actions   = ["redshift-serverless:GetCredentials"]
      resources = [local.workgroup_arn]
    }
  }

  dynamic "statement" {
    for_each = compact([
      local.data_api && local.provisioned ? var.target.secret_arn : null,
      local.psycopg2 ? var.db_secret_arn : null,
    ])
    content {
      sid       = "ReadDatabaseSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.psycopg2 && var.db_ssm_parameter_arn != null ? [var.db_ssm_parameter_arn] : []
    content {
      sid       = "ReadDatabaseParameter"
      actions   = ["ssm:GetParameter"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [local.sns_topic_arn]
  }

  # SNS encrypts a published message with the topic's key under the publisher's identity.
  dynamic "statement" {
    for_each = local.create_topic ? [local.topic_kms_key_arn] : []
    content {
      sid       = "EncryptAlertsThroughSns"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sns.${local.region}.amazonaws.com"]
      }
    }
  }

  # PutMetricData takes no resource ARN; the namespace condition scopes it.
  statement {
    sid       = "PutLoaderMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = concat(["${aws_cloudwatch_log_group.loader.arn}:*"], [for g in aws_cloudwatch_log_group.completion : "${g.arn}:*"])
  }

  dynamic "statement" {
    for_each = local.kms_grants.loader
    content {
      sid       = statement.value.sid
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.key]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = statement.value.services
      }
    }
  }
}

resource "aws_iam_role_policy" "loader" {
  name   = "load-cdc-into-redshift"
  role   = aws_iam_role.loader.id
  policy = data.aws_iam_policy_document.loader.json
}

# ENI management for a VPC function. AWSLambdaENIManagementAccess holds only the ENI actions ("AWS managed policies
# for Lambda features", https://docs.aws.amazon.com/lambda/latest/dg/permissions-managed-policies.html);
# AWSLambdaVPCAccessExecutionRole would add CloudWatch Logs on "*", which WriteOwnLogs above already grants on this
# function's own log groups.
resource "aws_iam_role_policy_attachment" "loader_vpc" {
  count = local.psycopg2 ? 1 : 0

  role       = aws_iam_role.loader.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaENIManagementAccess"
}

# The Lambda VPC guide lists ec2:DescribeSubnets among the execution role's required permissions, and the managed
# policy above does not hold it ("Giving Lambda functions access to resources in an Amazon VPC",
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html). Describe actions take no resource ARN.
data "aws_iam_policy_document" "loader_vpc" {
  count = local.psycopg2 ? 1 : 0

  statement {
    sid       = "DescribeSubnetsForVpcAccess"
    actions   = ["ec2:DescribeSubnets"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "loader_vpc" {
  count = local.psycopg2 ? 1 : 0

  name   = "describe-subnets"
  role   = aws_iam_role.loader.id
  policy = data.aws_iam_policy_document.loader_vpc[0].json
}

# ---------------------------------------------------------------------------
# Loader function
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "loader" {
  #checkov:skip=CKV_AWS_338:Retention is the user's choice through log_retention_days (validated against CloudWatch's values); a year of loader logs is rarely worth its cost.
  name              = "/aws/lambda/${local.loader_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms.logs
  tags              = var.tags
}

resource "aws_lambda_function" "loader" {
  #checkov:skip=CKV_AWS_272:The zip is built from this repository by the root module in the same apply; code signing needs a signer profile and S3 upload path outside this module.
  #checkov:skip=CKV_AWS_116:Asynchronous failures go to the on-failure destination of aws_lambda_function_event_invoke_config.loader (the invoke DLQ); SQS failures go to the load queue's DLQ.
  function_name = local.loader_name
  description   = "Loads ${var.table_name} changes from s3://${var.bucket_name}/${local.raw_prefix} into Redshift ${var.target_spec.schema}.${var.target_spec.table}"
  role          = aws_iam_role.loader.arn

  runtime          = "python3.12"
  architectures    = ["x86_64"]
  handler          = "ddb_cdc.handlers.loader.handler"
  filename         = var.lambda_zip_path
  source_code_hash = var.lambda_zip_base64sha256
  layers           = local.psycopg2 ? [local.psycopg2_layer_arn] : []

  memory_size = var.loader_memory_size
  timeout     = local.loader_timeout
  # One load at a time for this table: loads never interleave.
  reserved_concurrent_executions = 1
  kms_key_arn                    = var.kms_key_arn

  tracing_config {
    mode = "PassThrough"
  }

  dynamic "vpc_config" {
    for_each = local.psycopg2 ? [var.vpc] : []
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  environment {
    variables = local.environment
  }

  tags = var.tags

  # The log group must exist first so Lambda does not create one without retention;
  # the policy must be attached before the SQS mapping validates the role.
  depends_on = [aws_cloudwatch_log_group.loader, aws_iam_role_policy.loader, aws_iam_role_policy_attachment.loader_vpc]
}

resource "aws_lambda_function_event_invoke_config" "loader" {
  function_name                = aws_lambda_function.loader.function_name
  maximum_retry_attempts       = var.async_invocation.maximum_retry_attempts
  maximum_event_age_in_seconds = var.async_invocation.maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.invoke_dlq.arn
    }
  }
}

# Lambda delivers on-failure records and dead letters with the function's role.
data "aws_iam_policy_document" "loader_destination" {
  statement {
    sid       = "SendFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.invoke_dlq.arn]
  }
}

resource "aws_iam_role_policy" "loader_destination" {
  name   = "send-failed-invocations"
  role   = aws_iam_role.loader.id
  policy = data.aws_iam_policy_document.loader_destination.json
}

# ---------------------------------------------------------------------------
# load_strategy = "s3_event": S3 -> SQS -> loader
# ---------------------------------------------------------------------------

resource "aws_sqs_queue" "load_dlq" {
  count = local.s3_event ? 1 : 0

  name                              = "${local.loader_name}-queue-dlq"
  message_retention_seconds         = 1209600
  sqs_managed_sse_enabled           = local.queue_sse.sqs_managed_sse_enabled
  kms_master_key_id                 = local.kms.queues
  kms_data_key_reuse_period_seconds = local.queue_sse.kms_data_key_reuse_period_seconds

  # Only the load queue may redrive into it (named by ARN: the load queue's redrive policy already names this queue).
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.load_queue_arn]
  })

  tags = var.tags
}

resource "aws_sqs_queue" "load" {
  count = local.s3_event ? 1 : 0

  name                              = "${local.loader_name}-queue"
  visibility_timeout_seconds        = local.queue_visibility_timeout
  message_retention_seconds         = 1209600
  sqs_managed_sse_enabled           = local.queue_sse.sqs_managed_sse_enabled
  kms_master_key_id                 = local.kms.queues
  kms_data_key_reuse_period_seconds = local.queue_sse.kms_data_key_reuse_period_seconds

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.load_dlq[0].arn
    maxReceiveCount     = var.s3_event.max_receive_count
  })

  # Inline rather than an aws_sqs_queue_policy: the provider waits ~25 s for a separate policy to
  # settle on create and again on destroy, and the queue exists with its policy from the start.
  policy = data.aws_iam_policy_document.load_queue[0].json

  tags = var.tags
}

data "aws_iam_policy_document" "load_queue" {
  count = local.s3_event ? 1 : 0

  statement {
    sid       = "AllowBucketNotifications"
    actions   = ["sqs:SendMessage"]
    resources = [local.load_queue_arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.bucket_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# Stacks applied before the policy moved into the queue: forget the old policy resource instead of
# deleting it, so S3 is never refused while the queue is updated to carry the same policy inline.
removed {
  from = aws_sqs_queue_policy.load

  lifecycle {
    destroy = false
  }
}

# A bucket has ONE notification configuration: this resource owns it.
resource "aws_s3_bucket_notification" "raw" {
  count = local.s3_event ? 1 : 0

  bucket = var.bucket_name

  queue {
    id            = "${local.loader_name}-raw"
    queue_arn     = aws_sqs_queue.load[0].arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = local.raw_prefix
    filter_suffix = ".json.gz"
  }

  # S3 sends a test event on creation and rejects the configuration if it cannot deliver.
}

# One invocation holds every message of a batching window and runs one COPY for
# all of them: the load commits or fails as a whole, so ReportBatchItemFailures
# would add nothing.
resource "aws_lambda_event_source_mapping" "load" {
  count = local.s3_event ? 1 : 0

  event_source_arn                   = aws_sqs_queue.load[0].arn
  function_name                      = aws_lambda_function.loader.arn
  batch_size                         = var.s3_event.batch_size
  maximum_batching_window_in_seconds = var.s3_event.maximum_batching_window_in_seconds

  # 2 is the smallest maximum SQS allows; reserved concurrency 1 throttles the rest.
  scaling_config {
    maximum_concurrency = 2
  }
}

# ---------------------------------------------------------------------------
# EventBridge Scheduler -> loader: the load trigger of load_strategy = "schedule", and the reconciliation pass of
# "s3_event" (every raw/ file not in the ledger, whatever happened to its notification) and of "emr_compaction"
# ({"trigger": "reconcile"}: retries and one sweep step, which loads what a failed compaction left). Each run
# publishes ReplicationLagSeconds, which is what lets the lag alarm treat missing data as breaching.
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "scheduler_assume_role" {
  count = local.create_schedule ? 1 : 0

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

    # "Confused deputy prevention" (EventBridge Scheduler user guide,
    # https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html): the value
    # is the schedule GROUP's ARN, never a schedule's. The schedule below is in the default group.
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule-group/default"]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count = local.create_schedule ? 1 : 0

  name               = "${local.loader_name}-scheduler"
  description        = "EventBridge Scheduler invoking ${local.loader_name}"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume_role[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  count = local.create_schedule ? 1 : 0

  statement {
    sid       = "InvokeLoader"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.loader.arn]
  }

  statement {
    sid       = "SendDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.invoke_dlq.arn]
  }

  dynamic "statement" {
    for_each = local.kms_grants.scheduler
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
  count = local.create_schedule ? 1 : 0

  name   = "invoke-loader"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler[0].json
}

resource "aws_scheduler_schedule" "load" {
  count = local.create_schedule ? 1 : 0

  name                = local.loader_name
  description         = "${local.schedule ? "Loads" : "Reconciles: loads"} every ${var.table_name} file not yet in the ledger${local.emr_compaction ? " and older than ${local.reconcile_grace_seconds} s" : ""}, every ${local.run_cadence_minutes} minutes"
  schedule_expression = "rate(${local.run_cadence_minutes} ${local.run_cadence_minutes == 1 ? "minute" : "minutes"})"
  kms_key_arn         = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.loader.arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = local.schedule_input

    retry_policy {
      maximum_retry_attempts       = var.schedule.maximum_retry_attempts
      maximum_event_age_in_seconds = var.schedule.maximum_event_age_in_seconds
    }

    dead_letter_config {
      arn = aws_sqs_queue.invoke_dlq.arn
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}

# The schedule was unconditional while every strategy but ec2_cron had one: a stack applied then keeps its role and
# schedule. (Stacks from before that, when only "schedule" had them, already hold these [0] addresses.)
moved {
  from = aws_iam_role.scheduler
  to   = aws_iam_role.scheduler[0]
}

moved {
  from = aws_iam_role_policy.scheduler
  to   = aws_iam_role_policy.scheduler[0]
}

moved {
  from = aws_scheduler_schedule.load
  to   = aws_scheduler_schedule.load[0]
}

# ---------------------------------------------------------------------------
# Completion function (executor = "data_api", data_api_mode = "async")
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "completion" {
  count = local.async_data_api ? 1 : 0

  #checkov:skip=CKV_AWS_338:Retention is the user's choice through log_retention_days (validated against CloudWatch's values); a year of completion logs is rarely worth its cost.
  name              = "/aws/lambda/${local.completion_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms.logs
  tags              = var.tags
}

resource "aws_lambda_function" "completion" {
  count = local.async_data_api ? 1 : 0

  #checkov:skip=CKV_AWS_117:It only calls AWS APIs (Redshift Data API, S3, SNS) and reaches nothing inside a VPC.
  #checkov:skip=CKV_AWS_272:The zip is built from this repository by the root module in the same apply; code signing needs a signer profile and S3 upload path outside this module.
  #checkov:skip=CKV_AWS_115:Status events arrive one per load, and the loader itself is limited to one at a time; a reservation would only take from the account pool.
  function_name = local.completion_name
  description   = "Handles Redshift Data API status events of ${local.loader_name}: alerts on FAILED with the load-error lines"
  role          = aws_iam_role.loader.arn

  runtime          = "python3.12"
  architectures    = ["x86_64"]
  handler          = "ddb_cdc.handlers.load_completion.handler"
  filename         = var.lambda_zip_path
  source_code_hash = var.lambda_zip_base64sha256

  memory_size = var.completion_memory_size
  timeout     = var.completion_timeout
  kms_key_arn = var.kms_key_arn

  # Status events the handler could not process (after Lambda's async retries) wait here, and its alarm fires.
  dead_letter_config {
    target_arn = aws_sqs_queue.invoke_dlq.arn
  }

  tracing_config {
    mode = "PassThrough"
  }

  environment {
    variables = local.environment
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.completion, aws_iam_role_policy.loader, aws_iam_role_policy.loader_destination]
}

# The loader names each statement ddb_cdc:<table>:<load id> (ddb_cdc.loader.executors.statement_name), and the
# status event carries that name as detail.statementName ("Monitoring events for the Amazon Redshift Data API in
# Amazon EventBridge", https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-monitoring-events.html), so the
# rule passes only this table's loads. The name is no proof of origin: the handler still checks the statement with
# DescribeStatement under the loader's role before it acts.
resource "aws_cloudwatch_event_rule" "statement_status" {
  count = local.async_data_api ? 1 : 0

  name        = "${local.completion_name}-status"
  description = "Redshift Data API status changes of ${var.table_name} loads, for ${local.completion_name}"
  event_pattern = jsonencode({
    source        = ["aws.redshift-data"]
    "detail-type" = ["Redshift Data Statement Status Change"]
    detail = {
      statementName = [{ prefix = "ddb_cdc:${var.table_name}:" }]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "statement_status" {
  count = local.async_data_api ? 1 : 0

  rule = aws_cloudwatch_event_rule.statement_status[0].name
  arn  = aws_lambda_function.completion[0].arn
}

resource "aws_lambda_permission" "statement_status" {
  count = local.async_data_api ? 1 : 0

  statement_id  = "AllowRedshiftDataStatusEvents"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.completion[0].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.statement_status[0].arn
}

# ---------------------------------------------------------------------------
# COPY role (create_copy_role = true)
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "copy_assume_role" {
  count = var.create_copy_role ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type = "Service"
      # Redshift Serverless assumes the role as redshift-serverless.amazonaws.com ("Granting permissions to Amazon
      # Redshift Serverless"); a provisioned cluster as redshift.amazonaws.com.
      identifiers = local.serverless ? ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"] : ["redshift.amazonaws.com"]
    }

    # Only Redshift acting for a cluster or workgroup of this account ("The confused deputy problem", IAM user guide,
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html). aws:SourceArn is left out: Redshift does
    # not document it for role assumption, and Serverless would send a workgroup or namespace ARN a cluster pattern
    # cannot name.
    # IfExists: Redshift does not document that it sends aws:SourceAccount when it assumes the role; where it does,
    # only this account's clusters and workgroups pass, and where it does not, the COPY must still work.
    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "copy" {
  count = var.create_copy_role ? 1 : 0

  name               = "${var.name}-redshift-copy"
  description        = "Redshift COPY of ${var.table_name} changes from s3://${var.bucket_name}/${local.raw_prefix}; associate it with the cluster or workgroup"
  assume_role_policy = data.aws_iam_policy_document.copy_assume_role[0].json
  tags               = var.tags
}

locals {
  # emr_compaction: the compacted files, and each run's ledger list and its manifest under compaction/.
  copy_prefixes = concat(
    [local.raw_prefix, local.manifests_prefix],
    local.emr_compaction ? [local.compacted_prefix, local.compaction_prefix] : [],
  )
}

data "aws_iam_policy_document" "copy" {
  count = var.create_copy_role ? 1 : 0

  # emr_compaction: COPY also reads the compacted files and the ledger lists (local.copy_prefixes).
  statement {
    sid       = "ReadRawAndManifests"
    actions   = ["s3:GetObject"]
    resources = [for p in local.copy_prefixes : "${var.bucket_arn}/${p}*"]
  }

  statement {
    sid       = "ListRawAndManifests"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for p in local.copy_prefixes : "${p}*"]
    }
  }

  # COPY reads SSE-KMS objects through S3 only.
  dynamic "statement" {
    for_each = local.kms_grants.copy
    content {
      sid       = "DecryptObjects"
      actions   = ["kms:Decrypt"]
      resources = [statement.key]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = statement.value.services
      }
    }
  }
}

resource "aws_iam_role_policy" "copy" {
  count = var.create_copy_role ? 1 : 0

  name   = "read-cdc-objects"
  role   = aws_iam_role.copy[0].id
  policy = data.aws_iam_policy_document.copy[0].json
}

# ---------------------------------------------------------------------------
# Alarms (to alarm_actions and the alert topic)
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "load_failures" {
  alarm_name        = "${local.loader_name}-load-failures"
  alarm_description = "Loads of ${var.table_name} into ${var.target_spec.schema}.${var.target_spec.table} failed; files stay unledgered and are retried, then quarantined after ${var.max_file_failures} failures."

  namespace   = var.metric_namespace
  metric_name = "LoadFailures"
  dimensions = {
    Table = var.table_name
  }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  # LoadFailures is published only when a load fails: no datapoint means no failure. A loader that stops
  # running is the lag alarm's to catch.
  treat_missing_data = "notBreaching"

  alarm_actions = local.alarm_actions
  tags          = var.tags
}

# The loader's health alarm. Every run publishes ReplicationLagSeconds (the age of the oldest change not yet
# merged), and a scheduled run comes every run_cadence_minutes, so a healthy loader leaves no window of
# lag_alarm_window_seconds without a datapoint. Missing data is therefore breaching: a loader that stops
# running, or fails before it can measure, alarms as surely as one that falls behind.
resource "aws_cloudwatch_metric_alarm" "lag" {
  alarm_name        = "${local.loader_name}-lag"
  alarm_description = "Either the oldest change of ${var.table_name} not yet merged into Redshift is older than ${local.lag_alarm_threshold_seconds} s, or the loader published no ReplicationLagSeconds for ${local.lag_alarm_evaluation_periods * local.lag_alarm_period} s although it runs every ${local.run_cadence_minutes} min (${local.ec2_cron ? "the ec2_cron host is down or its timer stopped" : "not invoked"}, or failing before it measures)."

  namespace   = var.metric_namespace
  metric_name = "ReplicationLagSeconds"
  dimensions = {
    Table = var.table_name
  }
  statistic           = "Maximum"
  period              = local.lag_alarm_period
  evaluation_periods  = local.lag_alarm_evaluation_periods
  datapoints_to_alarm = local.lag_alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.lag_alarm_threshold_seconds
  treat_missing_data  = "breaching"

  alarm_actions = local.alarm_actions
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = !local.emr_compaction || local.lag_alarm_threshold_seconds >= coalesce(local.reconcile_grace_seconds, 0)
      error_message = "With load_strategy = \"emr_compaction\" every change waits up to ${coalesce(local.reconcile_grace_seconds, 0)} s (CDC_RECONCILE_GRACE_SECONDS) for its hour's compaction by design, so lag_alarm_threshold_seconds = ${local.lag_alarm_threshold_seconds} would page every hour. Leave it unset (default ${coalesce(local.reconcile_grace_seconds, 0) + local.run_cadence_minutes * 60} s) or set it to at least ${coalesce(local.reconcile_grace_seconds, 0)}."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "loader_errors" {
  alarm_name        = "${local.loader_name}-errors"
  alarm_description = "Loader ${local.loader_name} invocations failed."

  namespace   = "AWS/Lambda"
  metric_name = "Errors"
  dimensions = {
    FunctionName = aws_lambda_function.loader.function_name
  }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  # Lambda publishes Errors only for periods with invocations: no datapoint means no invocation, hence no
  # error. That the loader is not invoked at all shows as missing lag, which the lag alarm treats as breaching.
  treat_missing_data = "notBreaching"

  alarm_actions = local.alarm_actions
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "invoke_dlq_depth" {
  alarm_name        = "${local.loader_name}-invoke-dlq-not-empty"
  alarm_description = "Asynchronous loader invocations (schedule or manual) gave up and wait in ${aws_sqs_queue.invoke_dlq.name}."

  namespace   = "AWS/SQS"
  metric_name = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = aws_sqs_queue.invoke_dlq.name
  }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  # SQS stops publishing for a queue left empty and untouched for six hours; a queue holding messages counts as
  # active and keeps reporting them. No datapoint therefore means an empty DLQ.
  treat_missing_data = "notBreaching"

  alarm_actions = local.alarm_actions
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "load_dlq_depth" {
  count = local.s3_event ? 1 : 0

  alarm_name        = "${local.loader_name}-queue-dlq-not-empty"
  alarm_description = "S3 notifications for ${var.table_name} exceeded ${var.s3_event.max_receive_count} receives and wait in ${aws_sqs_queue.load_dlq[0].name}; the reconciliation schedule (every ${var.s3_event.reconcile_rate_minutes} min) still loads their files. Inspect, then purge the DLQ."

  namespace   = "AWS/SQS"
  metric_name = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = aws_sqs_queue.load_dlq[0].name
  }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  # As for the invoke DLQ: an idle empty queue stops reporting, a non-empty one does not.
  treat_missing_data = "notBreaching"

  alarm_actions = local.alarm_actions
  tags          = var.tags
}
