# ---------------------------------------------------------------------------
# Common
# ---------------------------------------------------------------------------

variable "name" {
  description = "Name prefix for the resources this module names (<name>-backfill function, role, state machine, cursor table, alarms). Lowercase letters, digits and hyphens, 1-40 characters."
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
  description = "SNS topic ARNs notified when a backfill alarm fires (failed or timed-out executions; checkpoint_table: function errors and DLQ depth). Empty list: alarms change state but notify no one."
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
    ARN of a customer managed KMS key. When set it encrypts the function's environment, the log groups, the cursor table and the
    DLQ, and the function's role may use it through S3, DynamoDB, SQS and Lambda only (kms:ViaService): pass the key of an
    SSE-KMS bucket or a CMK-encrypted source table here. The key policy must let CloudWatch Logs (logs.<region>.amazonaws.com)
    use it. null: AWS-managed encryption everywhere.
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
# Strategy
# ---------------------------------------------------------------------------

variable "mode" {
  description = <<-EOT
    How the table is read. "step_functions": a state machine maps over total_segments parallel-scan segments (at most
    max_concurrency at a time) and loops the scan function per segment until it is done. "checkpoint_table": a cursor table
    (one item per segment) whose stream invokes the scan function, which stores the next cursor and so triggers itself.
    "export": DynamoDB's ExportTableToPointInTime (needs point-in-time recovery), then a state machine converts the export's
    data files into snapshot envelopes.
  EOT
  type        = string
  default     = "step_functions"
  nullable    = false

  validation {
    condition     = contains(["step_functions", "checkpoint_table", "export"], var.mode)
    error_message = "mode must be \"step_functions\", \"checkpoint_table\" or \"export\"."
  }
}

# ---------------------------------------------------------------------------
# Source table and stream mapping
# ---------------------------------------------------------------------------

variable "table_name" {
  description = "Name of the DynamoDB table to backfill; it names the raw/ and backfill/ key prefixes."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of letters, digits, underscore, hyphen and dot (DynamoDB's table-name rule)."
  }
}

variable "table_arn" {
  description = "ARN of the DynamoDB table to backfill (the ddb_stream module's table_arn): the scope of the Scan and export grants."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.table_arn))
    error_message = "table_arn must be a DynamoDB table ARN (arn:<partition>:dynamodb:<region>:<account>:table/<name>)."
  }
}

variable "key_names" {
  description = "Key attribute names of the table, partition (hash) key first, then the sort (range) key if any: CDC_KEY_NAMES of the envelope."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.key_names) >= 1 && length(var.key_names) <= 2 && alltrue([for k in var.key_names : length(k) >= 1 && length(k) <= 255 && !strcontains(k, ",")])
    error_message = "key_names must hold the hash key name and optionally the range key name (1-255 characters each, no comma)."
  }
}

variable "stream_mapping_uuid" {
  description = <<-EOT
    UUID of the event source mapping that captures the table's stream (the ddb_stream module's event_source_mapping_uuid).
    The function checks that this mapping is Enabled before it reads the first page of a fresh scan, and passing the value
    makes everything in this module wait until the mapping exists.
  EOT
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.stream_mapping_uuid))
    error_message = "stream_mapping_uuid must be an event source mapping UUID (8-4-4-4-12 lowercase hex digits)."
  }
}

variable "point_in_time_recovery_enabled" {
  description = "Whether point-in-time recovery is on for the table (the ddb_stream module's point_in_time_recovery_enabled). mode = \"export\" needs it: the plan fails when it is false."
  type        = bool
  default     = false
  nullable    = false
}

# ---------------------------------------------------------------------------
# Bucket and layout
# ---------------------------------------------------------------------------

variable "bucket_name" {
  description = "Name of the CDC bucket (the s3_sink module's bucket_name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "bucket_arn" {
  description = "ARN of the CDC bucket (the s3_sink module's bucket_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN (arn:<partition>:s3:::<bucket>)."
  }
}

variable "prefix" {
  description = "Key prefix of the CDC layout, as given to s3_sink: snapshots go under <prefix>/raw/<table>/, control records under <prefix>/backfill/<table>/. Empty string: the layout starts at the bucket root."
  type        = string
  default     = "cdc"
  nullable    = false

  validation {
    condition     = can(regex("^([A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*)?$", var.prefix))
    error_message = "prefix must be empty or slash-separated segments of letters, digits, '_', '.', '=', '-', with no leading, trailing or doubled slash."
  }
}

# ---------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------

variable "lambda_zip_path" {
  description = "Path of the zip that holds the ddb_cdc package (built by the root module)."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must be the path of a .zip file."
  }
}

variable "lambda_zip_base64sha256" {
  description = "Base64-encoded SHA-256 of the zip at lambda_zip_path, so a code change redeploys the function."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.lambda_zip_base64sha256))
    error_message = "lambda_zip_base64sha256 must be a base64-encoded SHA-256 digest (44 characters ending in '=')."
  }
}

