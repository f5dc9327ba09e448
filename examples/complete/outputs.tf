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

output "table_name" {
  description = "The DynamoDB source table."
  value       = module.cdc.table_name
}

output "manifests_prefix" {
  description = "Where load manifests land."
  value       = module.cdc.manifests_prefix
}

output "loader_function_name" {
  description = "The loader function; its environment is what `python -m ddb_cdc.cli` needs (e.g. for `init`)."
  value       = module.cdc.loader_function_name
}

output "load_completion_function_name" {
  description = "The Data API completion function (data_api_mode = async only)."
  value       = module.cdc.load_completion_function_name
}

output "copy_role_arn" {
  description = "The role COPY uses; associate it with your warehouse (done for you with warehouse.create = true)."
  value       = module.cdc.copy_role_arn
}

output "warehouse_namespace_name" {
  description = "The created Redshift Serverless namespace (warehouse.create = true only)."
  value       = try(aws_redshiftserverless_namespace.this[0].namespace_name, null)
}

output "warehouse_workgroup_name" {
  description = "The created Redshift Serverless workgroup the loader writes to (warehouse.create = true only)."
  value       = try(aws_redshiftserverless_workgroup.this[0].workgroup_name, null)
}

output "warehouse_database" {
  description = "Database of the created workgroup (warehouse.create = true only)."
  value       = local.create_warehouse ? var.warehouse.database : null
}

output "warehouse_admin_secret_arn" {
  description = "ARN of the Secrets Manager secret in which Redshift keeps the generated admin password (warehouse.create = true only). The ARN, never the password."
  value       = try(aws_redshiftserverless_namespace.this[0].admin_password_secret_arn, null)
}

output "load_queue_url" {
  description = "The queue S3 notifies of new change files (load_strategy = s3_event only); empty when the loader has caught up."
  value       = module.cdc.load_queue_url
}

output "load_alerts_topic_arn" {
  description = "The topic every alarm and load alert of the stack goes to: subscribe the on-call person or channel to it."
  value       = module.cdc.load_alerts_topic_arn
}

output "backfill_command" {
  description = "The command that starts a backfill (null unless backfill.mode is set): python -m ddb_cdc.cli backfill start --function <name>."
  value       = module.cdc.backfill_command
}

output "ec2_cron_autoscaling_group_name" {
  description = "The loader host's Auto Scaling group (load_strategy = \"ec2_cron\"), or null. Open a shell on its instance with Session Manager: aws ssm start-session --target <instance id>."
  value       = module.cdc.ec2_cron_autoscaling_group_name
}

output "ec2_cron_log_group_name" {
  description = "The loader host's log group, one stream per instance (load_strategy = \"ec2_cron\"), or null."
  value       = module.cdc.ec2_cron_log_group_name
}
