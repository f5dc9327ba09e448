output "aggregation" {
  description = "The aggregation strategy in use: lambda or firehose."
  value       = var.aggregation
}

output "table_name" {
  description = "Name of the DynamoDB source table."
  value       = module.ddb_stream.table_name
}

output "table_stream_arn" {
  description = "ARN of the table's stream that feeds the writer."
  value       = module.ddb_stream.stream_arn
}

output "table_key" {
  description = "Key schema of the source table: hash_key and range_key as { name, type } (range_key null when absent)."
  value = {
    hash_key  = module.ddb_stream.hash_key
    range_key = module.ddb_stream.range_key
  }

  # Checked here because only the table knows its key schema (an adopted table's is read from AWS).
  precondition {
    condition = alltrue([
      for name in keys(coalesce(var.target_spec.key_column_names, {})) :
      contains([for key in [module.ddb_stream.hash_key, module.ddb_stream.range_key] : key.name if key != null], name)
    ])
    error_message = "target_spec.key_column_names may only name the table's key attributes (hash_key, range_key)."
  }
}

output "bucket_name" {
  description = "Name of the S3 bucket that holds change files."
  value       = module.s3_sink.bucket_name
}

output "bucket_arn" {
  description = "ARN of the S3 bucket that holds change files."
  value       = module.s3_sink.bucket_arn
}

output "raw_prefix" {
  description = "Key prefix under which change files land: <prefix>/raw/<table>/ (hourly folders YYYY/MM/DD/HH below it)."
  value       = module.s3_sink.raw_prefix
}

output "quarantine_prefix" {
  description = "Key prefix for quarantined records too large for an SQS message."
  value       = module.s3_sink.quarantine_prefix
}

output "writer_function_name" {
  description = "Name of the Lambda function that reads the stream (the S3 writer or the Firehose writer)."
  value       = local.writer_function_name
}

output "writer_function_arn" {
  description = "ARN of the Lambda function that reads the stream."
  value       = local.writer.function_arn
}

output "dlq_url" {
  description = "URL of the writer's dead-letter queue: quarantined records and batches the stream mapping gave up on."
  value       = local.writer.dlq_url
}

output "dlq_arn" {
  description = "ARN of the writer's dead-letter queue."
  value       = local.writer_dlq_arn
}

output "delivery_stream_name" {
  description = "Name of the Firehose delivery stream (null unless aggregation = \"firehose\")."
  value       = try(module.firehose[0].delivery_stream_name, null)
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping from the stream to the writer."
  value       = module.ddb_stream.event_source_mapping_uuid
}

output "tls_only_policy_json" {
  description = "Bucket policy statements that deny non-TLS access; apply them yourself when you adopt a bucket (bucket.create = false)."
  value       = module.s3_sink.tls_only_policy_json
}


output "load_strategy" {
  description = "The load strategy in use: s3_event, schedule, ec2_cron or emr_compaction."
  value       = var.load_strategy
}

output "loader_function_name" {
  description = "Name of the loader function (also the CLI's target for manual loads)."
  value       = module.redshift_loader.loader_function_name
}

output "load_completion_function_name" {
  description = "Name of the Data API completion function (null unless executor = data_api and data_api_mode = async)."
  value       = module.redshift_loader.completion_function_name
}

output "load_queue_url" {
  description = "URL of the SQS queue S3 notifies (null unless load_strategy = \"s3_event\")."
  value       = module.redshift_loader.queue_url
}

output "load_schedule_arn" {
  description = "ARN of the schedule that runs the loader: every loader.schedule.rate_minutes with load_strategy = \"schedule\", the reconciliation pass every loader.s3_event.reconcile_rate_minutes with \"s3_event\" (every emr_compaction.reconcile_rate_minutes with \"emr_compaction\"); null with \"ec2_cron\" (the host's timer is the trigger)."
  value       = module.redshift_loader.schedule_arn
}

output "load_alerts_topic_arn" {
  description = "SNS topic that every alarm of this stack notifies, and that receives load alerts; subscribe a person to it."
  value       = module.redshift_loader.sns_topic_arn
}

output "load_alerts_kms_key_arn" {
  description = "KMS key of the created alert topic (loader.sns_topic_kms_key_arn or the key created for it), or null when loader.sns_topic_arn names your own topic."
  value       = module.redshift_loader.sns_topic_kms_key_arn
}

output "copy_role_arn" {
  description = "IAM role Redshift COPY uses; when created here, associate it with the cluster or the workgroup's namespace."
  value       = module.redshift_loader.copy_role_arn
}

output "manifests_prefix" {
  description = "Key prefix of this table's load manifests."
  value       = module.redshift_loader.manifests_prefix
}

output "backfill_function_name" {
  description = "Name of the backfill function (null when backfill.mode = \"none\"): the CLI's --function."
  value       = try(module.backfill[0].function_name, null)
}

output "backfill_state_machine_arn" {
  description = "ARN of the backfill state machine (null unless backfill.mode is \"step_functions\" or \"export\")."
  value       = try(module.backfill[0].state_machine_arn, null)
}

output "backfill_cursor_table_name" {
  description = "Name of the backfill cursor table (null unless backfill.mode = \"checkpoint_table\")."
  value       = try(module.backfill[0].cursor_table_name, null)
}

output "backfill_command" {
  description = "The command that starts a backfill (null when backfill.mode = \"none\"); status, resume and cancel take the same --function."
  value       = local.backfill ? "python -m ddb_cdc.cli backfill start --function ${module.backfill[0].function_name}" : null
}

output "ec2_cron_autoscaling_group_name" {
  description = "The Auto Scaling group of one whose instance runs the loader CLI (load_strategy = \"ec2_cron\"), or null."
  value       = try(module.ec2_cron[0].autoscaling_group_name, null)
}

output "ec2_cron_launch_template_id" {
  description = "The loader host's launch template; its latest version holds the #cloud-config user data (load_strategy = \"ec2_cron\"), or null."
  value       = try(module.ec2_cron[0].launch_template_id, null)
}

output "ec2_cron_log_group_name" {
  description = "The log group of the loader host's runs, one stream per instance ID (load_strategy = \"ec2_cron\"), or null."
  value       = try(module.ec2_cron[0].log_group_name, null)
}

output "compaction_state_machine_arn" {
  description = "The compaction state machine (load_strategy = \"emr_compaction\"), or null. A manual run compacts one UTC hour: aws stepfunctions start-execution --state-machine-arn <arn> --input '{\"hour\": \"YYYY-MM-DDTHH\"}'."
  value       = try(module.emr_compaction[0].state_machine_arn, null)
}

output "compaction_schedule_arn" {
  description = "The schedule that starts a compaction run every hour at minute emr_compaction.grace_minutes, UTC (load_strategy = \"emr_compaction\"), or null."
  value       = try(module.emr_compaction[0].schedule_arn, null)
}

output "emr_service_role_name" {
  description = "The EMR service role of the compaction clusters (load_strategy = \"emr_compaction\"), or null."
  value       = try(module.emr_compaction[0].emr_service_role_name, null)
}

output "emr_instance_profile_name" {
  description = "The instance profile of the compaction clusters' nodes (load_strategy = \"emr_compaction\"), or null."
  value       = try(module.emr_compaction[0].emr_instance_profile_name, null)
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard, or null when create_dashboard = false."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}
