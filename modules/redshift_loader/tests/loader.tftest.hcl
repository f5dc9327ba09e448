# Plan-only tests of what the module builds for each load strategy, target kind,
# executor and toggle. The mock provider produces computed values at plan time
# so that the IAM policy documents are read and their statements asserted.

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

  mock_data "aws_redshiftserverless_workgroup" {
    defaults = {
      arn = "arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/0f5d6c1e-1111-2222-3333-444455556666"
    }
  }

  # The real provider still validates policy arguments as JSON, so the mocked
  # documents render a minimal valid policy; their statements stay asserted.
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

  mock_resource "aws_cloudwatch_event_rule" {
    defaults = {
      arn = "arn:aws:events:eu-west-1:123456789012:rule/orders-cdc-load-completion-status"
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
}

override_resource {
  target          = aws_iam_role.loader
  override_during = plan
  values = {
    arn       = "arn:aws:iam::123456789012:role/orders-cdc-loader"
    unique_id = "AROAEXAMPLELOADER"
  }
}

override_resource {
  target          = aws_lambda_function.loader
  override_during = plan
  values = {
    arn           = "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader"
    function_name = "orders-cdc-loader"
  }
}

override_resource {
  target          = aws_sqs_queue.load
  override_during = plan
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-queue"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-loader-queue"
  }
}

override_resource {
  target          = aws_sqs_queue.load_dlq
  override_during = plan
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-queue-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-loader-queue-dlq"
  }
}

override_resource {
  target          = aws_sqs_queue.invoke_dlq
  override_during = plan
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-invoke-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-loader-invoke-dlq"
  }
}

override_resource {
  target          = aws_cloudwatch_log_group.loader
  override_during = plan
  values = {
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-loader"
  }
}

override_resource {
  target          = aws_cloudwatch_log_group.completion
  override_during = plan
  values = {
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-load-completion"
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

run "s3_event_creates_queue_mapping_and_notification_only" {
  command = plan

  assert {
    condition = (
      length(aws_sqs_queue.load) == 1 &&
      length(aws_sqs_queue.load_dlq) == 1 &&
      length(aws_sqs_queue.load) == 1 && aws_sqs_queue.load[0].policy == data.aws_iam_policy_document.load_queue[0].json &&
      length(aws_lambda_event_source_mapping.load) == 1 &&
      length(aws_s3_bucket_notification.raw) == 1 &&
      length(aws_cloudwatch_metric_alarm.load_dlq_depth) == 1
    )
    error_message = "load_strategy = \"s3_event\" must create the queue, its DLQ and policy, the mapping, the notification and the DLQ alarm."
  }

  assert {
    condition = (
      jsondecode(aws_sqs_queue.load_dlq[0].redrive_allow_policy) == { redrivePermission = "byQueue", sourceQueueArns = ["arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-queue"] } &&
      jsondecode(aws_sqs_queue.load[0].redrive_policy).deadLetterTargetArn == aws_sqs_queue.load_dlq[0].arn &&
      jsondecode(aws_sqs_queue.invoke_dlq.redrive_allow_policy) == { redrivePermission = "denyAll" }
    )
    error_message = "The load queue's DLQ must admit redrives from the load queue only; the invoke DLQ, which Lambda and Scheduler send to directly, from no queue."
  }

  assert {
    condition = (
      aws_scheduler_schedule.load[0].schedule_expression == "rate(60 minutes)" &&
      jsondecode(aws_scheduler_schedule.load[0].target[0].input) == { trigger = "schedule" } &&
      aws_scheduler_schedule.load[0].target[0].arn == "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader" &&
      aws_scheduler_schedule.load[0].target[0].dead_letter_config[0].arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-invoke-dlq" &&
      output.schedule_arn == "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/orders-cdc-loader"
    )
    error_message = "load_strategy = \"s3_event\" must also run a reconciliation pass (every file not in the ledger) every 60 minutes."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.load[0].batch_size == 10000 &&
      aws_lambda_event_source_mapping.load[0].maximum_batching_window_in_seconds == 300 &&
      aws_lambda_event_source_mapping.load[0].scaling_config[0].maximum_concurrency == 2 &&
      aws_lambda_event_source_mapping.load[0].event_source_arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-queue" &&
      try(length(aws_lambda_event_source_mapping.load[0].function_response_types), 0) == 0
    )
    error_message = "The mapping must read the queue with batch 10000, a 300 s window and the smallest concurrency cap."
  }

  assert {
    condition = (
      aws_sqs_queue.load[0].visibility_timeout_seconds == 6 * 120 + 300 &&
      jsondecode(aws_sqs_queue.load[0].redrive_policy).maxReceiveCount == 10 &&
      jsondecode(aws_sqs_queue.load[0].redrive_policy).deadLetterTargetArn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-queue-dlq" &&
      aws_sqs_queue.load[0].sqs_managed_sse_enabled == true &&
      aws_sqs_queue.load_dlq[0].sqs_managed_sse_enabled == true &&
      aws_sqs_queue.invoke_dlq.sqs_managed_sse_enabled == true
    )
    error_message = "The queue needs visibility >= 6x the loader timeout plus the window, a redrive to its DLQ, and SSE on every queue."
  }

  assert {
    condition = (
      aws_s3_bucket_notification.raw[0].bucket == "acme-orders-cdc" &&
      aws_s3_bucket_notification.raw[0].queue[0].filter_prefix == "cdc/raw/orders/" &&
      aws_s3_bucket_notification.raw[0].queue[0].filter_suffix == ".json.gz" &&
      aws_s3_bucket_notification.raw[0].queue[0].events == toset(["s3:ObjectCreated:*"]) &&
      aws_s3_bucket_notification.raw[0].queue[0].queue_arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-queue"
    )
    error_message = "The notification must send only new .json.gz objects under <prefix>/raw/<table>/ to the queue."
  }

  assert {
    condition = (
      one(data.aws_iam_policy_document.load_queue[0].statement[0].principals).identifiers == toset(["s3.amazonaws.com"]) &&
      data.aws_iam_policy_document.load_queue[0].statement[0].actions == toset(["sqs:SendMessage"]) &&
      contains([for c in data.aws_iam_policy_document.load_queue[0].statement[0].condition : "${c.test}|${c.variable}|${join(",", c.values)}"], "ArnEquals|aws:SourceArn|arn:aws:s3:::acme-orders-cdc") &&
      contains([for c in data.aws_iam_policy_document.load_queue[0].statement[0].condition : "${c.test}|${c.variable}|${join(",", c.values)}"], "StringEquals|aws:SourceAccount|123456789012")
    )
    error_message = "The queue policy must admit only this bucket's notifications from this account."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "ConsumeLoadQueue"]) == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-queue"])
    error_message = "The loader may consume only its own queue."
  }

  assert {
    condition = (
      output.queue_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-loader-queue" &&
      output.queue_arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-queue" &&
      output.queue_dlq_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-cdc-loader-queue-dlq" &&
      output.manifests_prefix == "cdc/manifests/orders/" &&
      output.loader_function_name == "orders-cdc-loader" &&
      output.loader_function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader"
    )
    error_message = "Queue, manifest and loader outputs must be set for s3_event."
  }
}

