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
