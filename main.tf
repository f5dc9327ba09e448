# The root module composes the submodules by strategy flags. Submodules never call each other: everything
# one needs from another (names, ARNs) is wired here.

locals {
  # Every alarm of the stack also notifies the loader's alert topic, whose key CloudWatch may use: with the
  # defaults (alarm_actions = []) an alarm still reaches whoever subscribes to that topic.
  alarm_actions = distinct(concat(var.alarm_actions, [module.redshift_loader.sns_topic_arn]))

  firehose_aggregation = var.aggregation == "firehose"

  ec2_cron       = var.load_strategy == "ec2_cron"
  emr_compaction = var.load_strategy == "emr_compaction"

  backfill        = var.backfill.mode != "none"
  backfill_export = var.backfill.mode == "export"

  # The one writer (module.stream_writer has one instance, keyed by the aggregation).
  writer               = module.stream_writer[var.aggregation]
  writer_function_name = local.writer.function_name
  writer_dlq_arn       = local.writer.dlq_arn
}

# One zip of lambda_src/ serves every function; handlers differ only by their entry point. Built at plan time by
# archive_file, so plan and apply must run in the same working directory (see README, "Lambda package").
data "archive_file" "lambda" {
  type             = "zip"
  source_dir       = "${path.module}/lambda_src"
  output_path      = "${path.root}/.build/${var.name}-lambda.zip"
  output_file_mode = "0644"
  excludes         = ["*__pycache__*", "*.pyc", "*.egg-info*"]
}

module "ddb_stream" {
  source = "./modules/ddb_stream"

  name          = var.name
  tags          = var.tags
  alarm_actions = local.alarm_actions
  # The table's key: kms_keys.table, or kms_key_arn.
  kms_key_arn = var.kms_keys.table != null ? var.kms_keys.table : var.kms_key_arn

  create_table           = var.table.create
  table_name             = var.table.name
  hash_key               = var.table.hash_key
  range_key              = var.table.range_key
  point_in_time_recovery = var.table.point_in_time_recovery
  deletion_protection    = var.table.deletion_protection

  function_name                   = local.writer_function_name
  on_failure_destination_arn      = local.writer_dlq_arn
  stream_mapping                  = var.stream_mapping
  iterator_age_alarm_threshold_ms = var.iterator_age_alarm_threshold_ms
}

module "s3_sink" {
  source = "./modules/s3_sink"

  tags        = var.tags
  kms_key_arn = var.kms_key_arn
  kms_keys    = var.kms_keys

  create_bucket                      = var.bucket.create
  bucket_name                        = var.bucket.name
  prefix                             = var.bucket.prefix
  force_destroy                      = var.bucket.force_destroy
  versioning_enabled                 = var.bucket.versioning_enabled
  noncurrent_version_expiration_days = var.bucket.noncurrent_version_expiration_days
  raw_expiration_days                = var.bucket.raw_expiration_days
  access_log_target                  = var.bucket.access_log_target
  table_name                         = var.table.name
  # emr_compaction's working prefixes (compaction/, compacted/, emr-logs/) expire like raw/.
  create_compaction_lifecycle = local.emr_compaction
  compaction_expiration_days  = var.emr_compaction.log_retention_days
}

module "firehose" {
  source = "./modules/firehose"
  count  = local.firehose_aggregation ? 1 : 0

  name          = var.name
  tags          = var.tags
  alarm_actions = local.alarm_actions
  kms_key_arn   = var.kms_key_arn
  kms_keys      = var.kms_keys

  bucket_arn         = module.s3_sink.bucket_arn
  prefix             = var.bucket.prefix
  table_name         = var.table.name
  buffering_size     = var.firehose.buffering_size_mb
  buffering_interval = var.firehose.buffering_interval_seconds
  # The delivery log's retention, as the writer's.
  log_retention_days = var.writer.log_retention_days
}

