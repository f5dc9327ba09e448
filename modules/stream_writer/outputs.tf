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
