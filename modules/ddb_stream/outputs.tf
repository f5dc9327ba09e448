output "table_name" {
  description = "Name of the DynamoDB table whose changes are captured."
  value       = local.table_name
}

output "table_arn" {
  description = "ARN of the DynamoDB table whose changes are captured."
  value       = local.table_arn
}

output "stream_arn" {
  description = "ARN of the table's DynamoDB stream; pass it to the stream_writer module so its role may read the stream."
  value       = local.stream_arn
}

output "hash_key" {
  description = "Partition key of the table as { name, type } (type S, N or B)."
  value       = local.hash_key
}

output "range_key" {
  description = "Sort key of the table as { name, type }, or null when the table has a partition key only."
  value       = local.range_key
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping from the stream to the writer function."
  value       = aws_lambda_event_source_mapping.stream_to_writer.uuid
}

output "iterator_age_alarm_arn" {
  description = "ARN of the CloudWatch alarm on the writer's IteratorAge."
  value       = aws_cloudwatch_metric_alarm.iterator_age.arn
}

output "point_in_time_recovery_enabled" {
  description = "Whether point-in-time recovery is on for the table: as configured for a created table, as AWS reports it for an adopted one (DescribeContinuousBackups). The backfill's export mode needs it."
  value       = var.create_table ? aws_dynamodb_table.this[0].point_in_time_recovery[0].enabled : try(local.adopted_table.point_in_time_recovery[0].enabled, false)
}

output "iterator_age_alarm_threshold_ms" {
  description = "Threshold of the iterator-age alarm in milliseconds (iterator_age_alarm_threshold_ms, or its default): what the root's dashboard draws on the IteratorAge graph."
  value       = aws_cloudwatch_metric_alarm.iterator_age.threshold
}
