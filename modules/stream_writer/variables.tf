# ---------------------------------------------------------------------------
# Common
# ---------------------------------------------------------------------------

variable "name" {
  description = "Name prefix of the writer's resources: the function, its role and log group are <name>-<destination>-writer (<name>-s3-writer or <name>-firehose-writer), the DLQ <name>-<destination>-writer-dlq. Lowercase letters, digits and hyphens, 1-40 characters."
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
  description = "SNS topic ARNs notified when a writer alarm (errors, DLQ depth) fires. Empty list: alarms change state but notify no one."
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
    ARN of a customer managed KMS key. When set it encrypts the DLQ, the writer's environment and its log group, and the
    writer role may use it, each through the service that encrypts with it. Pass the bucket's key when the bucket uses SSE-KMS
    and the delivery stream's key when it uses a customer managed key. The key policy must let CloudWatch Logs
    (logs.<region>.amazonaws.com) use it. null: SQS-managed SSE for the DLQ, AWS-managed keys elsewhere.
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
    Per-purpose customer managed keys, for teams that keep them apart: table (the stream the writer reads, through DynamoDB),
    bucket (the objects it writes, through S3), queues (the DLQ through SQS; with destination = "firehose" also the delivery
    stream, through Firehose), logs (the log group). An unset entry takes kms_key_arn, which keeps encrypting the writer's
    environment. The writer's grants are usable only through the service that encrypts with each key (kms:ViaService).
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

variable "destination" {
  description = "Where the writer puts change envelopes: \"s3\" (one gzip NDJSON object per batch under <prefix>/raw/<table>/, handler stream_to_s3; the root's aggregation = \"lambda\") or \"firehose\" (PutRecordBatch into delivery_stream, handler stream_to_firehose; aggregation = \"firehose\")."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["s3", "firehose"], var.destination)
    error_message = "destination must be \"s3\" or \"firehose\"."
  }
}

variable "delivery_stream" {
  description = "The Firehose delivery stream the writer puts into (the firehose module's delivery_stream_name and delivery_stream_arn). Required with destination = \"firehose\"; must be null with destination = \"s3\"."
  type = object({
    name = string
    arn  = string
  })
  default = null

  validation {
    condition     = (var.delivery_stream != null) == (var.destination == "firehose")
    error_message = "delivery_stream is required with destination = \"firehose\" and must be null with destination = \"s3\" (that writer puts objects into the bucket itself)."
  }

  validation {
    condition     = var.delivery_stream == null ? true : can(regex("^arn:aws[a-z-]*:firehose:[a-z0-9-]+:[0-9]{12}:deliverystream/[A-Za-z0-9_.-]{1,64}$", var.delivery_stream.arn)) && endswith(var.delivery_stream.arn, "/${var.delivery_stream.name}")
    error_message = "delivery_stream.arn must be the ARN of the delivery stream delivery_stream.name (arn:<partition>:firehose:<region>:<account>:deliverystream/<name>)."
  }
}

variable "bucket_name" {
  description = "Name of the CDC bucket (the s3_sink module's bucket_name): where the s3 writer puts its objects and every writer spills quarantined records (CDC_BUCKET)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "bucket_arn" {
  description = "ARN of the CDC bucket bucket_name (the s3_sink module's bucket_arn); the writer's s3:PutObject grants are scoped to its prefixes."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn)) && endswith(var.bucket_arn, ":::${var.bucket_name}")
    error_message = "bucket_arn must be the ARN of the bucket bucket_name (arn:<partition>:s3:::<bucket_name>)."
  }
}

variable "prefix" {
  description = "Key prefix under which the CDC layout lives (<prefix>/raw/<table>/..., <prefix>/quarantine/<table>/...). No leading or trailing slash. Empty string: the layout starts at the bucket root."
  type        = string
  default     = "cdc"
  nullable    = false

  validation {
    condition     = can(regex("^([A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*)?$", var.prefix))
    error_message = "prefix must be empty or slash-separated segments of letters, digits, '_', '.', '=', '-', with no leading, trailing or doubled slash."
  }
}

variable "table_name" {
  description = "Name of the DynamoDB table whose changes are written; it names the raw/ and quarantine/ key prefixes and is passed to the writer."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of letters, digits, underscore, hyphen and dot (DynamoDB's table-name rule)."
  }
}

# ---------------------------------------------------------------------------
# Writer function
# ---------------------------------------------------------------------------

variable "stream_arn" {
  description = "ARN of the DynamoDB stream the writer reads (the ddb_stream module's stream_arn)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]+/stream/.+$", var.stream_arn))
    error_message = "stream_arn must be a DynamoDB stream ARN (arn:<partition>:dynamodb:<region>:<account>:table/<table>/stream/<label>)."
  }
}

variable "lambda_zip_path" {
  description = "Path of the zip that holds the ddb_cdc package (built by the root module)."
  type        = string
  nullable    = false

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must be the path of a .zip file."
  }
}

variable "lambda_zip_base64sha256" {
  description = "Base64-encoded SHA-256 of the zip at lambda_zip_path, so a code change redeploys the function."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.lambda_zip_base64sha256))
    error_message = "lambda_zip_base64sha256 must be a base64-encoded SHA-256 digest (44 characters ending in '=')."
  }
}

variable "memory_size" {
  description = "Memory of the writer function in MiB (CPU grows with it)."
  type        = number
  default     = 512
  nullable    = false

  validation {
    condition     = floor(var.memory_size) == var.memory_size && var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be a whole number of MiB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Timeout of one writer invocation in seconds."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = floor(var.timeout) == var.timeout && var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the writer. null: no reservation (the stream already bounds concurrency to shards x parallelization_factor)."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null ? true : floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions && var.reserved_concurrent_executions >= 1
    error_message = "reserved_concurrent_executions must be null or a whole number of at least 1 (0 would stop the writer)."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the writer: PassThrough (trace only when the caller samples) or Active (the role then gets X-Ray write access)."
  type        = string
  default     = "PassThrough"
  nullable    = false

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "log_level" {
  description = "LOG_LEVEL passed to the writer."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Days the writer's CloudWatch log group keeps events."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}