run "loader_function_and_async_invocations" {
  command = plan

  assert {
    condition = (
      aws_lambda_function.loader.handler == "ddb_cdc.handlers.loader.handler" &&
      aws_lambda_function.loader.runtime == "python3.12" &&
      aws_lambda_function.loader.reserved_concurrent_executions == 1 &&
      aws_lambda_function.loader.timeout == 120 &&
      aws_lambda_function.loader.memory_size == 512 &&
      length(aws_lambda_function.loader.vpc_config) == 0 &&
      length(aws_lambda_function.loader.layers) == 0
    )
    error_message = "The async Data API loader runs single-concurrency, 120 s, outside a VPC, without layers."
  }

  assert {
    condition = (
      aws_lambda_function_event_invoke_config.loader.maximum_retry_attempts == 2 &&
      aws_lambda_function_event_invoke_config.loader.maximum_event_age_in_seconds == 3600 &&
      aws_lambda_function_event_invoke_config.loader.destination_config[0].on_failure[0].destination == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-invoke-dlq" &&
      data.aws_iam_policy_document.loader_destination.statement[0].resources == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-invoke-dlq"])
    )
    error_message = "Failed asynchronous invocations must retry, then go to the invoke DLQ, which the role may write."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.load_failures.namespace == "DdbCdc" &&
      aws_cloudwatch_metric_alarm.load_failures.metric_name == "LoadFailures" &&
      aws_cloudwatch_metric_alarm.load_failures.dimensions["Table"] == "orders" &&
      aws_cloudwatch_metric_alarm.lag.metric_name == "ReplicationLagSeconds" &&
      aws_cloudwatch_metric_alarm.lag.threshold == 1800 &&
      aws_cloudwatch_metric_alarm.loader_errors.dimensions["FunctionName"] == "orders-cdc-loader" &&
      aws_cloudwatch_metric_alarm.invoke_dlq_depth.metric_name == "ApproximateNumberOfMessagesVisible"
    )
    error_message = "Alarms must watch LoadFailures, ReplicationLagSeconds, loader Errors and the invoke DLQ."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "WriteLoaderObjects"]) == toset([
        "arn:aws:s3:::acme-orders-cdc/cdc/manifests/orders/*",
        "arn:aws:s3:::acme-orders-cdc/cdc/load-failures/orders/*",
        "arn:aws:s3:::acme-orders-cdc/cdc/quarantine/orders/*",
      ]) &&
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "ReadLoaderObjects"]) == toset([
        "arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*",
        "arn:aws:s3:::acme-orders-cdc/cdc/manifests/orders/*",
        "arn:aws:s3:::acme-orders-cdc/cdc/load-failures/orders/*",
        "arn:aws:s3:::acme-orders-cdc/cdc/quarantine/orders/*",
      ]) &&
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "DeleteQuarantinedAndResetObjects"]) == toset([
        "arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*",
        "arn:aws:s3:::acme-orders-cdc/cdc/load-failures/orders/*",
      ]) &&
      [for s in data.aws_iam_policy_document.loader.statement : [for c in s.condition : c.values if c.variable == "s3:prefix"][0] if s.sid == "ListLoaderPrefixes"][0] == tolist([
        "cdc/raw/orders/*", "cdc/manifests/orders/*", "cdc/load-failures/orders/*", "cdc/quarantine/orders/*",
      ])
    )
    error_message = "S3 access must be limited to this table's raw, manifests, load-failures and quarantine prefixes."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "PublishAlerts"]) == toset(["arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"])
    )
    error_message = "Alerts go to the alert topic only."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.loader.statement : [for c in s.condition : c.values if c.variable == "cloudwatch:namespace"][0] if s.sid == "PutLoaderMetrics"][0] == tolist(["DdbCdc"])
    )
    error_message = "Metrics are limited to the namespace."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "WriteOwnLogs"]) == toset([
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-loader:*",
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-load-completion:*",
      ]) &&
      length([for s in data.aws_iam_policy_document.loader.statement : s.sid if startswith(s.sid, "UseKeyFor")]) == 0 &&
      length(aws_iam_role_policy_attachment.loader_vpc) == 0
    )
    error_message = "Alerts, metrics and logs must be scoped; no KMS or VPC grants without a key or psycopg2."
  }
}

run "provisioned_with_db_user_uses_temporary_credentials" {
  command = plan

  assert {
    condition = (
      aws_lambda_function.loader.environment[0].variables["CDC_REDSHIFT_CLUSTER_ID"] == "analytics" &&
      aws_lambda_function.loader.environment[0].variables["CDC_REDSHIFT_DB_USER"] == "cdc_loader" &&
      aws_lambda_function.loader.environment[0].variables["CDC_REDSHIFT_DATABASE"] == "dev" &&
      !contains(keys(aws_lambda_function.loader.environment[0].variables), "CDC_REDSHIFT_SECRET_ARN") &&
      !contains(keys(aws_lambda_function.loader.environment[0].variables), "CDC_REDSHIFT_WORKGROUP") &&
      aws_lambda_function.loader.environment[0].variables["CDC_EXECUTOR"] == "data_api" &&
      aws_lambda_function.loader.environment[0].variables["CDC_DATA_API_MODE"] == "async" &&
      !contains(keys(aws_lambda_function.loader.environment[0].variables), "CDC_POLL_BUDGET_SECONDS")
    )
    error_message = "A provisioned target with db_user must pass the cluster, user and database only."
  }

  assert {
    condition = (
      aws_lambda_function.loader.environment[0].variables["CDC_BUCKET"] == "acme-orders-cdc" &&
      aws_lambda_function.loader.environment[0].variables["CDC_PREFIX"] == "cdc" &&
      aws_lambda_function.loader.environment[0].variables["CDC_TABLE_NAME"] == "orders" &&
      aws_lambda_function.loader.environment[0].variables["CDC_COPY_ROLE_ARN"] == "arn:aws:iam::123456789012:role/redshift-copy" &&
      aws_lambda_function.loader.environment[0].variables["CDC_ALERT_TOPIC_ARN"] == "arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts" &&
      aws_lambda_function.loader.environment[0].variables["CDC_MAX_FILE_FAILURES"] == "3" &&
      aws_lambda_function.loader.environment[0].variables["CDC_SCHEDULE_LOOKBACK_HOURS"] == "24" &&
      aws_lambda_function.loader.environment[0].variables["CDC_METRIC_NAMESPACE"] == "DdbCdc" &&
      aws_lambda_function.loader.environment[0].variables["LOG_LEVEL"] == "INFO" &&
      jsondecode(aws_lambda_function.loader.environment[0].variables["CDC_TARGET_SPEC"]) == {
        schema           = "cdc"
        table            = "orders"
        mode             = "document"
        keys             = [{ name = "order_id", type = "S", column = null }]
        columns          = []
        history          = false
        key_column_types = {}
      }
    )
    error_message = "The loader environment must follow the contract."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "RunStatementsOnTarget"]) == toset(["arn:aws:redshift:eu-west-1:123456789012:cluster:analytics"]) &&
      one([for s in data.aws_iam_policy_document.loader.statement : s.actions if s.sid == "RunStatementsOnTarget"]) == toset(["redshift-data:BatchExecuteStatement", "redshift-data:ExecuteStatement"]) &&
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "GetClusterCredentials"]) == toset([
        "arn:aws:redshift:eu-west-1:123456789012:dbuser:analytics/cdc_loader",
        "arn:aws:redshift:eu-west-1:123456789012:dbname:analytics/dev",
      ]) &&
      [for s in data.aws_iam_policy_document.loader.statement : [for c in s.condition : c.values if c.variable == "redshift-data:statement-owner-iam-userid"][0] if s.sid == "ReadOwnStatements"][0] == tolist(["AROAEXAMPLELOADER:*"]) &&
      !contains([for s in data.aws_iam_policy_document.loader.statement : s.sid], "GetServerlessCredentials") &&
      !contains([for s in data.aws_iam_policy_document.loader.statement : s.sid], "ReadDatabaseSecret")
    )
    error_message = "IAM must allow statements on the cluster, credentials for this user and database, and reading only this role's statements."
  }

  assert {
    condition = (
      length(aws_lambda_function.completion) == 1 &&
      aws_lambda_function.completion[0].handler == "ddb_cdc.handlers.load_completion.handler" &&
      aws_lambda_function.completion[0].role == "arn:aws:iam::123456789012:role/orders-cdc-loader" &&
      aws_lambda_function.completion[0].environment[0].variables == aws_lambda_function.loader.environment[0].variables &&
      aws_lambda_function.completion[0].dead_letter_config[0].target_arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-invoke-dlq" &&
      jsondecode(aws_cloudwatch_event_rule.statement_status[0].event_pattern) == {
        source        = ["aws.redshift-data"]
        "detail-type" = ["Redshift Data Statement Status Change"]
        detail        = { statementName = [{ prefix = "ddb_cdc:orders:" }] }
      } &&
      aws_lambda_permission.statement_status[0].principal == "events.amazonaws.com" &&
      aws_lambda_permission.statement_status[0].source_arn == "arn:aws:events:eu-west-1:123456789012:rule/orders-cdc-load-completion-status" &&
      output.completion_function_name == "orders-cdc-load-completion"
    )
    error_message = "Async Data API mode must route statement status events to the completion function under the loader's role."
  }
}

