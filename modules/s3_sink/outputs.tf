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

output "tls_only_policy_json" {
  description = "Bucket policy that denies every request not sent over TLS. Applied to a created bucket; for an adopted bucket, merge it into the bucket's own policy yourself."
  value       = data.aws_iam_policy_document.tls_only.json
}