# The Lambda function that reads the stream: with aggregation = "lambda" it writes objects itself, with "firehose" it
# puts records into the delivery stream above. One instance, keyed by the aggregation, so that the moved blocks in
# moved.tf can tell the two writers of the old layout apart (two moved blocks may not share a destination).
module "stream_writer" {
  source   = "./modules/stream_writer"
  for_each = toset([var.aggregation])

  name          = var.name
  tags          = var.tags
  alarm_actions = local.alarm_actions
  kms_key_arn   = var.kms_key_arn
  kms_keys      = var.kms_keys

  destination = each.key == "firehose" ? "firehose" : "s3"
  delivery_stream = each.key == "firehose" ? {
    name = module.firehose[0].delivery_stream_name
    arn  = module.firehose[0].delivery_stream_arn
  } : null
  bucket_name = module.s3_sink.bucket_name
  bucket_arn  = module.s3_sink.bucket_arn
  prefix      = var.bucket.prefix
  table_name  = var.table.name

  stream_arn                     = module.ddb_stream.stream_arn
  lambda_zip_path                = data.archive_file.lambda.output_path
  lambda_zip_base64sha256        = data.archive_file.lambda.output_base64sha256
  memory_size                    = var.writer.memory_size
  timeout                        = var.writer.timeout
  reserved_concurrent_executions = var.writer.reserved_concurrent_executions
  tracing_mode                   = var.writer.tracing_mode
  log_level                      = var.writer.log_level
  log_retention_days             = var.writer.log_retention_days
}

module "redshift_loader" {
  source = "./modules/redshift_loader"

  name          = var.name
  tags          = var.tags
  alarm_actions = var.alarm_actions
  kms_key_arn   = var.kms_key_arn
  kms_keys      = var.kms_keys

  bucket_name = module.s3_sink.bucket_name
  bucket_arn  = module.s3_sink.bucket_arn
  prefix      = var.bucket.prefix
  table_name  = var.table.name

  lambda_zip_path         = data.archive_file.lambda.output_path
  lambda_zip_base64sha256 = data.archive_file.lambda.output_base64sha256

  load_strategy = var.load_strategy
  s3_event      = var.loader.s3_event
  # The lag alarm's window follows the host's timer.
  ec2_cron_rate_minutes = local.ec2_cron ? module.ec2_cron[0].rate_minutes : null
  # The reconciliation sweep leaves an hour's raw files to its compaction run for as long as the run may take.
  emr_compaction = {
    target_size_mb         = var.emr_compaction.target_size_mb
    reconcile_rate_minutes = var.emr_compaction.reconcile_rate_minutes
    latest_finish_seconds  = local.emr_compaction ? module.emr_compaction[0].latest_finish_seconds : null
    compaction_scheduled   = coalesce(var.emr_compaction.schedule_enabled, true)
  }
  schedule         = var.loader.schedule
  async_invocation = var.loader.async_invocation

  target = {
    kind               = var.redshift.kind
    database           = var.redshift.database
    cluster_identifier = var.redshift.cluster_identifier
    db_user            = var.redshift.db_user
    secret_arn         = var.redshift.secret_arn
    workgroup_name     = var.redshift.workgroup_name
  }
  executor             = var.redshift.executor
  data_api_mode        = var.redshift.data_api_mode
  db_secret_arn        = var.redshift.db_secret_arn
  db_ssm_parameter_arn = var.redshift.db_ssm_parameter_arn
  vpc                  = var.redshift.vpc
  psycopg2_layer_arn   = var.redshift.psycopg2_layer_arn
  psycopg2_layer_zip   = var.redshift.psycopg2_layer_zip
  db_sslmode           = var.redshift.db_sslmode
  db_sslrootcert       = var.redshift.db_sslrootcert
  copy_role_arn        = var.redshift.copy_role_arn
  create_copy_role     = var.redshift.create_copy_role

  # The warehouse key is the table's key schema, never typed twice by hand.
  target_spec = {
    schema  = var.target_spec.schema
    table   = var.target_spec.table
    mode    = var.target_spec.mode
    columns = var.target_spec.columns
    history = var.target_spec.history
    keys = [for key in [module.ddb_stream.hash_key, module.ddb_stream.range_key] : {
      name   = key.name
      type   = key.type
      column = try(var.target_spec.key_column_names[key.name], null)
    } if key != null]
    key_column_types = var.target_spec.key_column_types
  }

