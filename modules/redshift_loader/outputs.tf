output "loader_function_name" {
  description = "Name of the loader function (handler ddb_cdc.handlers.loader.handler)."
  value       = aws_lambda_function.loader.function_name
}

output "loader_function_arn" {
  description = "ARN of the loader function."
  value       = aws_lambda_function.loader.arn
}

output "loader_role_arn" {
  description = "ARN of the execution role shared by the loader and completion functions. With a serverless target its database user is IAMR:<role name>; grant it rights on the target schema."
  value       = aws_iam_role.loader.arn
}

output "completion_function_name" {
  description = "Name of the Data API completion function, or null unless executor = \"data_api\" and data_api_mode = \"async\"."
  value       = try(aws_lambda_function.completion[0].function_name, null)
}

output "queue_url" {
  description = "URL of the SQS queue that S3 notifies, or null unless load_strategy = \"s3_event\"."
  value       = try(aws_sqs_queue.load[0].url, null)
}

output "queue_arn" {
  description = "ARN of the SQS queue that S3 notifies, or null unless load_strategy = \"s3_event\"."
  value       = try(aws_sqs_queue.load[0].arn, null)
}

output "queue_dlq_url" {
  description = "URL of the load queue's dead-letter queue, or null unless load_strategy = \"s3_event\"."
  value       = try(aws_sqs_queue.load_dlq[0].url, null)
}

output "invoke_dlq_url" {
  description = "URL of the dead-letter queue for failed asynchronous loader invocations (Scheduler dead letters and Lambda's on-failure destination)."
  value       = aws_sqs_queue.invoke_dlq.url
}

output "invoke_dlq_arn" {
  description = "ARN of the dead-letter queue for failed asynchronous invocations; its depth alarm pages. Other schedulers of this table (the emr_compaction schedule) send their dead letters here too."
  value       = aws_sqs_queue.invoke_dlq.arn
}

output "schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule that runs the loader: the load trigger (load_strategy = \"schedule\") or the reconciliation pass (\"s3_event\", \"emr_compaction\"); null for \"ec2_cron\", whose host's timer is the only trigger."
  value       = try(aws_scheduler_schedule.load[0].arn, null)
}

output "reconcile_grace_seconds" {
  description = "CDC_RECONCILE_GRACE_SECONDS with load_strategy = \"emr_compaction\" (3600 + emr_compaction.latest_finish_seconds + the loader's timeout): the sweep leaves younger raw files to their compaction. null in the other modes (the loader's default, 900 s)."
  value       = local.reconcile_grace_seconds
}

output "lag_alarm_threshold_seconds" {
  description = "Threshold of the lag alarm in seconds: lag_alarm_threshold_seconds, or its default (1800; with emr_compaction, reconcile_grace_seconds plus one reconciliation cadence)."
  value       = local.lag_alarm_threshold_seconds
}

output "sns_topic_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the created alert topic (sns_topic_kms_key_arn, or the key this module created), or null when sns_topic_arn names your own topic."
  value       = local.topic_kms_key_arn
}

output "sns_topic_arn" {
  description = "ARN of the alert topic: sns_topic_arn, or the topic this module created."
  value       = local.sns_topic_arn
}

output "copy_role_arn" {
  description = "ARN of the role COPY uses: copy_role_arn, or the created role. A created role must still be associated with the cluster (IAM roles) or the workgroup's namespace."
  value       = local.copy_role_arn
}

output "manifests_prefix" {
  description = "Key prefix of this table's load manifests, with a trailing slash (e.g. \"cdc/manifests/orders/\")."
  value       = local.manifests_prefix
}

output "loader_role_name" {
  description = "Name of the loader's execution role. With load_strategy = \"ec2_cron\" EC2 may assume it too: the ec2_cron host's instance profile holds it."
  value       = aws_iam_role.loader.name
}

output "loader_environment" {
  description = "The loader function's environment (every CDC_* variable and LOG_LEVEL): what the loader CLI (python -m ddb_cdc.cli) reads to run the same loads. No secret is in it: secrets are read from Secrets Manager or SSM at run time."
  value       = tomap(local.environment)
}

output "loader_timeout_seconds" {
  description = "Timeout of one load in seconds (the loader function's timeout): the ec2_cron host's service gets the same limit."
  value       = local.loader_timeout
}

output "invoke_dlq_name" {
  description = "Name of the dead-letter queue of asynchronous loader invocations (the QueueName dimension of its depth alarm)."
  value       = aws_sqs_queue.invoke_dlq.name
}

output "queue_dlq_name" {
  description = "Name of the dead-letter queue of the S3 notification queue, or null unless load_strategy = \"s3_event\"."
  value       = try(aws_sqs_queue.load_dlq[0].name, null)
}

output "alarm_thresholds" {
  description = "Thresholds of the loader's alarms, read from the alarms themselves: load_failures (LoadFailures), lag (ReplicationLagSeconds, seconds), loader_errors (AWS/Lambda Errors), invoke_dlq_depth and load_dlq_depth (null unless load_strategy = \"s3_event\")."
  value = {
    load_failures    = aws_cloudwatch_metric_alarm.load_failures.threshold
    lag              = aws_cloudwatch_metric_alarm.lag.threshold
    loader_errors    = aws_cloudwatch_metric_alarm.loader_errors.threshold
    invoke_dlq_depth = aws_cloudwatch_metric_alarm.invoke_dlq_depth.threshold
    load_dlq_depth   = try(aws_cloudwatch_metric_alarm.load_dlq_depth[0].threshold, null)
  }
}
