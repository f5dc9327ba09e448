# ---------------------------------------------------------------------------
# Common
# ---------------------------------------------------------------------------

variable "tags" {
  description = "Tags added to every taggable resource this module creates."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key that encrypts the created bucket (SSE-KMS with an S3 Bucket Key) unless kms_keys.bucket names another. null: SSE-S3. An adopted bucket keeps its own encryption; pass its key to the writer instead (the stream_writer module's kms_key_arn or kms_keys.bucket)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "kms_keys" {
  description = "Per-purpose customer managed keys, as every module of this repository takes them: only bucket (the created bucket's SSE-KMS key) is used here, and an unset bucket takes kms_key_arn. Other entries (table, queues, logs) are accepted and ignored, so the root can pass one kms_keys to every module."
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
  description = "Name of the DynamoDB table whose changes land here; it names the raw/ and quarantine/ key prefixes (the raw_prefix and quarantine_prefix outputs)."
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
