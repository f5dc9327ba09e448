variable "region" {
  description = "AWS region of the table, bucket and functions."
  type        = string
}

variable "name" {
  description = "Name prefix for every resource (see the root module)."
  type        = string
}

variable "aggregation" {
  description = "lambda or firehose (see the root module)."
  type        = string
  default     = "lambda"
}

variable "table" {
  description = "The source table (see the root module's `table` input)."
  type = object({
    name                   = string
    create                 = optional(bool, false)
    hash_key               = optional(object({ name = string, type = string }))
    range_key              = optional(object({ name = string, type = string }))
    point_in_time_recovery = optional(bool)
    deletion_protection    = optional(bool)
  })
}

variable "stream_mapping" {
  description = "Stream-to-writer mapping settings (see the root module's `stream_mapping` input)."
  type = object({
    batch_size                         = optional(number)
    maximum_batching_window_in_seconds = optional(number)
    parallelization_factor             = optional(number)
    starting_position                  = optional(string)
    bisect_batch_on_function_error     = optional(bool)
    maximum_retry_attempts             = optional(number)
    maximum_record_age_in_seconds      = optional(number)
    filter_patterns                    = optional(list(string))
  })
  default = {}
}

variable "bucket" {
  description = "The change-file bucket (see the root module's `bucket` input; create is required: true creates it, false adopts yours)."
  type = object({
    name                               = string
    create                             = optional(bool)
    prefix                             = optional(string)
    force_destroy                      = optional(bool)
    versioning_enabled                 = optional(bool)
    noncurrent_version_expiration_days = optional(number)
    raw_expiration_days                = optional(number)
    access_log_target = optional(object({
      bucket_name = string
      prefix      = optional(string)
    }))
  })
}

variable "firehose" {
  description = "Firehose buffering (aggregation = firehose only)."
  type = object({
    buffering_size_mb          = optional(number)
    buffering_interval_seconds = optional(number)
  })
  default = {}
}

variable "writer" {
  description = "Writer function settings (see the root module's `writer` input)."
  type = object({
    memory_size                    = optional(number)
    timeout                        = optional(number)
    reserved_concurrent_executions = optional(number)
    tracing_mode                   = optional(string)
    log_level                      = optional(string)
    log_retention_days             = optional(number)
  })
  default = {}
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key ARN, or null for AWS-managed encryption."
  type        = string
  default     = null
}

variable "alarm_actions" {
  description = "SNS topic ARNs for alarms."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource (provider default_tags)."
  type        = map(string)
  default     = {}
}

variable "load_strategy" {
  description = "s3_event, schedule, ec2_cron or emr_compaction (see the root module)."
  type        = string
  default     = "s3_event"
}

variable "ec2_cron" {
  description = "The loader host when load_strategy = \"ec2_cron\" (see the root module's `ec2_cron` input): subnet_ids (required then), instance_type, architecture, rate_minutes, root_volume_size_gb, ami_ssm_parameter, log_retention_days."
  type = object({
    subnet_ids          = optional(list(string), [])
    instance_type       = optional(string)
    architecture        = optional(string)
    rate_minutes        = optional(number)
    root_volume_size_gb = optional(number)
    ami_ssm_parameter   = optional(string)
    log_retention_days  = optional(number)
  })
  default  = {}
  nullable = false
}

variable "emr_compaction" {
  description = "The hourly compaction when load_strategy = \"emr_compaction\" (see the root module's `emr_compaction` input): subnet_id (required then; tagged for-use-with-amazon-emr-managed-policies = true), release_label, master_instance_type, core_instance_type, core_instance_count, core_spot, target_size_mb, grace_minutes, idle_timeout_seconds, step_timeout_seconds, cluster_timeout_seconds, reconcile_rate_minutes, log_retention_days, additional_security_group_ids, emr_managed_master_security_group_id, emr_managed_core_security_group_id, service_access_security_group_id."
  type = object({
    subnet_id                            = optional(string)
    release_label                        = optional(string)
    master_instance_type                 = optional(string)
    core_instance_type                   = optional(string)
    core_instance_count                  = optional(number)
    core_spot                            = optional(bool)
    target_size_mb                       = optional(number)
    grace_minutes                        = optional(number)
    idle_timeout_seconds                 = optional(number)
    step_timeout_seconds                 = optional(number)
    cluster_timeout_seconds              = optional(number)
    reconcile_rate_minutes               = optional(number)
    log_retention_days                   = optional(number)
    additional_security_group_ids        = optional(list(string), [])
    emr_managed_master_security_group_id = optional(string)
    emr_managed_core_security_group_id   = optional(string)
    service_access_security_group_id     = optional(string)
  })
  default  = {}
  nullable = false
}

variable "redshift" {
  description = "The warehouse and how the loader reaches it (see the root module's `redshift` input). Required unless warehouse.create = true, which then builds it from the created workgroup (leave it null)."
  type = object({
    kind                 = string
    database             = string
    cluster_identifier   = optional(string)
    db_user              = optional(string)
    secret_arn           = optional(string)
    workgroup_name       = optional(string)
    executor             = optional(string)
    data_api_mode        = optional(string)
    copy_role_arn        = optional(string)
    create_copy_role     = optional(bool)
    db_secret_arn        = optional(string)
    db_ssm_parameter_arn = optional(string)
    psycopg2_layer_arn   = optional(string)
    vpc = optional(object({
      subnet_ids         = list(string)
      security_group_ids = list(string)
    }))
  })
  default = null

  validation {
    condition     = (var.redshift == null) == var.warehouse.create
    error_message = "Set redshift to your warehouse, or set warehouse.create = true and leave redshift null (the created workgroup is then used)."
  }
}

