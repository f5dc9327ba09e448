# ---------------------------------------------------------------------------
# Common
# ---------------------------------------------------------------------------

variable "name" {
  description = "Name prefix for the resources this module names (delivery stream <name>-raw-to-s3, its role, log group and alarm). Lowercase letters, digits and hyphens, 1-40 characters."
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
  description = "SNS topic ARNs notified when the delivery freshness alarm fires. Empty list: alarms change state but notify no one."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.alarm_actions : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$", arn))])
    error_message = "Every alarm_actions entry must be an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<topic>)."
  }
}

variable "kms_key_arn" {
  description = <<-EOT
    ARN of a customer managed KMS key. When set it encrypts the delivery stream (CUSTOMER_MANAGED_CMK), the objects Firehose
    writes and the delivery log group, and the delivery role may use it through S3. Pass the bucket's key when the bucket uses
    SSE-KMS. The key policy must let CloudWatch Logs (logs.<region>.amazonaws.com) use it. null: an AWS-owned key for the
    stream, an AWS-managed key for the log group and the bucket's default encryption for objects.
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "kms_keys" {
  description = <<-EOT
    Per-purpose customer managed keys, for teams that keep them apart: bucket (the delivered objects' SSE-KMS key; the
    delivery role may use it through S3 only, kms:ViaService), queues (the delivery stream's SSE), logs (the delivery log
    group). An unset entry takes kms_key_arn. table is accepted and ignored, so the root can pass one kms_keys to every module.
  EOT
  type = object({
    table  = optional(string)
    bucket = optional(string)
    queues = optional(string)
    logs   = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k in [var.kms_keys.table, var.kms_keys.bucket, var.kms_keys.queues, var.kms_keys.logs] : k == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", k))])
    error_message = "Every kms_keys entry must be null or a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

# ---------------------------------------------------------------------------
# Destination and layout
# ---------------------------------------------------------------------------

variable "bucket_arn" {
  description = "ARN of the CDC bucket Firehose delivers to (the s3_sink module's bucket_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN (arn:<partition>:s3:::<bucket>)."
  }
}

variable "prefix" {
  description = "Key prefix under which the CDC layout lives (<prefix>/raw/<table>/..., <prefix>/firehose-errors/<table>/...). No leading or trailing slash. Empty string: the layout starts at the bucket root."
  type        = string
  default     = "cdc"
  nullable    = false

  validation {
    condition     = can(regex("^([A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*)?$", var.prefix))
    error_message = "prefix must be empty or slash-separated segments of letters, digits, '_', '.', '=', '-', with no leading, trailing or doubled slash."
  }
}

variable "table_name" {
  description = "Name of the DynamoDB table whose changes are written; it names the raw/ and firehose-errors/ key prefixes Firehose delivers to."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of letters, digits, underscore, hyphen and dot (DynamoDB's table-name rule)."
  }
}

variable "buffering_size" {
  description = "Firehose delivers an object once this many MiB are buffered (or buffering_interval passes)."
  type        = number
  default     = 64
  nullable    = false

  validation {
    condition     = floor(var.buffering_size) == var.buffering_size && var.buffering_size >= 1 && var.buffering_size <= 128
    error_message = "buffering_size must be a whole number of MiB from 1 to 128."
  }
}

variable "buffering_interval" {
  description = "Firehose delivers an object at least this many seconds after the first buffered record (or sooner when buffering_size fills). It also sets the freshness alarm threshold (2 x interval + 60 s)."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = floor(var.buffering_interval) == var.buffering_interval && var.buffering_interval >= 0 && var.buffering_interval <= 900
    error_message = "buffering_interval must be a whole number of seconds from 0 to 900."
  }
}

variable "log_retention_days" {
  description = "Days the delivery stream's CloudWatch log group keeps events."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}
