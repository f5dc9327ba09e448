output "function_name" {
  description = "Name of the writer function (the ddb_stream module's function_name)."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the writer function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the writer's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the writer's CloudWatch log group (/aws/lambda/<function>)."
  value       = aws_cloudwatch_log_group.this.name
}

output "dlq_url" {
  description = "URL of the writer's dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the writer's dead-letter queue (the ddb_stream module's on_failure_destination_arn)."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the writer's dead-letter queue (the QueueName dimension of its depth alarm)."
  value       = aws_sqs_queue.dlq.name
}

output "alarm_thresholds" {
  description = "Thresholds of the writer's alarms, read from the alarms: errors (AWS/Lambda Errors, Sum) and dlq_depth (AWS/SQS ApproximateNumberOfMessagesVisible, Maximum)."
  value = {
    errors    = aws_cloudwatch_metric_alarm.errors.threshold
    dlq_depth = aws_cloudwatch_metric_alarm.dlq_depth.threshold
  }
}