run "provisioned_with_secret_reads_only_that_secret" {
  command = plan

  variables {
    target = {
      kind               = "provisioned"
      database           = "dev"
      cluster_identifier = "analytics"
      secret_arn         = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift/cdc-AbCdEf"
    }
  }

  assert {
    condition = (
      aws_lambda_function.loader.environment[0].variables["CDC_REDSHIFT_CLUSTER_ID"] == "analytics" &&
      aws_lambda_function.loader.environment[0].variables["CDC_REDSHIFT_SECRET_ARN"] == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift/cdc-AbCdEf" &&
      !contains(keys(aws_lambda_function.loader.environment[0].variables), "CDC_REDSHIFT_DB_USER")
    )
    error_message = "A provisioned target with a secret must pass the cluster and secret, no db user."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "ReadDatabaseSecret"]) == toset(["arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift/cdc-AbCdEf"]) &&
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "RunStatementsOnTarget"]) == toset(["arn:aws:redshift:eu-west-1:123456789012:cluster:analytics"]) &&
      !contains([for s in data.aws_iam_policy_document.loader.statement : s.sid], "GetClusterCredentials")
    )
    error_message = "With a secret the loader reads that secret and gets no temporary-credential grant."
  }
}

run "serverless_scopes_to_the_workgroup" {
  command = plan

  variables {
    target = {
      kind           = "serverless"
      database       = "dev"
      workgroup_name = "analytics"
    }
    copy_role_arn    = null
    create_copy_role = true
  }

  assert {
    condition = (
      aws_lambda_function.loader.environment[0].variables["CDC_REDSHIFT_WORKGROUP"] == "analytics" &&
      !contains(keys(aws_lambda_function.loader.environment[0].variables), "CDC_REDSHIFT_CLUSTER_ID") &&
      !contains(keys(aws_lambda_function.loader.environment[0].variables), "CDC_REDSHIFT_DB_USER")
    )
    error_message = "A serverless target must pass the workgroup, no cluster."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "RunStatementsOnTarget"]) == toset(["arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/0f5d6c1e-1111-2222-3333-444455556666"]) &&
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "GetServerlessCredentials"]) == toset(["arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/0f5d6c1e-1111-2222-3333-444455556666"]) &&
      !contains([for s in data.aws_iam_policy_document.loader.statement : s.sid], "GetClusterCredentials")
    )
    error_message = "Serverless IAM must be scoped to the workgroup's ARN."
  }

  assert {
    condition = (
      one(data.aws_iam_policy_document.copy_assume_role[0].statement[0].principals).identifiers == toset(["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]) &&
      [for c in data.aws_iam_policy_document.copy_assume_role[0].statement[0].condition : c.values if c.variable == "aws:SourceAccount" && c.test == "StringEqualsIfExists"] == [tolist(["123456789012"])]
    )
    error_message = "Redshift Serverless assumes the COPY role as redshift-serverless.amazonaws.com, for this account only (aws:SourceAccount)."
  }
}

run "schedule_creates_schedule_and_scheduler_role_only" {
  command = plan

  variables {
    load_strategy = "schedule"
  }

  assert {
    condition = (
      length(aws_sqs_queue.load) == 0 &&
      length(aws_sqs_queue.load_dlq) == 0 &&
      length(aws_sqs_queue.load) == 0 &&
      length(aws_lambda_event_source_mapping.load) == 0 &&
      length(aws_s3_bucket_notification.raw) == 0 &&
      length(aws_cloudwatch_metric_alarm.load_dlq_depth) == 0 &&
      output.queue_url == null && output.queue_arn == null && output.queue_dlq_url == null &&
      !contains([for s in data.aws_iam_policy_document.loader.statement : s.sid], "ConsumeLoadQueue")
    )
    error_message = "load_strategy = \"schedule\" must create no queue, mapping or notification."
  }

  assert {
    condition = (
      aws_scheduler_schedule.load[0].schedule_expression == "rate(15 minutes)" &&
      aws_scheduler_schedule.load[0].flexible_time_window[0].mode == "OFF" &&
      aws_scheduler_schedule.load[0].target[0].arn == "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader" &&
      jsondecode(aws_scheduler_schedule.load[0].target[0].input) == { trigger = "schedule" } &&
      aws_scheduler_schedule.load[0].target[0].retry_policy[0].maximum_retry_attempts == 2 &&
      aws_scheduler_schedule.load[0].target[0].retry_policy[0].maximum_event_age_in_seconds == 3600 &&
      aws_scheduler_schedule.load[0].target[0].dead_letter_config[0].arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-invoke-dlq" &&
      output.schedule_arn == "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/orders-cdc-loader"
    )
    error_message = "The schedule must invoke the loader every 15 minutes with {\"trigger\":\"schedule\"}, retries and a DLQ."
  }

  assert {
    condition = (
      one(data.aws_iam_policy_document.scheduler_assume_role[0].statement[0].principals).identifiers == toset(["scheduler.amazonaws.com"]) &&
      [for c in data.aws_iam_policy_document.scheduler_assume_role[0].statement[0].condition : c.values if c.variable == "aws:SourceAccount"] == [tolist(["123456789012"])] &&
      [for c in data.aws_iam_policy_document.scheduler_assume_role[0].statement[0].condition : c.values if c.variable == "aws:SourceArn" && c.test == "ArnEquals"] == [tolist(["arn:aws:scheduler:eu-west-1:123456789012:schedule-group/default"])] &&
      [for s in data.aws_iam_policy_document.scheduler[0].statement : s.sid] == ["InvokeLoader", "SendDeadLetters"] &&
      one([for s in data.aws_iam_policy_document.scheduler[0].statement : s.resources if s.sid == "InvokeLoader"]) == toset(["arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader"]) &&
      one([for s in data.aws_iam_policy_document.scheduler[0].statement : s.actions if s.sid == "InvokeLoader"]) == toset(["lambda:InvokeFunction"]) &&
      one([for s in data.aws_iam_policy_document.scheduler[0].statement : s.resources if s.sid == "SendDeadLetters"]) == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-invoke-dlq"])
    )
    error_message = "The scheduler role may only invoke the loader and send to the invoke DLQ."
  }
}

run "schedule_of_one_minute_is_singular" {
  command = plan

  variables {
    load_strategy = "schedule"
    schedule      = { rate_minutes = 1 }
  }

  assert {
    condition     = aws_scheduler_schedule.load[0].schedule_expression == "rate(1 minute)"
    error_message = "Scheduler accepts rate(1 minute), not rate(1 minutes)."
  }
}

run "poll_mode_waits_and_has_no_completion_function" {
  command = plan

  variables {
    data_api_mode = "poll"
  }

  assert {
    condition = (
      aws_lambda_function.loader.timeout == 900 &&
      aws_lambda_function.loader.environment[0].variables["CDC_DATA_API_MODE"] == "poll" &&
      aws_lambda_function.loader.environment[0].variables["CDC_POLL_BUDGET_SECONDS"] == "840" &&
      aws_sqs_queue.load[0].visibility_timeout_seconds == 6 * 900 + 300
    )
    error_message = "Poll mode runs 900 s with a poll budget that leaves a minute to report."
  }

  assert {
    condition = (
      length(aws_lambda_function.completion) == 0 &&
      length(aws_cloudwatch_log_group.completion) == 0 &&
      length(aws_cloudwatch_event_rule.statement_status) == 0 &&
      length(aws_cloudwatch_event_target.statement_status) == 0 &&
      length(aws_lambda_permission.statement_status) == 0 &&
      output.completion_function_name == null
    )
    error_message = "Poll mode needs no completion function or event rule."
  }
}

run "psycopg2_runs_in_the_vpc_with_the_layer" {
  command = plan

  variables {
    executor           = "psycopg2"
    db_secret_arn      = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdc/db-AbCdEf"
    psycopg2_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:psycopg2-py312:3"
    vpc = {
      subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
      security_group_ids = ["sg-0123456789abcdef0"]
    }
  }

  assert {
    condition = (
      aws_lambda_function.loader.layers == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:psycopg2-py312:3"]) &&
      aws_lambda_function.loader.vpc_config[0].subnet_ids == toset(["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]) &&
      aws_lambda_function.loader.vpc_config[0].security_group_ids == toset(["sg-0123456789abcdef0"]) &&
      aws_lambda_function.loader.timeout == 900 &&
      length(aws_iam_role_policy_attachment.loader_vpc) == 1 &&
      aws_iam_role_policy_attachment.loader_vpc[0].policy_arn == "arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess"
    )
    error_message = "psycopg2 must run the loader in the VPC with the layer and ENI permissions only (AWSLambdaENIManagementAccess, not the managed policy that adds logs on *)."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "WriteOwnLogs"]) == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-cdc-loader:*"]) &&
      one([for s in data.aws_iam_policy_document.loader.statement : s.actions if s.sid == "WriteOwnLogs"]) == toset(["logs:CreateLogStream", "logs:PutLogEvents"])
    )
    error_message = "A VPC loader writes logs through its own scoped statement, on its log group only."
  }

  assert {
    condition = (
      aws_lambda_function.loader.environment[0].variables["CDC_EXECUTOR"] == "psycopg2" &&
      aws_lambda_function.loader.environment[0].variables["CDC_DB_SECRET_ARN"] == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdc/db-AbCdEf" &&
      aws_lambda_function.loader.environment[0].variables["CDC_CONNECT_TIMEOUT_SECONDS"] == "10" &&
      aws_lambda_function.loader.environment[0].variables["CDC_STATEMENT_TIMEOUT_MS"] == "840000" &&
      !contains(keys(aws_lambda_function.loader.environment[0].variables), "CDC_DATA_API_MODE") &&
      !contains(keys(aws_lambda_function.loader.environment[0].variables), "CDC_DB_SSM_PARAMETER")
    )
    error_message = "psycopg2 environment must carry the secret and the timeouts."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "ReadDatabaseSecret"]) == toset(["arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdc/db-AbCdEf"]) &&
      !contains([for s in data.aws_iam_policy_document.loader.statement : s.sid], "RunStatementsOnTarget") &&
      !contains([for s in data.aws_iam_policy_document.loader.statement : s.sid], "ReadOwnStatements") &&
      !contains([for s in data.aws_iam_policy_document.loader.statement : s.sid], "GetClusterCredentials") &&
      length(aws_lambda_function.completion) == 0
    )
    error_message = "psycopg2 gets the secret and no Data API grants or completion function."
  }
}

