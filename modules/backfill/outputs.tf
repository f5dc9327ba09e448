output "mode" {
  description = "The backfill mode: step_functions, checkpoint_table or export."
  value       = var.mode
}

output "function_name" {
  description = "Name of the backfill function (<name>-backfill): the CLI's --function."
  value       = aws_lambda_function.backfill.function_name
}

output "function_arn" {
  description = "ARN of the backfill function."
  value       = aws_lambda_function.backfill.arn
}

output "role_arn" {
  description = "ARN of the backfill function's execution role."
  value       = aws_iam_role.function.arn
}

output "handler" {
  description = "Entry point of the backfill function for this mode."
  value       = aws_lambda_function.backfill.handler
}

output "state_machine_arn" {
  description = "ARN of the backfill state machine, or null unless mode is step_functions or export."
  value       = try(aws_sfn_state_machine.backfill[0].arn, null)
}

output "state_machine_definition" {
  description = "The Amazon States Language definition of the state machine (JSON), or null unless mode is step_functions or export."
  value       = try(aws_sfn_state_machine.backfill[0].definition, null)
}

output "cursor_table_name" {
  description = "Name of the cursor table (<name>-backfill-cursors), or null unless mode = \"checkpoint_table\"."
  value       = try(aws_dynamodb_table.cursors[0].name, null)
}

output "cursor_table_arn" {
  description = "ARN of the cursor table, or null unless mode = \"checkpoint_table\"."
  value       = try(aws_dynamodb_table.cursors[0].arn, null)
}

output "dlq_url" {
  description = "URL of the cursor mapping's dead-letter queue, or null unless mode = \"checkpoint_table\"."
  value       = try(aws_sqs_queue.dlq[0].url, null)
}

output "backfill_prefix" {
  description = "Key prefix of this table's backfill control records (progress, scan records, exports), with a trailing slash (e.g. \"cdc/backfill/orders/\"). The loader never reads it."
  value       = local.backfill_prefix
}

output "alarm_arns" {
  description = "ARNs of the backfill's alarms: quarantined items (every mode); failed or timed-out executions (step_functions, export); function errors and DLQ depth (checkpoint_table)."
  value = concat(
    [aws_cloudwatch_metric_alarm.quarantined_items.arn],
    [for a in aws_cloudwatch_metric_alarm.executions_failed : a.arn],
    [for a in aws_cloudwatch_metric_alarm.function_errors : a.arn],
    [for a in aws_cloudwatch_metric_alarm.dlq_depth : a.arn],
  )
}

output "environment" {
  description = "Environment of the backfill function (the spec's CDC_* variables); the CLI reads the same values from the deployed function."
  value       = aws_lambda_function.backfill.environment[0].variables
}

output "dlq_name" {
  description = "Name of the cursor mapping's dead-letter queue (the QueueName dimension of its depth alarm), or null unless mode = \"checkpoint_table\"."
  value       = try(aws_sqs_queue.dlq[0].name, null)
}

output "dlq_alarm_threshold" {
  description = "Threshold of the dead-letter queue's depth alarm, or null unless mode = \"checkpoint_table\"."
  value       = try(aws_cloudwatch_metric_alarm.dlq_depth[0].threshold, null)
}
