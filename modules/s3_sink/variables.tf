# ---------------------------------------------------------------------------
# Common
# ---------------------------------------------------------------------------

variable "name" {
  description = "Name prefix for the resources this module names (writer function, role, DLQ, alarms). Lowercase letters, digits and hyphens, 1-40 characters."
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
    ARN of a customer managed KMS key. When set it encrypts the created bucket (SSE-KMS with an S3 Bucket Key), the DLQ,
    the writer's environment and its log group, and the writer role may use it. When adopting a bucket encrypted with a
    customer managed key, pass that key so the writer may write. The key policy must let CloudWatch Logs
    (logs.<region>.amazonaws.com) use it. null: SSE-S3 for the bucket, SQS-managed SSE for the DLQ, AWS-managed keys elsewhere.
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
    Per-purpose customer managed keys, for teams that keep them apart: bucket (the CDC objects' SSE-KMS key), queues
    (SQS queues), logs (CloudWatch log groups), table (DynamoDB tables). An unset entry takes kms_key_arn, which also
    keeps encrypting the functions' environment and schedules. Every role's grant follows the key that encrypts what it
    touches, through that service only (kms:ViaService).
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
# Bucket and layout
# ---------------------------------------------------------------------------

variable "create_bucket" {
  description = "Required, with no default so that forgetting it can never take over a bucket you own: true creates the CDC bucket bucket_name (in us-east-1 creating a bucket you already own succeeds silently); false adopts the existing bucket bucket_name and leaves its policy, encryption, versioning and lifecycle as they are."
  type        = bool
  nullable    = false
}

variable "bucket_name" {
  description = "Name of the S3 bucket to create, or of the existing bucket to adopt when create_bucket = false."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
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

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of letters, digits, underscore, hyphen and dot (DynamoDB's table-name rule)."
  }
}

variable "force_destroy" {
  description = "Controls whether destroying the created bucket also deletes every object in it. Keep false outside sandboxes."
  type        = bool
  default     = false
  nullable    = false
}

variable "versioning_enabled" {
  description = "Controls whether object versioning is enabled on the created bucket (false suspends it)."
  type        = bool
  default     = true
  nullable    = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions in the created bucket expire."
  type        = number
  default     = 7
  nullable    = false

  validation {
    condition     = floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days && var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be a whole number of at least 1."
  }
}

variable "raw_expiration_days" {
  description = "Days after which objects under <prefix>/raw/ in the created bucket expire; they are loaded long before. 0: never expire (the rule stays, disabled)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = floor(var.raw_expiration_days) == var.raw_expiration_days && var.raw_expiration_days >= 0
    error_message = "raw_expiration_days must be a whole number, 0 (never expire) or more."
  }
}

variable "create_compaction_lifecycle" {
  description = "Controls whether the created bucket's lifecycle also expires the emr_compaction working prefixes <prefix>/compaction/, <prefix>/compacted/ and <prefix>/emr-logs/ after compaction_expiration_days (the root sets it with load_strategy = \"emr_compaction\")."
  type        = bool
  default     = false
  nullable    = false
}

variable "compaction_expiration_days" {
  description = "Days after which objects under <prefix>/compaction/, <prefix>/compacted/ and <prefix>/emr-logs/ expire when create_compaction_lifecycle = true (1-3650)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = floor(var.compaction_expiration_days) == var.compaction_expiration_days && var.compaction_expiration_days >= 1 && var.compaction_expiration_days <= 3650
    error_message = "compaction_expiration_days must be a whole number of days from 1 to 3650."
  }
}

variable "access_log_target" {
  description = "Where S3 server access logs of the created bucket go: an existing log bucket and a key prefix (default \"<bucket_name>/\"). null: no server access logging."
  type = object({
    bucket_name = string
    prefix      = optional(string)
  })
  default = null

  validation {
    condition     = var.access_log_target == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_target.bucket_name))
    error_message = "access_log_target.bucket_name must be a valid S3 bucket name."
  }
}

# ---------------------------------------------------------------------------
# Writer Lambda
# ---------------------------------------------------------------------------

variable "create_writer" {
  description = "Controls whether this module creates the stream-to-S3 writer function with its role, log group, DLQ and alarms. Set false when Firehose aggregation writes raw/ instead."
  type        = bool
  default     = true
  nullable    = false
}

variable "stream_arn" {
  description = "ARN of the DynamoDB stream the writer reads (the ddb_stream module's stream_arn). Required when create_writer = true."
  type        = string
  default     = null

  validation {
    condition     = var.stream_arn == null ? true : can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]+/stream/.+$", var.stream_arn))
    error_message = "stream_arn must be a DynamoDB stream ARN (arn:<partition>:dynamodb:<region>:<account>:table/<table>/stream/<label>)."
  }
}

variable "lambda_zip_path" {
  description = "Path of the zip that holds the ddb_cdc package (built by the root module). Required when create_writer = true."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_zip_path == null ? true : endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must be the path of a .zip file."
  }
}

variable "lambda_zip_base64sha256" {
  description = "Base64-encoded SHA-256 of the zip at lambda_zip_path, so a code change redeploys the function. Required when create_writer = true."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_zip_base64sha256 == null ? true : can(regex("^[A-Za-z0-9+/]{43}=$", var.lambda_zip_base64sha256))
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