run "psycopg2_with_ssm_parameter" {
  command = plan

  variables {
    executor             = "psycopg2"
    db_ssm_parameter_arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/cdc/redshift"
    psycopg2_layer_arn   = "arn:aws:lambda:eu-west-1:123456789012:layer:psycopg2-py312:3"
    statement_timeout_ms = 300000
    vpc = {
      subnet_ids         = ["subnet-0123456789abcdef0"]
      security_group_ids = ["sg-0123456789abcdef0"]
    }
  }

  assert {
    condition = (
      aws_lambda_function.loader.environment[0].variables["CDC_DB_SSM_PARAMETER"] == "arn:aws:ssm:eu-west-1:123456789012:parameter/cdc/redshift" &&
      aws_lambda_function.loader.environment[0].variables["CDC_STATEMENT_TIMEOUT_MS"] == "300000" &&
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "ReadDatabaseParameter"]) == toset(["arn:aws:ssm:eu-west-1:123456789012:parameter/cdc/redshift"]) &&
      !contains([for s in data.aws_iam_policy_document.loader.statement : s.sid], "ReadDatabaseSecret")
    )
    error_message = "psycopg2 with an SSM parameter must read that parameter only."
  }
}

run "created_copy_role_reads_raw_and_manifests_only" {
  command = plan

  variables {
    copy_role_arn    = null
    create_copy_role = true
    kms_key_arn      = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  override_resource {
    target          = aws_iam_role.copy
    override_during = plan
    values          = { arn = "arn:aws:iam::123456789012:role/orders-cdc-redshift-copy" }
  }

  assert {
    condition = (
      length(aws_iam_role.copy) == 1 &&
      one(data.aws_iam_policy_document.copy_assume_role[0].statement[0].principals).identifiers == toset(["redshift.amazonaws.com"]) &&
      one([for s in data.aws_iam_policy_document.copy[0].statement : s.resources if s.sid == "ReadRawAndManifests"]) == toset(["arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*", "arn:aws:s3:::acme-orders-cdc/cdc/manifests/orders/*"]) &&
      [for s in data.aws_iam_policy_document.copy[0].statement : [for c in s.condition : c.values if c.variable == "s3:prefix"][0] if s.sid == "ListRawAndManifests"][0] == tolist(["cdc/raw/orders/*", "cdc/manifests/orders/*"]) &&
      one([for s in data.aws_iam_policy_document.copy[0].statement : s.resources if s.sid == "DecryptObjects"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"]) &&
      one([for s in data.aws_iam_policy_document.copy[0].statement : [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] if s.sid == "DecryptObjects"]) == tolist(["s3.eu-west-1.amazonaws.com"])
    )
    error_message = "The created COPY role must be assumable by Redshift and read only raw/ and manifests/ of this table."
  }

  assert {
    condition = (
      output.copy_role_arn == "arn:aws:iam::123456789012:role/orders-cdc-redshift-copy" &&
      aws_lambda_function.loader.environment[0].variables["CDC_COPY_ROLE_ARN"] == "arn:aws:iam::123456789012:role/orders-cdc-redshift-copy"
    )
    error_message = "The created COPY role must be output and passed to the loader."
  }

  assert {
    condition = (
      aws_sqs_queue.load[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_sqs_queue.load_dlq[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_sqs_queue.invoke_dlq.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_sns_topic.alerts[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" &&
      aws_lambda_function.loader.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_cloudwatch_log_group.loader.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "UseKeyForBucketQueuesFunctions"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"]) &&
      one([for s in data.aws_iam_policy_document.loader.statement : [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] if s.sid == "UseKeyForBucketQueuesFunctions"]) == tolist(["s3.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"]) &&
      one([for s in data.aws_iam_policy_document.scheduler[0].statement : [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] if s.sid == "UseKeyForQueuesSchedule"]) == tolist(["sqs.eu-west-1.amazonaws.com", "scheduler.eu-west-1.amazonaws.com"])
    )
    error_message = "kms_key_arn must encrypt the queues, environment and logs, and the loader may use it; the topic keeps its own key."
  }
}

# Teams that keep keys apart: each purpose's key encrypts its resources, and each role may use a key only through the
# services that encrypt what it touches with that key.
run "separate_keys_per_purpose_are_followed_by_every_grant" {
  command = plan

  variables {
    copy_role_arn    = null
    create_copy_role = true
    kms_key_arn      = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    kms_keys = {
      bucket = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
      queues = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"
      logs   = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d"
    }
  }

  assert {
    condition = (
      aws_sqs_queue.load[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c" &&
      aws_sqs_queue.load_dlq[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c" &&
      aws_sqs_queue.invoke_dlq.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c" &&
      aws_cloudwatch_log_group.loader.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d" &&
      aws_cloudwatch_log_group.completion[0].kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d" &&
      aws_lambda_function.loader.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a" &&
      aws_scheduler_schedule.load[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    )
    error_message = "Queues, log groups, environment and schedule must each use their purpose's key."
  }

  assert {
    condition = (
      { for s in data.aws_iam_policy_document.loader.statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKeyFor") } == {
        UseKeyForBucket    = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"]), via = tolist(["s3.eu-west-1.amazonaws.com"]) }
        UseKeyForQueues    = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"]), via = tolist(["sqs.eu-west-1.amazonaws.com"]) }
        UseKeyForFunctions = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"]), via = tolist(["lambda.eu-west-1.amazonaws.com"]) }
      } &&
      { for s in data.aws_iam_policy_document.scheduler[0].statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKeyFor") } == {
        UseKeyForQueues   = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"]), via = tolist(["sqs.eu-west-1.amazonaws.com"]) }
        UseKeyForSchedule = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"]), via = tolist(["scheduler.eu-west-1.amazonaws.com"]) }
      } &&
      one([for s in data.aws_iam_policy_document.copy[0].statement : s.resources if s.sid == "DecryptObjects"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"])
    )
    error_message = "Each role must get the key of what it touches, through that service only: the loader the bucket's via S3, the queues' via SQS and the environment's via Lambda; the scheduler the queues' and the schedule's; COPY the bucket's."
  }
}

run "given_copy_role_creates_none" {
  command = plan

  assert {
    condition     = length(aws_iam_role.copy) == 0 && length(aws_iam_role_policy.copy) == 0 && output.copy_role_arn == "arn:aws:iam::123456789012:role/redshift-copy"
    error_message = "With copy_role_arn no COPY role is created and the given one is output."
  }
}

run "created_topic_uses_a_created_key_that_cloudwatch_and_eventbridge_may_use" {
  command = plan

  assert {
    condition = (
      length(aws_sns_topic.alerts) == 1 &&
      length(aws_kms_key.alerts) == 1 &&
      aws_sns_topic.alerts[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" &&
      aws_kms_key.alerts[0].enable_key_rotation == true &&
      aws_kms_alias.alerts[0].name == "alias/orders-cdc-load-alerts" &&
      aws_kms_alias.alerts[0].target_key_id == "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" &&
      output.sns_topic_arn == "arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts" &&
      output.sns_topic_kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" &&
      aws_cloudwatch_metric_alarm.load_failures.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"])
    )
    error_message = "Without sns_topic_arn a topic encrypted with a created, rotating customer managed key is created and alarms notify it (aws/sns would refuse CloudWatch)."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.alerts_key[0].statement : s.sid] == ["AdministerKeyFromThisAccount", "CloudWatchAlarmsOfThisStack", "EventBridgeRulesThroughTheTopicPolicy"] &&
      one([for s in data.aws_iam_policy_document.alerts_key[0].statement : one(s.principals).identifiers if s.sid == "AdministerKeyFromThisAccount"]) == toset(["arn:aws:iam::123456789012:root"]) &&
      one([for s in data.aws_iam_policy_document.alerts_key[0].statement : one(s.principals).identifiers if s.sid == "CloudWatchAlarmsOfThisStack"]) == toset(["cloudwatch.amazonaws.com"]) &&
      one([for s in data.aws_iam_policy_document.alerts_key[0].statement : s.actions if s.sid == "CloudWatchAlarmsOfThisStack"]) == toset(["kms:Decrypt", "kms:GenerateDataKey*"]) &&
      toset(one([for s in data.aws_iam_policy_document.alerts_key[0].statement : [for c in s.condition : "${c.test}|${c.variable}|${join(",", c.values)}"] if s.sid == "CloudWatchAlarmsOfThisStack"])) == toset([
        "StringEquals|aws:SourceAccount|123456789012",
        "ArnLike|aws:SourceArn|arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-cdc-*",
      ]) &&
      one([for s in data.aws_iam_policy_document.alerts_key[0].statement : one(s.principals).identifiers if s.sid == "EventBridgeRulesThroughTheTopicPolicy"]) == toset(["events.amazonaws.com"]) &&
      one([for s in data.aws_iam_policy_document.alerts_key[0].statement : s.actions if s.sid == "EventBridgeRulesThroughTheTopicPolicy"]) == toset(["kms:Decrypt", "kms:GenerateDataKey*"]) &&
      one([for s in data.aws_iam_policy_document.alerts_key[0].statement : length(s.condition) if s.sid == "EventBridgeRulesThroughTheTopicPolicy"]) == 0
    )
    error_message = "The key policy must let the account administer the key, this stack's alarms (by account and alarm ARN) and EventBridge (unconditioned, as SNS documents) encrypt with it."
  }

  assert {
    condition = (
      aws_sns_topic_policy.alerts[0].arn == "arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts" &&
      [for s in data.aws_iam_policy_document.alerts_topic[0].statement : s.sid] == ["CloudWatchAlarmsOfThisStack", "EventBridgeRulesOfThisAccount"] &&
      alltrue([for s in data.aws_iam_policy_document.alerts_topic[0].statement : s.actions == toset(["sns:Publish"]) && s.resources == toset(["arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"])]) &&
      toset(one([for s in data.aws_iam_policy_document.alerts_topic[0].statement : [for c in s.condition : "${c.test}|${c.variable}|${join(",", c.values)}"] if s.sid == "CloudWatchAlarmsOfThisStack"])) == toset([
        "StringEquals|aws:SourceAccount|123456789012",
        "ArnLike|aws:SourceArn|arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-cdc-*",
      ]) &&
      toset(one([for s in data.aws_iam_policy_document.alerts_topic[0].statement : [for c in s.condition : "${c.test}|${c.variable}|${join(",", c.values)}"] if s.sid == "EventBridgeRulesOfThisAccount"])) == toset([
        "StringEquals|aws:SourceAccount|123456789012",
        "ArnLike|aws:SourceArn|arn:aws:events:eu-west-1:123456789012:rule/*",
      ])
    )
    error_message = "The topic policy must let this stack's alarms and this account's EventBridge rules publish, nothing else."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "EncryptAlertsThroughSns"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"]) &&
      one([for s in data.aws_iam_policy_document.loader.statement : [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] if s.sid == "EncryptAlertsThroughSns"]) == tolist(["sns.eu-west-1.amazonaws.com"])
    )
    error_message = "The loader publishes alerts to the encrypted topic, so it may use the topic's key through SNS only."
  }
}

run "given_topic_key_encrypts_the_created_topic_and_none_is_created" {
  command = plan

  variables {
    sns_topic_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555"
  }

  assert {
    condition = (
      length(aws_kms_key.alerts) == 0 &&
      length(aws_kms_alias.alerts) == 0 &&
      aws_sns_topic.alerts[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555" &&
      length(aws_sns_topic_policy.alerts) == 1 &&
      output.sns_topic_kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555" &&
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "EncryptAlertsThroughSns"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555"])
    )
    error_message = "sns_topic_kms_key_arn must encrypt the created topic, with no key created, and the loader may use it through SNS."
  }
}

run "given_topic_is_used_and_none_created" {
  command = plan

  variables {
    sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:data-alerts"
    alarm_actions = ["arn:aws:sns:eu-west-1:123456789012:oncall"]
  }

  assert {
    condition = (
      length(aws_sns_topic.alerts) == 0 &&
      length(aws_kms_key.alerts) == 0 &&
      length(aws_sns_topic_policy.alerts) == 0 &&
      output.sns_topic_kms_key_arn == null &&
      !contains([for s in data.aws_iam_policy_document.loader.statement : s.sid], "EncryptAlertsThroughSns") &&
      output.sns_topic_arn == "arn:aws:sns:eu-west-1:123456789012:data-alerts" &&
      aws_lambda_function.loader.environment[0].variables["CDC_ALERT_TOPIC_ARN"] == "arn:aws:sns:eu-west-1:123456789012:data-alerts" &&
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "PublishAlerts"]) == toset(["arn:aws:sns:eu-west-1:123456789012:data-alerts"]) &&
      aws_cloudwatch_metric_alarm.lag.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall", "arn:aws:sns:eu-west-1:123456789012:data-alerts"]) &&
      aws_cloudwatch_metric_alarm.load_dlq_depth[0].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall", "arn:aws:sns:eu-west-1:123456789012:data-alerts"])
    )
    error_message = "A given topic must be used for alerts and alarms, alongside alarm_actions, and none created."
  }
}

run "empty_prefix_and_columns_mode" {
  command = plan

  variables {
    prefix = ""
    target_spec = {
      schema  = "cdc"
      table   = "orders"
      mode    = "columns"
      keys    = [{ name = "order_id", type = "S" }, { name = "timestamp", type = "N", column = "ts" }]
      columns = [{ name = "total", type = "DECIMAL(38, 10)", path = ["amounts", "total"] }]
      history = true
    }
  }

  assert {
    condition = (
      aws_s3_bucket_notification.raw[0].queue[0].filter_prefix == "raw/orders/" &&
      output.manifests_prefix == "manifests/orders/" &&
      aws_lambda_function.loader.environment[0].variables["CDC_PREFIX"] == "" &&
      jsondecode(aws_lambda_function.loader.environment[0].variables["CDC_TARGET_SPEC"]).columns[0].path == ["amounts", "total"] &&
      jsondecode(aws_lambda_function.loader.environment[0].variables["CDC_TARGET_SPEC"]).history == true &&
      jsondecode(aws_lambda_function.loader.environment[0].variables["CDC_TARGET_SPEC"]).keys[1].column == "ts"
    )
    error_message = "An empty prefix puts the layout at the bucket root; the columns spec (with a renamed key column) reaches the loader intact."
  }
}

run "alarms_page_on_missing_lag_and_not_on_quiet_counters" {
  command = plan

  # s3_event with its defaults: reconciliation every 60 min, async loader timeout 120 s.
  # 3600 + 120 + 300 = 4020 s of silence at most: 14 periods of 300 s.
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.lag.treat_missing_data == "breaching" &&
      aws_cloudwatch_metric_alarm.lag.period == 300 &&
      aws_cloudwatch_metric_alarm.lag.evaluation_periods == 14 &&
      aws_cloudwatch_metric_alarm.lag.datapoints_to_alarm == 14 &&
      aws_cloudwatch_metric_alarm.lag.namespace == "DdbCdc" &&
      aws_cloudwatch_metric_alarm.lag.metric_name == "ReplicationLagSeconds" &&
      aws_cloudwatch_metric_alarm.lag.dimensions["Table"] == "orders" && length(aws_cloudwatch_metric_alarm.lag.dimensions) == 1 &&
      aws_cloudwatch_metric_alarm.lag.statistic == "Maximum"
    )
    error_message = "The lag alarm must treat missing data as breaching over a window that one reconciliation run per cadence always covers."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.load_failures.treat_missing_data == "notBreaching" &&
      aws_cloudwatch_metric_alarm.loader_errors.treat_missing_data == "notBreaching" &&
      aws_cloudwatch_metric_alarm.invoke_dlq_depth.treat_missing_data == "notBreaching" &&
      aws_cloudwatch_metric_alarm.load_dlq_depth[0].treat_missing_data == "notBreaching"
    )
    error_message = "Counters published only when something goes wrong (failures, errors, DLQ depth) must not alarm on silence."
  }
}

run "lag_alarm_window_follows_the_load_schedule" {
  command = plan

  variables {
    load_strategy = "schedule"
  }

  # rate 15 min: 900 + 120 + 300 = 1320 s -> 5 periods of 300 s.
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.lag.period == 300 &&
      aws_cloudwatch_metric_alarm.lag.evaluation_periods == 5 &&
      aws_cloudwatch_metric_alarm.lag.datapoints_to_alarm == 5
    )
    error_message = "A 15-minute schedule must be covered by a 25-minute lag window."
  }
}

run "lag_alarm_window_of_a_daily_schedule_uses_hour_periods" {
  command = plan

  variables {
    load_strategy = "schedule"
    schedule      = { rate_minutes = 1440 }
    data_api_mode = "poll"
  }

  # 86400 + 900 + 300 = 87600 s exceeds the one-day limit of sub-hour periods: 25 periods of 3600 s (<= 7 days).
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.lag.period == 3600 &&
      aws_cloudwatch_metric_alarm.lag.evaluation_periods == 25 &&
      aws_cloudwatch_metric_alarm.lag.period * aws_cloudwatch_metric_alarm.lag.evaluation_periods <= 604800
    )
    error_message = "A daily schedule needs hour periods so the window stays within CloudWatch's limits."
  }
}

run "reconciliation_rate_sets_the_s3_event_schedule_and_lag_window" {
  command = plan

  variables {
    s3_event = { reconcile_rate_minutes = 1 }
  }

  # 60 + 120 + 300 = 480 s -> 2 periods of 300 s.
  assert {
    condition = (
      aws_scheduler_schedule.load[0].schedule_expression == "rate(1 minute)" &&
      aws_cloudwatch_metric_alarm.lag.evaluation_periods == 2
    )
    error_message = "s3_event.reconcile_rate_minutes must set the reconciliation rate and the lag window."
  }
}

run "ec2_cron_builds_no_trigger_and_lets_ec2_assume_the_loader_role" {
  command = plan

  variables {
    load_strategy         = "ec2_cron"
    ec2_cron_rate_minutes = 5
  }

  assert {
    condition = (
      length(aws_sqs_queue.load) == 0 &&
      length(aws_lambda_event_source_mapping.load) == 0 &&
      length(aws_s3_bucket_notification.raw) == 0 &&
      length(aws_scheduler_schedule.load) == 0 &&
      length(aws_iam_role.scheduler) == 0 &&
      length(aws_iam_role_policy.scheduler) == 0 &&
      output.schedule_arn == null &&
      output.queue_url == null
    )
    error_message = "load_strategy = \"ec2_cron\" must create no queue, notification or schedule: the host's timer is the only trigger."
  }

  assert {
    condition = (
      length(aws_lambda_function.completion) == 1 &&
      length(aws_cloudwatch_event_rule.statement_status) == 1 &&
      aws_cloudwatch_metric_alarm.lag.treat_missing_data == "breaching" &&
      length(aws_cloudwatch_metric_alarm.load_dlq_depth) == 0
    )
    error_message = "The completion function (async Data API outcomes) and the lag alarm must stay."
  }

  assert {
    condition     = one(data.aws_iam_policy_document.lambda_assume_role.statement[0].principals).identifiers == toset(["lambda.amazonaws.com", "ec2.amazonaws.com"])
    error_message = "The host runs as the loader's role (so it owns the same Data API statements and database user): EC2 must be able to assume it."
  }

  # rate 5 min: 300 + 120 + 300 = 720 s -> 3 periods of 300 s.
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.lag.period == 300 &&
      aws_cloudwatch_metric_alarm.lag.evaluation_periods == 3 &&
      strcontains(aws_cloudwatch_metric_alarm.lag.alarm_description, "runs every 5 min (the ec2_cron host is down or its timer stopped")
    )
    error_message = "The lag window must follow the host's timer."
  }

  assert {
    condition = (
      output.loader_environment == aws_lambda_function.loader.environment[0].variables &&
      output.loader_environment["CDC_TABLE_NAME"] == "orders" &&
      output.loader_environment["LOG_LEVEL"] == "INFO" &&
      output.loader_timeout_seconds == 120 &&
      output.loader_role_name == aws_iam_role.loader.name
    )
    error_message = "The loader's environment, timeout and role must be output for the host."
  }
}