  sns_topic_arn               = var.loader.sns_topic_arn
  sns_topic_kms_key_arn       = var.loader.sns_topic_kms_key_arn
  max_file_failures           = var.loader.max_file_failures
  schedule_lookback_hours     = var.loader.schedule_lookback_hours
  metric_namespace            = var.loader.metric_namespace
  lag_alarm_threshold_seconds = var.loader.lag_alarm_threshold_seconds
  loader_memory_size          = var.loader.memory_size
  loader_timeout              = var.loader.timeout
  completion_memory_size      = var.loader.completion_memory_size
  completion_timeout          = var.loader.completion_timeout
  connect_timeout_seconds     = var.loader.connect_timeout_seconds
  statement_timeout_ms        = var.loader.statement_timeout_ms
  log_level                   = var.loader.log_level
  log_retention_days          = var.loader.log_retention_days
}

# load_strategy = "ec2_cron": a host in a group of one runs the loader CLI (same package, same CDC_* environment, same
# role) from a systemd timer. The package is the functions' zip, uploaded next to the data under <prefix>/artifacts/.
module "ec2_cron" {
  source = "./modules/ec2_cron"
  count  = local.ec2_cron ? 1 : 0

  name          = var.name
  tags          = var.tags
  alarm_actions = local.alarm_actions
  kms_key_arn   = var.kms_key_arn
  kms_keys      = var.kms_keys

  subnet_ids          = var.ec2_cron.subnet_ids
  instance_type       = var.ec2_cron.instance_type
  architecture        = var.ec2_cron.architecture
  rate_minutes        = var.ec2_cron.rate_minutes
  root_volume_size_gb = var.ec2_cron.root_volume_size_gb
  ami_ssm_parameter   = var.ec2_cron.ami_ssm_parameter
  log_retention_days  = var.ec2_cron.log_retention_days
  # A psycopg2 loader reaches the cluster through the groups it admits, as the loader function does.
  security_group_ids = var.redshift.executor == "psycopg2" ? try(var.redshift.vpc.security_group_ids, []) : []

  role_name              = module.redshift_loader.loader_role_name
  loader_environment     = module.redshift_loader.loader_environment
  loader_timeout_seconds = module.redshift_loader.loader_timeout_seconds

  bucket_name    = module.s3_sink.bucket_name
  bucket_arn     = module.s3_sink.bucket_arn
  prefix         = var.bucket.prefix
  package_path   = data.archive_file.lambda.output_path
  package_sha256 = data.archive_file.lambda.output_sha256
}

# load_strategy = "emr_compaction": every hour a state machine asks the loader for the previous hour's plan, merges the
# hour's raw files with s3-dist-cp on a transient EMR cluster, terminates it and has the loader load the result. The
# loader (its reconciliation schedule) and its alert topic are the redshift_loader module's.
module "emr_compaction" {
  source = "./modules/emr_compaction"
  count  = local.emr_compaction ? 1 : 0

  name               = var.name
  tags               = var.tags
  alarm_actions      = local.alarm_actions
  kms_key_arn        = var.kms_key_arn
  kms_keys           = var.kms_keys
  log_retention_days = var.loader.log_retention_days

  table_name  = var.table.name
  bucket_name = module.s3_sink.bucket_name
  bucket_arn  = module.s3_sink.bucket_arn
  prefix      = var.bucket.prefix

  loader_function_arn      = module.redshift_loader.loader_function_arn
  alerts_topic_arn         = module.redshift_loader.sns_topic_arn
  alerts_topic_kms_key_arn = module.redshift_loader.sns_topic_kms_key_arn
  dead_letter_queue_arn    = module.redshift_loader.invoke_dlq_arn