variable "memory_size" {
  description = "Memory of the backfill function in MiB (CPU, and with it gzip and JSON throughput, grows with it)."
  type        = number
  default     = 1024
  nullable    = false

  validation {
    condition     = floor(var.memory_size) == var.memory_size && var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be a whole number of MiB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Timeout of one backfill invocation in seconds. An invocation stops reading pages when fewer than max(30 s, 3 x its slowest page) remain, returns its cursor, and the next invocation continues."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = floor(var.timeout) == var.timeout && var.timeout >= 60 && var.timeout <= 900
    error_message = "timeout must be a whole number of seconds from 60 to 900."
  }
}

variable "log_level" {
  description = "LOG_LEVEL passed to the backfill function."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Days the function's and the state machine's CloudWatch log groups keep events."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

# ---------------------------------------------------------------------------
# Tuning
# ---------------------------------------------------------------------------

variable "total_segments" {
  description = "Parallel-scan segments of a fresh scan (CDC_BACKFILL_SEGMENTS; the CLI's --segments overrides it per scan). In export mode, the most batches the export's data files are converted in. It also caps the cursor table mapping's parallelization factor (at most 10)."
  type        = number
  default     = 8
  nullable    = false

  validation {
    condition     = floor(var.total_segments) == var.total_segments && var.total_segments >= 1 && var.total_segments <= 1000
    error_message = "total_segments must be a whole number from 1 to 1000."
  }
}

variable "max_concurrency" {
  description = "Segments (or export batches) the state machine's Map runs at once (MaxConcurrency). Bounds the read load on the table together with read_units_per_second."
  type        = number
  default     = 8
  nullable    = false

  validation {
    condition     = floor(var.max_concurrency) == var.max_concurrency && var.max_concurrency >= 1 && var.max_concurrency <= 40
    error_message = "max_concurrency must be a whole number from 1 to 40."
  }
}

variable "page_size" {
  description = "Items per Scan request (Limit), hence per snapshot object (CDC_BACKFILL_PAGE_SIZE). A Scan page also stops at 1 MB."
  type        = number
  default     = 1000
  nullable    = false

  validation {
    condition     = floor(var.page_size) == var.page_size && var.page_size >= 1 && var.page_size <= 10000
    error_message = "page_size must be a whole number from 1 to 10000."
  }
}

variable "read_units_per_second" {
  description = "Read capacity units one segment may consume per second (CDC_BACKFILL_READ_UNITS_PER_SECOND); the table sees at most this times the segments running at once."
  type        = number
  default     = 200
  nullable    = false

  validation {
    condition     = floor(var.read_units_per_second) == var.read_units_per_second && var.read_units_per_second >= 1
    error_message = "read_units_per_second must be a whole number of at least 1."
  }
}

variable "retry" {
  description = "Retry of every state machine Task (throttling, Lambda errors, timeouts): the first retry after interval_seconds, each next one backoff_rate times later, at most max_delay_seconds apart, max_attempts retries in all. A segment that still fails is reported with its cursor, and resume continues it."
  type = object({
    interval_seconds  = optional(number, 2)
    max_attempts      = optional(number, 6)
    backoff_rate      = optional(number, 2)
    max_delay_seconds = optional(number, 60)
  })
  default  = {}
  nullable = false

  validation {
    condition     = floor(var.retry.interval_seconds) == var.retry.interval_seconds && var.retry.interval_seconds >= 1 && var.retry.interval_seconds <= 3600
    error_message = "retry.interval_seconds must be a whole number of seconds from 1 to 3600."
  }

  validation {
    condition     = floor(var.retry.max_attempts) == var.retry.max_attempts && var.retry.max_attempts >= 0 && var.retry.max_attempts <= 100
    error_message = "retry.max_attempts must be a whole number from 0 to 100."
  }

  validation {
    condition     = var.retry.backoff_rate >= 1 && var.retry.backoff_rate <= 10
    error_message = "retry.backoff_rate must be a number from 1 to 10."
  }

  validation {
    condition     = floor(var.retry.max_delay_seconds) == var.retry.max_delay_seconds && var.retry.max_delay_seconds >= 1 && var.retry.max_delay_seconds <= 3600
    error_message = "retry.max_delay_seconds must be a whole number of seconds from 1 to 3600."
  }
}

variable "export_poll_seconds" {
  description = "mode = \"export\": seconds the state machine waits between two status checks of the running export."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = floor(var.export_poll_seconds) == var.export_poll_seconds && var.export_poll_seconds >= 5 && var.export_poll_seconds <= 3600
    error_message = "export_poll_seconds must be a whole number of seconds from 5 to 3600."
  }
}

variable "max_attempts" {
  description = "mode = \"checkpoint_table\": invocations one segment may fail in a row before its cursor item is marked FAILED (CDC_BACKFILL_MAX_ATTEMPTS); resume sets it RUNNING again."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = floor(var.max_attempts) == var.max_attempts && var.max_attempts >= 1 && var.max_attempts <= 100
    error_message = "max_attempts must be a whole number from 1 to 100."
  }
}