run "other_strategies_keep_lambda_as_the_only_principal" {
  command = plan

  variables {
    load_strategy         = "schedule"
    ec2_cron_rate_minutes = 5
  }

  assert {
    condition = (
      one(data.aws_iam_policy_document.lambda_assume_role.statement[0].principals).identifiers == toset(["lambda.amazonaws.com"]) &&
      aws_scheduler_schedule.load[0].schedule_expression == "rate(15 minutes)"
    )
    error_message = "Only ec2_cron lets EC2 assume the loader's role; ec2_cron_rate_minutes is ignored by the other strategies."
  }
}

run "emr_compaction_reconciles_on_a_schedule_and_sets_the_compaction_environment" {
  command = plan

  variables {
    load_strategy    = "emr_compaction"
    emr_compaction   = { latest_finish_seconds = 6300 }
    create_copy_role = true
    copy_role_arn    = null
  }

  # 3600 + 6300 (15 min grace + 1800 s cluster + 3600 s step) + 900 s loader timeout: the compacted load waits for its
  # statement even in async mode, so the loader gets poll mode's timeout and budget.
  assert {
    condition = (
      aws_lambda_function.loader.environment[0].variables["CDC_LOAD_STRATEGY"] == "emr_compaction" &&
      aws_lambda_function.loader.environment[0].variables["CDC_COMPACTION_TARGET_SIZE_MB"] == "64" &&
      aws_lambda_function.loader.environment[0].variables["CDC_RECONCILE_GRACE_SECONDS"] == "10800" &&
      aws_lambda_function.loader.environment[0].variables["CDC_POLL_BUDGET_SECONDS"] == "840" &&
      aws_lambda_function.loader.timeout == 900 &&
      output.reconcile_grace_seconds == 10800
    )
    error_message = "The loader must know its strategy, the compaction's target size, and hold raw files back from the sweep for an hour plus the machine's longest run plus its own timeout."
  }

  assert {
    condition = (
      aws_scheduler_schedule.load[0].schedule_expression == "rate(60 minutes)" &&
      jsondecode(aws_scheduler_schedule.load[0].target[0].input) == { trigger = "reconcile" } &&
      aws_scheduler_schedule.load[0].target[0].arn == "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader" &&
      length(aws_sqs_queue.load) == 0 &&
      length(aws_s3_bucket_notification.raw) == 0 &&
      output.schedule_arn == "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/orders-cdc-loader" &&
      output.invoke_dlq_arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-invoke-dlq"
    )
    error_message = "emr_compaction keeps a reconciliation schedule ({\"trigger\": \"reconcile\"}) every 60 minutes and no queue or notification."
  }

  # The lag window follows the reconciliation cadence: 3600 + 900 + 300 = 4800 s -> 16 periods of 300 s. Changes wait
  # for their hour's run by design, so the default threshold is the sweep's hold plus one cadence.
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.lag.evaluation_periods == 16 &&
      aws_cloudwatch_metric_alarm.lag.threshold == 10800 + 3600 &&
      output.lag_alarm_threshold_seconds == 14400
    )
    error_message = "The lag alarm must follow the reconciliation cadence and not page on the compaction's designed wait."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "WriteLoaderObjects"]) == toset([
        "arn:aws:s3:::acme-orders-cdc/cdc/manifests/orders/*", "arn:aws:s3:::acme-orders-cdc/cdc/load-failures/orders/*",
        "arn:aws:s3:::acme-orders-cdc/cdc/quarantine/orders/*", "arn:aws:s3:::acme-orders-cdc/cdc/compaction/orders/*",
      ]) &&
      contains(one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "ReadLoaderObjects"]), "arn:aws:s3:::acme-orders-cdc/cdc/compaction/orders/*") &&
      contains(one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "ReadLoaderObjects"]), "arn:aws:s3:::acme-orders-cdc/cdc/compacted/orders/*") &&
      contains(one([for s in data.aws_iam_policy_document.loader.statement : one(s.condition).values if s.sid == "ListLoaderPrefixes"]), "cdc/compaction/orders/*") &&
      contains(one([for s in data.aws_iam_policy_document.loader.statement : one(s.condition).values if s.sid == "ListLoaderPrefixes"]), "cdc/compacted/orders/*") &&
      !contains(one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "WriteLoaderObjects"]), "arn:aws:s3:::acme-orders-cdc/cdc/compacted/orders/*")
    )
    error_message = "The loader writes input lists under compaction/ and reads (never writes) compacted/."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.copy[0].statement : s.resources if s.sid == "ReadRawAndManifests"]) == toset([
        "arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*", "arn:aws:s3:::acme-orders-cdc/cdc/manifests/orders/*", "arn:aws:s3:::acme-orders-cdc/cdc/compacted/orders/*",
        "arn:aws:s3:::acme-orders-cdc/cdc/compaction/orders/*",
      ]) &&
      one([for s in data.aws_iam_policy_document.copy[0].statement : one(s.condition).values if s.sid == "ListRawAndManifests"]) == tolist([
        "cdc/raw/orders/*", "cdc/manifests/orders/*", "cdc/compacted/orders/*", "cdc/compaction/orders/*",
      ])
    )
    error_message = "COPY must be able to read the compacted files its manifests list and each run's ledger list (compaction/)."
  }
}

