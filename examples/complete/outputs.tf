output "bucket_name" {
  description = "Bucket that holds the change files."
  value       = module.cdc.bucket_name
}

output "raw_prefix" {
  description = "Where change files land."
  value       = module.cdc.raw_prefix
}

output "writer_function_name" {
  description = "The stream reader function."
  value       = module.cdc.writer_function_name
}

output "dlq_url" {
  description = "Quarantined records and abandoned batches go here: alarm on it, and read it when paged."
  value       = module.cdc.dlq_url
}

output "delivery_stream_name" {
  description = "Firehose delivery stream (aggregation = firehose only)."
  value       = module.cdc.delivery_stream_name
}
