output "delivery_stream_name" {
  description = "Name of the Firehose delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "delivery_stream_arn" {
  description = "ARN of the Firehose delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "delivery_role_arn" {
  description = "ARN of the role Firehose assumes to write to the bucket; grant it in the bucket's or key's policy when they restrict principals."
  value       = aws_iam_role.firehose.arn
}

output "raw_prefix" {
  description = "Key prefix under which Firehose delivers this table's objects, with a trailing slash (e.g. \"cdc/raw/orders/\")."
  value       = local.raw_prefix
}

output "writer_function_name" {
  description = "Name of the Firehose writer function (the ddb_stream module's function_name)."
  value       = aws_lambda_function.writer.function_name
}

output "writer_function_arn" {
  description = "ARN of the Firehose writer function."
  value       = aws_lambda_function.writer.arn
}

output "writer_role_arn" {
  description = "ARN of the writer's execution role."
  value       = aws_iam_role.writer.arn
}

output "dlq_url" {
  description = "URL of the writer's dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the writer's dead-letter queue (the ddb_stream module's on_failure_destination_arn)."
  value       = aws_sqs_queue.dlq.arn
}