run "emr_compaction_tuning_reaches_the_loader" {
  command = plan

  variables {
    load_strategy               = "emr_compaction"
    emr_compaction              = { latest_finish_seconds = 600, target_size_mb = 256, reconcile_rate_minutes = 30 }
    lag_alarm_threshold_seconds = 6000
    data_api_mode               = "poll"
  }

  # 3600 + 600 + 900 (poll mode's timeout) = 5100; the lag window: 1800 + 900 + 300 = 3000 s -> 10 periods.
  assert {
    condition = (
      aws_lambda_function.loader.environment[0].variables["CDC_COMPACTION_TARGET_SIZE_MB"] == "256" &&
      aws_lambda_function.loader.environment[0].variables["CDC_RECONCILE_GRACE_SECONDS"] == "5100" &&
      aws_scheduler_schedule.load[0].schedule_expression == "rate(30 minutes)" &&
      aws_cloudwatch_metric_alarm.lag.evaluation_periods == 10 &&
      aws_cloudwatch_metric_alarm.lag.threshold == 6000
    )
    error_message = "target_size_mb, the reconciliation rate and a threshold above the compaction's wait must reach the loader, its schedule and the lag alarm."
  }
}

run "other_strategies_leave_the_compaction_environment_unset" {
  command = plan

  variables {
    emr_compaction = { latest_finish_seconds = 6300, target_size_mb = 256 }
  }

  assert {
    condition = (
      aws_lambda_function.loader.environment[0].variables["CDC_LOAD_STRATEGY"] == "s3_event" &&
      !contains(keys(aws_lambda_function.loader.environment[0].variables), "CDC_COMPACTION_TARGET_SIZE_MB") &&
      !contains(keys(aws_lambda_function.loader.environment[0].variables), "CDC_RECONCILE_GRACE_SECONDS") &&
      output.reconcile_grace_seconds == null &&
      aws_cloudwatch_metric_alarm.lag.threshold == 1800 &&
      jsondecode(aws_scheduler_schedule.load[0].target[0].input) == { trigger = "schedule" } &&
      !contains(one([for s in data.aws_iam_policy_document.loader.statement : s.resources if s.sid == "ReadLoaderObjects"]), "arn:aws:s3:::acme-orders-cdc/cdc/compacted/orders/*")
    )
    error_message = "Outside emr_compaction the loader gets only CDC_LOAD_STRATEGY (its sweep keeps the Python default of 900 s), the 1800 s lag threshold and no compaction grants."
  }
}