variable "warehouse" {
  description = <<-EOT
    Controls whether this example also creates the warehouse: a Redshift Serverless namespace and workgroup, not
    publicly accessible, encrypted (kms_key_arn when set), admin password generated and kept in Secrets Manager by
    Redshift, with the module's COPY role associated. Off by default (bring your own through `redshift`). name: namespace
    and workgroup name (default "<name>-warehouse"); database; admin_username; base_capacity in RPUs (4, the smallest,
    or 8 to 512 in steps of 8, or 512 to 1024 in steps of 32); max_capacity caps scaling (null: no cap); subnet_ids and
    security_group_ids (null: the region's default VPC); data_api_mode of the loader ("async" or "poll", null: the
    module's default).
  EOT
  type = object({
    create             = optional(bool, false)
    name               = optional(string)
    database           = optional(string, "dev")
    admin_username     = optional(string, "cdc_admin")
    base_capacity      = optional(number, 4)
    max_capacity       = optional(number)
    subnet_ids         = optional(list(string))
    security_group_ids = optional(list(string))
    data_api_mode      = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.warehouse.name == null || can(regex("^[a-z0-9-]{3,64}$", var.warehouse.name))
    error_message = "warehouse.name must be 3-64 lowercase letters, digits and hyphens (Redshift Serverless namespace and workgroup names)."
  }

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_$]{0,63}$", var.warehouse.database))
    error_message = "warehouse.database must be a Redshift database name: 1-64 lowercase letters, digits, underscores or dollar signs, starting with a letter or underscore."
  }

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,127}$", var.warehouse.admin_username)) && !contains(["admin", "rdsadmin", "public", "root"], var.warehouse.admin_username)
    error_message = "warehouse.admin_username must start with a letter, hold only lowercase letters, digits and underscores (up to 128), and not be a reserved name such as admin."
  }

  validation {
    condition = (
      var.warehouse.base_capacity == 4 ||
      (var.warehouse.base_capacity >= 8 && var.warehouse.base_capacity <= 512 && var.warehouse.base_capacity % 8 == 0) ||
      (var.warehouse.base_capacity > 512 && var.warehouse.base_capacity <= 1024 && var.warehouse.base_capacity % 32 == 0)
    )
    error_message = "warehouse.base_capacity must be 4, or 8 to 512 in steps of 8, or 512 to 1024 in steps of 32 RPUs."
  }

  validation {
    condition     = var.warehouse.max_capacity == null || try(var.warehouse.max_capacity >= var.warehouse.base_capacity, false)
    error_message = "warehouse.max_capacity must be at least warehouse.base_capacity (or null for no cap)."
  }

  validation {
    condition     = var.warehouse.data_api_mode == null || contains(["async", "poll"], coalesce(var.warehouse.data_api_mode, "async"))
    error_message = "warehouse.data_api_mode must be \"async\" or \"poll\" (or null for the module's default)."
  }

  validation {
    condition     = var.warehouse.subnet_ids == null || length(coalesce(var.warehouse.subnet_ids, [])) >= 3
    error_message = "warehouse.subnet_ids needs at least three subnets in three Availability Zones (Redshift Serverless requirement), or null for the default VPC."
  }
}

variable "target_spec" {
  description = "The Redshift target table (see the root module's `target_spec` input)."
  type = object({
    schema           = string
    table            = string
    mode             = optional(string)
    columns          = optional(list(object({ name = string, type = string, path = list(string) })))
    history          = optional(bool)
    key_column_types = optional(map(string))
    key_column_names = optional(map(string))
  })
}

variable "loader" {
  description = "Loader tuning (see the root module's `loader` input)."
  type = object({
    s3_event = optional(object({
      batch_size                         = optional(number)
      maximum_batching_window_in_seconds = optional(number)
      max_receive_count                  = optional(number)
      reconcile_rate_minutes             = optional(number)
      replace_bucket_notifications       = optional(bool)
    }))
    schedule = optional(object({
      rate_minutes                 = optional(number)
      maximum_retry_attempts       = optional(number)
      maximum_event_age_in_seconds = optional(number)
    }))
    async_invocation = optional(object({
      maximum_retry_attempts       = optional(number)
      maximum_event_age_in_seconds = optional(number)
    }))
    sns_topic_arn               = optional(string)
    sns_topic_kms_key_arn       = optional(string)
    max_file_failures           = optional(number)
    schedule_lookback_hours     = optional(number)
    metric_namespace            = optional(string)
    lag_alarm_threshold_seconds = optional(number)
    memory_size                 = optional(number)
    timeout                     = optional(number)
    completion_memory_size      = optional(number)
    completion_timeout          = optional(number)
    connect_timeout_seconds     = optional(number)
    statement_timeout_ms        = optional(number)
    log_level                   = optional(string)
    log_retention_days          = optional(number)
  })
  default  = {}
  nullable = false
}

variable "backfill" {
  description = "Backfill of the items that existed before the stream (see the root module's `backfill` input). Default: none."
  type = object({
    mode                  = optional(string, "none")
    total_segments        = optional(number)
    max_concurrency       = optional(number)
    page_size             = optional(number)
    read_units_per_second = optional(number)
    retry = optional(object({
      interval_seconds  = optional(number)
      max_attempts      = optional(number)
      backoff_rate      = optional(number)
      max_delay_seconds = optional(number)
    }))
    export_poll_seconds = optional(number)
    max_attempts        = optional(number)
    memory_size         = optional(number)
    timeout             = optional(number)
    log_level           = optional(string)
    log_retention_days  = optional(number)
  })
  default  = {}
  nullable = false
}