  subnet_id                            = var.emr_compaction.subnet_id
  release_label                        = var.emr_compaction.release_label
  master_instance_type                 = var.emr_compaction.master_instance_type
  core_instance_type                   = var.emr_compaction.core_instance_type
  core_instance_count                  = var.emr_compaction.core_instance_count
  core_spot                            = var.emr_compaction.core_spot
  additional_security_group_ids        = var.emr_compaction.additional_security_group_ids
  emr_managed_master_security_group_id = var.emr_compaction.emr_managed_master_security_group_id
  emr_managed_core_security_group_id   = var.emr_compaction.emr_managed_core_security_group_id
  service_access_security_group_id     = var.emr_compaction.service_access_security_group_id
  idle_timeout_seconds                 = var.emr_compaction.idle_timeout_seconds
  grace_minutes                        = var.emr_compaction.grace_minutes
  cluster_timeout_seconds              = var.emr_compaction.cluster_timeout_seconds
  step_timeout_seconds                 = var.emr_compaction.step_timeout_seconds
  schedule_enabled                     = var.emr_compaction.schedule_enabled
}

# The backfill reads the table once into raw/ as snapshot envelopes that the loader above merges like any change.
module "backfill" {
  source = "./modules/backfill"
  count  = local.backfill ? 1 : 0

  name          = var.name
  tags          = var.tags
  alarm_actions = local.alarm_actions
  kms_key_arn   = var.kms_key_arn
  kms_keys      = var.kms_keys

  mode       = var.backfill.mode
  table_name = module.ddb_stream.table_name
  table_arn  = module.ddb_stream.table_arn
  key_names  = [for key in [module.ddb_stream.hash_key, module.ddb_stream.range_key] : key.name if key != null]
  # A backfill is correct only if the stream is captured from before its first page. Passing the mapping's UUID
  # makes every backfill resource wait for the mapping, and the function refuses a fresh scan unless it is Enabled.
  stream_mapping_uuid = module.ddb_stream.event_source_mapping_uuid

  # Through the gate below in export mode, so that its error (in this module's words) comes first.
  point_in_time_recovery_enabled = local.backfill_export ? terraform_data.backfill_needs_point_in_time_recovery[0].output : module.ddb_stream.point_in_time_recovery_enabled

  bucket_name = module.s3_sink.bucket_name
  bucket_arn  = module.s3_sink.bucket_arn
  prefix      = var.bucket.prefix

  lambda_zip_path         = data.archive_file.lambda.output_path
  lambda_zip_base64sha256 = data.archive_file.lambda.output_base64sha256

  total_segments        = var.backfill.total_segments
  max_concurrency       = var.backfill.max_concurrency
  page_size             = var.backfill.page_size
  read_units_per_second = var.backfill.read_units_per_second
  retry                 = var.backfill.retry
  export_poll_seconds   = var.backfill.export_poll_seconds
  max_attempts          = var.backfill.max_attempts
  memory_size           = var.backfill.memory_size
  timeout               = var.backfill.timeout
  log_level             = var.backfill.log_level
  log_retention_days    = var.backfill.log_retention_days
}

# ExportTableToPointInTime reads the table's point-in-time recovery backup, so export mode is refused at plan time while
# PITR is off, with the fix for how this stack holds the table. The module checks it too, in its own words; this gate
# runs first because the module's input depends on it.
resource "terraform_data" "backfill_needs_point_in_time_recovery" {
  count = local.backfill_export ? 1 : 0

  input = module.ddb_stream.point_in_time_recovery_enabled

  lifecycle {
    precondition {
      condition = module.ddb_stream.point_in_time_recovery_enabled
      error_message = (var.table.create ?
        "backfill.mode = \"export\" needs point-in-time recovery on table ${var.table.name}, and table.point_in_time_recovery = false turns it off. Set table.point_in_time_recovery = true (or leave it unset: it defaults to true)." :
        "backfill.mode = \"export\" needs point-in-time recovery on table ${var.table.name} (adopted: table.create = false), and it is off. Turn it on: aws dynamodb update-continuous-backups --table-name ${var.table.name} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"
      )
    }
  }
}