run "emr_compaction_paused_has_the_loader_schedule_load_everything" {
  command = plan

  variables {
    load_strategy  = "emr_compaction"
    emr_compaction = { latest_finish_seconds = 6300, compaction_scheduled = false }
  }

  assert {
    condition     = jsondecode(aws_scheduler_schedule.load[0].target[0].input) == { trigger = "schedule" }
    error_message = "With the compaction's schedule paused, the loader's schedule must load every raw file itself ({\"trigger\": \"schedule\"}), not only reconcile."
  }
}

# Secrets Manager, SSM and SNS use the key with the caller's identity: a database secret, a SecureString or an adopted
# alert topic encrypted with kms_key_arn must stay readable (and publishable) through those services only; psycopg2
# also gets ec2:DescribeSubnets, which AWSLambdaENIManagementAccess lacks.
run "kms_key_reaches_the_secret_the_parameter_and_an_adopted_topic_through_their_services" {
  command = plan

  variables {
    kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    executor           = "psycopg2"
    db_secret_arn      = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdc/db-AbCdEf"
    psycopg2_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:psycopg2-py312:3"
    sns_topic_arn      = "arn:aws:sns:eu-west-1:123456789012:ops-alerts"
    db_sslmode         = "verify-ca"
    vpc = {
      subnet_ids         = ["subnet-0123456789abcdef0"]
      security_group_ids = ["sg-0123456789abcdef0"]
    }
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.loader.statement : [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] if startswith(s.sid, "UseKeyFor")]) == tolist([
        "s3.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com",
        "secretsmanager.eu-west-1.amazonaws.com", "sns.eu-west-1.amazonaws.com",
      ]) &&
      one(data.aws_iam_policy_document.loader_vpc[0].statement).actions == toset(["ec2:DescribeSubnets"]) &&
      aws_lambda_function.loader.environment[0].variables["CDC_DB_SSLMODE"] == "verify-ca" &&
      !contains(keys(aws_lambda_function.loader.environment[0].variables), "CDC_DB_SSLROOTCERT")
    )
    error_message = "The loader's key grant must include Secrets Manager for its secret and SNS for the adopted topic; psycopg2 needs ec2:DescribeSubnets and gets its db_sslmode."
  }
}
