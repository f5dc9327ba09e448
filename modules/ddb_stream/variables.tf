variable "name" {
  description = "Name prefix for the resources this module names (the iterator-age alarm). Lowercase letters, digits and hyphens, 1-40 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters of lowercase letters, digits and hyphens."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource this module creates."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified when the iterator-age alarm fires. Empty list: the alarm changes state but notifies no one."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.alarm_actions : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$", arn))])
    error_message = "Every alarm_actions entry must be an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<topic>)."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key that encrypts the created table. null: the AWS managed key for DynamoDB (alias/aws/dynamodb). Ignored when adopting a table."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "create_table" {
  description = "Controls whether this module creates the DynamoDB table (true) or adopts an existing table named table_name whose stream is already on (false)."
  type        = bool
  default     = true
  nullable    = false
}

variable "table_name" {
  description = "Name of the DynamoDB table to create, or of the existing table to adopt when create_table = false."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of letters, digits, underscore, hyphen and dot (DynamoDB's table-name rule)."
  }
}

variable "hash_key" {
  description = "Partition key of the created table: attribute name and type (S, N or B). Required when create_table = true; ignored when adopting (the key is read from the table)."
  type = object({
    name = string
    type = string
  })
  default = null

  validation {
    condition     = var.hash_key == null ? true : contains(["S", "N", "B"], var.hash_key.type)
    error_message = "hash_key.type must be S (string), N (number) or B (binary)."
  }

  validation {
    condition     = var.hash_key == null ? true : length(var.hash_key.name) >= 1 && length(var.hash_key.name) <= 255
    error_message = "hash_key.name must be 1-255 characters."
  }
}

variable "range_key" {
  description = "Sort key of the created table: attribute name and type (S, N or B). null: the table has a partition key only. Ignored when adopting."
  type = object({
    name = string
    type = string
  })
  default = null

  validation {
    condition     = var.range_key == null ? true : contains(["S", "N", "B"], var.range_key.type)
    error_message = "range_key.type must be S (string), N (number) or B (binary)."
  }

  validation {
    condition     = var.range_key == null ? true : length(var.range_key.name) >= 1 && length(var.range_key.name) <= 255
    error_message = "range_key.name must be 1-255 characters."
  }
}

variable "point_in_time_recovery" {
  description = "Controls whether point-in-time recovery is enabled on the created table. Ignored when adopting."
  type        = bool
  default     = true
  nullable    = false
}

variable "deletion_protection" {
  description = "Controls whether deletion protection is enabled on the created table. Ignored when adopting."
  type        = bool
  default     = true
  nullable    = false
}

variable "function_name" {
  description = "Name (not ARN: it is also the alarm's FunctionName dimension) of the writer Lambda function the stream is mapped to, as output by the stream_writer module."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be a Lambda function name (1-64 letters, digits, hyphens, underscores), not an ARN."
  }
}

variable "on_failure_destination_arn" {
  description = "ARN of the SQS queue that receives the metadata of batches the mapping gives up on (after retries or record age run out). Usually the writer module's dlq_arn."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", var.on_failure_destination_arn))
    error_message = "on_failure_destination_arn must be an SQS queue ARN (arn:<partition>:sqs:<region>:<account>:<queue>)."
  }
}

variable "stream_mapping" {
  description = <<-EOT
    Settings of the event source mapping from the table's stream to the writer function. Every field is optional:
    batch_size (1-10000, default 1000), maximum_batching_window_in_seconds (0-300, default 5),
    parallelization_factor (1-10, default 1), starting_position (TRIM_HORIZON or LATEST, default TRIM_HORIZON),
    bisect_batch_on_function_error (default true), maximum_retry_attempts (-1 = until the record expires, or 0-10000; default 10),
    maximum_record_age_in_seconds (-1 = no limit, or 60-604800; default 86400, the stream's retention),
    filter_patterns (JSON event-filter patterns, at most 10, default none: every change is delivered).
    Filters drop changes before the writer sees them, so the warehouse will not hold what a filter excludes.
  EOT
  type = object({
    batch_size                         = optional(number, 1000)
    maximum_batching_window_in_seconds = optional(number, 5)
    parallelization_factor             = optional(number, 1)
    starting_position                  = optional(string, "TRIM_HORIZON")
    bisect_batch_on_function_error     = optional(bool, true)
    maximum_retry_attempts             = optional(number, 10)
    maximum_record_age_in_seconds      = optional(number, 86400)
    filter_patterns                    = optional(list(string), [])
  })
  default  = {}
  nullable = false

  validation {
    condition     = floor(var.stream_mapping.batch_size) == var.stream_mapping.batch_size && var.stream_mapping.batch_size >= 1 && var.stream_mapping.batch_size <= 10000
    error_message = "stream_mapping.batch_size must be a whole number from 1 to 10000."
  }

  validation {
    condition     = floor(var.stream_mapping.maximum_batching_window_in_seconds) == var.stream_mapping.maximum_batching_window_in_seconds && var.stream_mapping.maximum_batching_window_in_seconds >= 0 && var.stream_mapping.maximum_batching_window_in_seconds <= 300
    error_message = "stream_mapping.maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }

  validation {
    condition     = floor(var.stream_mapping.parallelization_factor) == var.stream_mapping.parallelization_factor && var.stream_mapping.parallelization_factor >= 1 && var.stream_mapping.parallelization_factor <= 10
    error_message = "stream_mapping.parallelization_factor must be a whole number from 1 to 10."
  }

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.stream_mapping.starting_position)
    error_message = "stream_mapping.starting_position must be TRIM_HORIZON (read the 24 h the stream holds) or LATEST (only new changes)."
  }

  validation {
    condition     = floor(var.stream_mapping.maximum_retry_attempts) == var.stream_mapping.maximum_retry_attempts && var.stream_mapping.maximum_retry_attempts >= -1 && var.stream_mapping.maximum_retry_attempts <= 10000
    error_message = "stream_mapping.maximum_retry_attempts must be -1 (retry until the record expires) or a whole number from 0 to 10000."
  }

  validation {
    condition = floor(var.stream_mapping.maximum_record_age_in_seconds) == var.stream_mapping.maximum_record_age_in_seconds && (
      var.stream_mapping.maximum_record_age_in_seconds == -1 ||
      (var.stream_mapping.maximum_record_age_in_seconds >= 60 && var.stream_mapping.maximum_record_age_in_seconds <= 604800)
    )
    error_message = "stream_mapping.maximum_record_age_in_seconds must be -1 (no limit) or a whole number from 60 to 604800."
  }

  validation {
    condition     = length(var.stream_mapping.filter_patterns) <= 10
    error_message = "stream_mapping.filter_patterns may hold at most 10 patterns (Lambda's hard limit; the default quota is 5)."
  }

  validation {
    condition     = alltrue([for pattern in var.stream_mapping.filter_patterns : can(keys(jsondecode(pattern)))])
    error_message = "Every stream_mapping.filter_patterns entry must be a JSON object, e.g. {\"eventName\":[\"INSERT\",\"MODIFY\"]}."
  }
}

variable "iterator_age_alarm_threshold_ms" {
  description = "The iterator-age alarm fires when the writer's maximum IteratorAge over 5 minutes exceeds this many milliseconds (the writer is falling behind the stream)."
  type        = number
  default     = 300000
  nullable    = false

  validation {
    condition     = var.iterator_age_alarm_threshold_ms >= 1000 && var.iterator_age_alarm_threshold_ms < 86400000
    error_message = "iterator_age_alarm_threshold_ms must be at least 1000 (1 s) and below 86400000 (the stream's 24 h retention)."
  }
}
