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
  description = "The change-file bucket (see the root module's `bucket` input)."
  type = object({
    name                               = string
    create                             = optional(bool, true)
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
  description = "s3_event or schedule (see the root module)."
  type        = string
  default     = "s3_event"
}

variable "redshift" {
  description = "The warehouse and how the loader reaches it (see the root module's `redshift` input)."
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
  })
}

variable "loader" {
  description = "Loader tuning (see the root module's `loader` input)."
  type = object({
    s3_event = optional(object({
      batch_size                         = optional(number)
      maximum_batching_window_in_seconds = optional(number)
      max_receive_count                  = optional(number)
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
