output "bucket_name" {
  description = "Name of the CDC bucket."
  value       = local.bucket_name
}

output "bucket_arn" {
  description = "ARN of the CDC bucket."
  value       = local.bucket_arn
}

output "raw_prefix" {
  description = "Key prefix of this table's raw change objects, with a trailing slash (e.g. \"cdc/raw/orders/\", or \"raw/orders/\" when prefix is empty)."
  value       = local.raw_prefix
}

output "quarantine_prefix" {
  description = "Key prefix of this table's quarantined records, with a trailing slash (e.g. \"cdc/quarantine/orders/\")."
  value       = local.quarantine_prefix
}

output "writer_function_name" {
  description = "Name of the writer function (the ddb_stream module's function_name), or null when create_writer = false."
  value       = try(aws_lambda_function.writer[0].function_name, null)
}

output "writer_function_arn" {
  description = "ARN of the writer function, or null when create_writer = false."
  value       = try(aws_lambda_function.writer[0].arn, null)
}

output "writer_role_arn" {
  description = "ARN of the writer's execution role, or null when create_writer = false."
  value       = try(aws_iam_role.writer[0].arn, null)
}

output "dlq_url" {
  description = "URL of the writer's dead-letter queue, or null when create_writer = false."
  value       = try(aws_sqs_queue.dlq[0].url, null)
}

output "dlq_arn" {
  description = "ARN of the writer's dead-letter queue (the ddb_stream module's on_failure_destination_arn), or null when create_writer = false."
  value       = try(aws_sqs_queue.dlq[0].arn, null)
}

output "tls_only_policy_json" {
  description = "Bucket policy that denies every request not sent over TLS. Applied to a created bucket; for an adopted bucket, merge it into the bucket's own policy yourself."
  value       = data.aws_iam_policy_document.tls_only.json
}
