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

output "schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule that runs the loader: the load trigger (load_strategy = \"schedule\") or the reconciliation pass (\"s3_event\")."
  value       = aws_scheduler_schedule.load.arn
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
