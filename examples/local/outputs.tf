output "region" {
  description = "Region every resource lives in."
  value       = "us-east-1"
}

output "aggregation" {
  description = "The aggregation strategy in use."
  value       = module.cdc.aggregation
}

output "load_strategy" {
  description = "The load strategy in use."
  value       = module.cdc.load_strategy
}

output "data_api_mode" {
  description = "How the loader follows its Data API statements (async or poll)."
  value       = var.data_api_mode
}

output "table_name" {
  description = "The DynamoDB table the generator writes to."
  value       = module.cdc.table_name
}

output "table_stream_arn" {
  description = "The table's stream, read by the writer's event source mapping."
  value       = module.cdc.table_stream_arn
}

output "table_key" {
  description = "The table's key schema."
  value       = module.cdc.table_key
}

output "bucket_name" {
  description = "Bucket that holds change files and manifests."
  value       = module.cdc.bucket_name
}

output "raw_prefix" {
  description = "Where change files land."
  value       = module.cdc.raw_prefix
}

output "manifests_prefix" {
  description = "Where load manifests land."
  value       = module.cdc.manifests_prefix
}

output "quarantine_prefix" {
  description = "Where quarantined records land."
  value       = module.cdc.quarantine_prefix
}

output "writer_function_name" {
  description = "The stream reader function."
  value       = module.cdc.writer_function_name
}

output "event_source_mapping_uuid" {
  description = "The stream-to-writer mapping."
  value       = module.cdc.event_source_mapping_uuid
}

output "dlq_url" {
  description = "The writer's dead-letter queue."
  value       = module.cdc.dlq_url
}

output "delivery_stream_name" {
  description = "Firehose delivery stream (aggregation = firehose only)."
  value       = module.cdc.delivery_stream_name
}

output "loader_function_name" {
  description = "The loader function."
  value       = module.cdc.loader_function_name
}

output "load_completion_function_name" {
  description = "The Data API completion function (data_api_mode = async only)."
  value       = module.cdc.load_completion_function_name
}

output "load_queue_url" {
  description = "The queue S3 notifies (load_strategy = s3_event only)."
  value       = module.cdc.load_queue_url
}

output "load_schedule_arn" {
  description = "The load schedule (schedule), or the reconciliation schedule (s3_event, emr_compaction); null for ec2_cron."
  value       = module.cdc.load_schedule_arn
}

output "ec2_cron_autoscaling_group_name" {
  description = "The loader host's Auto Scaling group (load_strategy = ec2_cron only): the sandbox reads its launch template's user data."
  value       = module.cdc.ec2_cron_autoscaling_group_name
}

output "ec2_cron_launch_template_id" {
  description = "The loader host's launch template (load_strategy = ec2_cron only)."
  value       = module.cdc.ec2_cron_launch_template_id
}

output "ec2_cron_log_group_name" {
  description = "The loader host's log group (load_strategy = ec2_cron only)."
  value       = module.cdc.ec2_cron_log_group_name
}

output "compaction_state_machine_arn" {
  description = "The compaction state machine (load_strategy = emr_compaction only): the sandbox starts it per hour, as a manual run would."
  value       = module.cdc.compaction_state_machine_arn
}

output "compaction_schedule_arn" {
  description = "The hourly schedule that starts the compaction machine (load_strategy = emr_compaction only)."
  value       = module.cdc.compaction_schedule_arn
}

output "emr_service_role_name" {
  description = "The compaction clusters' EMR service role (load_strategy = emr_compaction only)."
  value       = module.cdc.emr_service_role_name
}

output "emr_instance_profile_name" {
  description = "The compaction clusters' instance profile (load_strategy = emr_compaction only)."
  value       = module.cdc.emr_instance_profile_name
}

output "load_alerts_topic_arn" {
  description = "Topic that receives load alerts."
  value       = module.cdc.load_alerts_topic_arn
}

output "dashboard_name" {
  description = "The CloudWatch dashboard (create_dashboard's default)."
  value       = module.cdc.dashboard_name
}

output "copy_role_arn" {
  description = "The COPY role associated with the cluster."
  value       = module.cdc.copy_role_arn
}

output "cluster_identifier" {
  description = "The emulated Redshift cluster."
  value       = aws_redshift_cluster.warehouse.cluster_identifier
}

output "database" {
  description = "Database the loader writes to."
  value       = local.database
}

output "db_user" {
  description = "Database user the loader's temporary credentials are for."
  value       = local.db_user
}

output "target_schema" {
  description = "Schema of the target table."
  value       = local.target_schema
}

output "target_table" {
  description = "The target table."
  value       = local.target_table
}

output "backfill_mode" {
  description = "The backfill mode in use (none, step_functions, checkpoint_table or export)."
  value       = var.backfill_mode
}

output "backfill_function_name" {
  description = "The backfill function (null when backfill_mode = none): the CLI's --function."
  value       = module.cdc.backfill_function_name
}

output "backfill_state_machine_arn" {
  description = "The backfill state machine (step_functions and export only)."
  value       = module.cdc.backfill_state_machine_arn
}

output "backfill_cursor_table_name" {
  description = "The backfill cursor table (checkpoint_table only)."
  value       = module.cdc.backfill_cursor_table_name
}

output "backfill_command" {
  description = "The command that starts a backfill."
  value       = module.cdc.backfill_command
}
