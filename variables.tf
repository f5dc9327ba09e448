# Inputs of the root module. Optional fields left unset take the submodule's default, so every default
# lives in exactly one place: the submodule's variables.tf (see modules/*/README.md).

variable "name" {
  description = "Name prefix for every resource this module creates (lowercase letters, digits and hyphens, 1-40 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name))
    error_message = "name must start with a lowercase letter and hold only lowercase letters, digits and hyphens (1-40 characters)."
  }

  # Names and descriptions built from name, table.name, bucket.name, bucket.prefix and target_spec must fit AWS's
  # limits (checks.tf lists them), or the apply fails half-way. Checked on name, the prefix of them all (the table
  # name, their longest part, cannot carry it: target_spec's own checks read the table's key schema).
  validation {
    condition = length([for entry in local.check_derived : entry if length(replace(entry.value, "{name}", var.name)) > entry.limit]) == 0
    error_message = join("\n", concat(
      ["With table.name = \"${var.table.name}\" (${length(var.table.name)} characters), name = \"${var.name}\", bucket.name = \"${var.bucket.name}\", bucket.prefix and target_spec.schema/table, these values would exceed AWS's limits:"],
      [for entry in local.check_derived : "- ${replace(entry.what, "{name}", var.name)}: ${length(replace(entry.value, "{name}", var.name))} characters, limit ${entry.limit}: \"${replace(entry.value, "{name}", var.name)}\"" if length(replace(entry.value, "{name}", var.name)) > entry.limit],
      ["Shorten bucket.prefix, bucket.name, name or target_spec.schema/table (the table name of an adopted table is fixed)."],
    ))
  }
}

variable "aggregation" {
  description = <<-EOT
    How stream changes become S3 objects.
    "lambda": the writer function puts one gzip NDJSON object per stream batch (tune stream_mapping.batch_size and
    maximum_batching_window_in_seconds). "firehose": the writer function puts records to Kinesis Data Firehose,
    which buffers them into larger objects (tune firehose.buffering_size_mb and buffering_interval_seconds).
  EOT
  type        = string
  default     = "lambda"
  nullable    = false

  validation {
    condition     = contains(["lambda", "firehose"], var.aggregation)
    error_message = "aggregation must be \"lambda\" or \"firehose\"."
  }
}

variable "table" {
  description = <<-EOT
    The DynamoDB source table. create = false (default) adopts the existing table `name`, whose stream must already be on
    (NEW_IMAGE or NEW_AND_OLD_IMAGES). create = true creates it on demand with a NEW_AND_OLD_IMAGES stream; hash_key
    (and optionally range_key) are then required, as { name, type } with type S, N or B.
  EOT
  type = object({
    name                   = string
    create                 = optional(bool, false)
    hash_key               = optional(object({ name = string, type = string }))
    range_key              = optional(object({ name = string, type = string }))
    point_in_time_recovery = optional(bool)
    deletion_protection    = optional(bool)
  })
  nullable = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table.name))
    error_message = "table.name must be a DynamoDB table name: 3-255 letters, digits, '_', '-' and '.'."
  }

  validation {
    condition     = !var.table.create || var.table.hash_key != null
    error_message = "table.create = true needs table.hash_key, e.g. hash_key = { name = \"pk\", type = \"S\" }. To adopt an existing table instead, set table.create = false (its key schema is read from AWS)."
  }

  validation {
    condition     = alltrue([for key in [var.table.hash_key, var.table.range_key] : key == null || try(contains(["S", "N", "B"], key.type), false)])
    error_message = "table.hash_key.type and table.range_key.type must be S (string), N (number) or B (binary)."
  }
}

variable "stream_mapping" {
  description = "Event source mapping from the stream to the writer: batch_size, maximum_batching_window_in_seconds, parallelization_factor, starting_position, bisect_batch_on_function_error, maximum_retry_attempts, maximum_record_age_in_seconds, filter_patterns. Unset fields take modules/ddb_stream's defaults."
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
  default  = {}
  nullable = false
}

variable "iterator_age_alarm_threshold_ms" {
  description = "Alarm when the writer's stream iterator age (how far it is behind the table) exceeds this many milliseconds. null: modules/ddb_stream's default."
  type        = number
  default     = null
}

variable "bucket" {
  description = <<-EOT
    The S3 bucket for change files. create is required, so that forgetting it can never take over a bucket you own:
    create = true creates the bucket `name` (TLS-only policy, public access blocked, SSE-S3 or SSE-KMS with kms_key_arn,
    lifecycle on raw/); create = false adopts your existing bucket `name` and leaves its policy, lifecycle and
    encryption alone (output tls_only_policy_json holds the statements to add). load_strategy = "s3_event" would replace
    an adopted bucket's whole notification configuration, so it is refused with create = false unless
    loader.s3_event.replace_bucket_notifications = true. prefix is the key prefix of every object ("" for none).
  EOT
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
  nullable = false

  # CreateBucket in us-east-1 answers 200 OK for a bucket the caller already owns (other regions answer
  # BucketAlreadyOwnedByYou), so a create = true defaulted by omission could plan policy, lifecycle and encryption
  # onto an existing bucket. See the S3 API reference, CreateBucket, "BucketAlreadyOwnedByYou".
  validation {
    condition     = var.bucket.create != null
    error_message = "bucket.create must be set. bucket.create = true creates a new bucket named \"${var.bucket.name}\" with this module's policy, lifecycle and encryption; bucket.create = false adopts your existing bucket \"${var.bucket.name}\" and changes none of them. (There is no default: in us-east-1 creating a bucket you already own succeeds silently, and the stack would take it over.)"
  }

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket.name)) && !can(regex("\\.\\.|^[0-9.]+$|^xn--|-s3alias$|--ol-s3$", var.bucket.name))
    error_message = "bucket.name must be an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, no \"..\", not an IP address."
  }

  validation {
    condition     = var.bucket.prefix == null || can(regex("^([A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*)?$", coalesce(var.bucket.prefix, "x")))
    error_message = "bucket.prefix must be empty or slash-separated segments of letters, digits, '_', '.', '=', '-', with no leading, trailing or doubled slash (e.g. \"cdc\" or \"teams/orders\")."
  }

  validation {
    condition     = var.bucket.access_log_target == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", try(var.bucket.access_log_target.bucket_name, "")))
    error_message = "bucket.access_log_target.bucket_name must be an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)."
  }

  # aws_s3_bucket_notification owns a bucket's whole notification configuration: with s3_event it would delete
  # whatever notifications an adopted bucket already sends (S3 API reference, PutBucketNotificationConfiguration:
  # "This action replaces the existing notification configuration").
  validation {
    condition     = var.bucket.create != false || var.load_strategy != "s3_event" || try(var.loader.s3_event.replace_bucket_notifications, null) == true
    error_message = "load_strategy = \"s3_event\" (the default) replaces the whole notification configuration of bucket \"${var.bucket.name}\", and bucket.create = false says you already own it: any notification it sends today would be deleted. Either set load_strategy = \"schedule\" (the loader lists new files every loader.schedule.rate_minutes; the bucket is left alone), or, if this stack may own the bucket's notifications, acknowledge it with loader = { s3_event = { replace_bucket_notifications = true } }."
  }
}

variable "firehose" {
  description = "Firehose buffering when aggregation = \"firehose\": buffering_size_mb (1-128) and buffering_interval_seconds (0-900). Unset fields take modules/firehose's defaults. Ignored for aggregation = \"lambda\"."
  type = object({
    buffering_size_mb          = optional(number)
    buffering_interval_seconds = optional(number)
  })
  default  = {}
  nullable = false

  # modules/firehose's rules, in firehose.* words.
  # Whole numbers in range: the table is local.input_ranges["firehose"] (checks.tf).
  validation {
    condition     = length([for c in [for field, limits in local.input_ranges["firehose"] : merge(limits, { field = field, value = try(var.firehose[field], null) })] : c.field if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)]) == 0
    error_message = join(" ", [for c in [for field, limits in local.input_ranges["firehose"] : merge(limits, { field = field, value = try(var.firehose[field], null) })] : "firehose.${c.field} must be a whole number ${c.max == null ? "of at least ${c.min}" : "from ${c.min} to ${c.max}"} (got ${c.value})." if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)])
  }
}

variable "writer" {
  description = "The writer Lambda function: memory_size (MiB), timeout (s), reserved_concurrent_executions, tracing_mode (PassThrough or Active), log_level, log_retention_days. Unset fields take the sink module's defaults."
  type = object({
    memory_size                    = optional(number)
    timeout                        = optional(number)
    reserved_concurrent_executions = optional(number)
    tracing_mode                   = optional(string)
    log_level                      = optional(string)
    log_retention_days             = optional(number)
  })
  default  = {}
  nullable = false

  # The sink modules' rules, in writer.* words.
  # Whole numbers in range: the table is local.input_ranges["writer"] (checks.tf).
  validation {
    condition     = length([for c in [for field, limits in local.input_ranges["writer"] : merge(limits, { field = field, value = try(var.writer[field], null) })] : c.field if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)]) == 0
    error_message = join(" ", [for c in [for field, limits in local.input_ranges["writer"] : merge(limits, { field = field, value = try(var.writer[field], null) })] : "writer.${c.field} must be a whole number ${c.max == null ? "of at least ${c.min}" : "from ${c.min} to ${c.max}"} (got ${c.value})." if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)])
  }

  validation {
    condition     = var.writer.tracing_mode == null || contains(["PassThrough", "Active"], coalesce(var.writer.tracing_mode, "PassThrough"))
    error_message = "writer.tracing_mode must be PassThrough or Active."
  }

  validation {
    condition     = var.writer.log_level == null || contains(["DEBUG", "INFO", "WARNING", "ERROR"], coalesce(var.writer.log_level, "INFO"))
    error_message = "writer.log_level must be DEBUG, INFO, WARNING or ERROR."
  }

  validation {
    condition     = var.writer.log_retention_days == null || contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], coalesce(var.writer.log_retention_days, 30))
    error_message = "writer.log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the table, bucket, queues, logs and Firehose. null: AWS-managed encryption (SSE-S3, AWS-owned keys)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn)) || can(regex("(^alias/|:alias/)", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }

  # An alias is refused rather than resolved: the key ARN goes into IAM policies' Resource element, where an alias
  # name or alias ARN does not identify the key (KMS Developer Guide, "Specifying KMS keys in IAM policy statements"),
  # and resolving it here would make every plan depend on kms:DescribeKey and on the alias never being re-pointed.
  validation {
    condition     = var.kms_key_arn == null || !can(regex("(^alias/|:alias/)", coalesce(var.kms_key_arn, "-")))
    error_message = format("kms_key_arn = %q is a KMS alias; give the key ARN it points to, because IAM policies grant on key ARNs, not aliases. Look it up with: aws kms describe-key --key-id %s --query KeyMetadata.Arn --output text  (or in Terraform: kms_key_arn = data.aws_kms_alias.<name>.target_key_arn).", coalesce(var.kms_key_arn, "-"), replace(coalesce(var.kms_key_arn, "-"), "/^.*:(alias\\/)/", "$1"))
  }
}

variable "kms_keys" {
  description = <<-EOT
    Separate customer managed keys per purpose, for teams that keep them apart: table (the DynamoDB table and the
    backfill's cursor table), bucket (the CDC objects, SSE-KMS), queues (the SQS queues and the Firehose stream), logs
    (the CloudWatch log groups). An unset entry takes kms_key_arn, which also keeps encrypting the functions'
    environment, the schedules, EMR's local disks and the ec2_cron host's volume. Every role's KMS grant follows the key
    that encrypts what it touches, usable only through that service (kms:ViaService).
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
    error_message = "Every kms_keys entry (table, bucket, queues, logs) must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias: IAM policies grant on key ARNs. Resolve an alias with data.aws_kms_alias.<name>.target_key_arn."
  }
}

variable "alarm_actions" {
  description = "More SNS topic ARNs for every alarm of the stack (writer errors, DLQ depth, iterator age, Firehose freshness, loader alarms). The alert topic (output load_alerts_topic_arn) is always notified too."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}

# ---------------------------------------------------------------------------
# Warehouse loader (modules/redshift_loader)
# ---------------------------------------------------------------------------

variable "load_strategy" {
  description = <<-EOT
    What triggers a load into Redshift. "s3_event" (default): S3 notifications -> SQS -> loader with a batching window
    (one COPY per window; this stack then owns the bucket's notification configuration). "schedule": EventBridge
    Scheduler every loader.schedule.rate_minutes; each run loads every file not yet in the ledger. "ec2_cron": one
    instance in an Auto Scaling group of one (in ec2_cron.subnet_ids) runs the loader CLI from a systemd timer every
    ec2_cron.rate_minutes, under the loader's role. "emr_compaction": every hour at minute emr_compaction.grace_minutes
    a Step Functions run merges the previous hour's raw files into a few large ones with s3-dist-cp on a transient EMR
    cluster (in emr_compaction.subnet_id), terminates it and loads the compacted files; a reconciliation schedule loads
    whatever a failed run left.
  EOT
  type        = string
  default     = "s3_event"
  nullable    = false

  validation {
    condition     = contains(["s3_event", "schedule", "ec2_cron", "emr_compaction"], var.load_strategy)
    error_message = "load_strategy must be \"s3_event\", \"schedule\", \"ec2_cron\" or \"emr_compaction\"."
  }
}

variable "ec2_cron" {
  description = <<-EOT
    The loader host when load_strategy = "ec2_cron" (modules/ec2_cron; ignored otherwise). subnet_ids (required, at
    least one; they need a route to AWS APIs and the package repositories), instance_type (default "t4g.nano"),
    architecture ("arm64" or "x86_64"; default: the instance type's, arm64 for t4g.nano), rate_minutes (1-1440, default 5:
    the systemd timer's cadence, which the lag alarm follows), root_volume_size_gb (8-1024, default 8),
    ami_ssm_parameter (default /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-<architecture>; Amazon
    Linux 2023 only), log_retention_days (default 30). Unset fields take modules/ec2_cron's defaults.
  EOT
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

  validation {
    condition     = var.load_strategy != "ec2_cron" || length(var.ec2_cron.subnet_ids) >= 1
    error_message = "ec2_cron.subnet_ids must name at least one subnet when load_strategy = \"ec2_cron\": the loader host's Auto Scaling group places its instance there."
  }

  validation {
    condition     = alltrue([for id in var.ec2_cron.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "ec2_cron.subnet_ids must be subnet IDs (subnet-...)."
  }

  validation {
    condition     = var.ec2_cron.instance_type == null || can(regex("^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.[a-z0-9]+$", coalesce(var.ec2_cron.instance_type, "t4g.nano")))
    error_message = "ec2_cron.instance_type must be an EC2 instance type such as t4g.nano or t3.micro."
  }

  validation {
    condition     = var.ec2_cron.architecture == null || contains(["arm64", "x86_64"], coalesce(var.ec2_cron.architecture, "arm64"))
    error_message = "ec2_cron.architecture must be \"arm64\" or \"x86_64\"."
  }

  # Only when both are given: an unset architecture follows the instance type, and an unset instance type is t4g.nano.
  validation {
    condition = (
      var.ec2_cron.architecture == null || var.ec2_cron.instance_type == null ||
      try(var.ec2_cron.architecture == (can(regex("^([a-z]+[0-9]+g|a1\\.)", var.ec2_cron.instance_type)) ? "arm64" : "x86_64"), true)
    )
    error_message = "ec2_cron.architecture must match ec2_cron.instance_type: Graviton families (t4g, m7g, c7gn, ...) run arm64, the others x86_64. Leave architecture unset to follow the instance type."
  }

  validation {
    condition     = var.ec2_cron.rate_minutes == null || try(floor(var.ec2_cron.rate_minutes) == var.ec2_cron.rate_minutes && var.ec2_cron.rate_minutes >= 1 && var.ec2_cron.rate_minutes <= 1440, false)
    error_message = "ec2_cron.rate_minutes must be a whole number of minutes from 1 to 1440."
  }

  validation {
    condition     = var.ec2_cron.root_volume_size_gb == null || try(floor(var.ec2_cron.root_volume_size_gb) == var.ec2_cron.root_volume_size_gb && var.ec2_cron.root_volume_size_gb >= 8 && var.ec2_cron.root_volume_size_gb <= 1024, false)
    error_message = "ec2_cron.root_volume_size_gb must be a whole number of GiB from 8 to 1024 (Amazon Linux 2023 needs 8)."
  }

  validation {
    condition     = var.ec2_cron.ami_ssm_parameter == null || can(regex("^/[A-Za-z0-9_./-]+$", coalesce(var.ec2_cron.ami_ssm_parameter, "/")))
    error_message = "ec2_cron.ami_ssm_parameter must be an SSM parameter name starting with \"/\", e.g. /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64."
  }

  validation {
    condition     = var.ec2_cron.log_retention_days == null || contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], coalesce(var.ec2_cron.log_retention_days, 30))
    error_message = "ec2_cron.log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "emr_compaction" {
  description = <<-EOT
    The hourly compaction when load_strategy = "emr_compaction" (modules/emr_compaction; ignored otherwise). subnet_id
    (required: the clusters' subnet; it needs a route to S3 and the tag for-use-with-amazon-emr-managed-policies = true),
    release_label (emr-6.1.0 or later, default "emr-7.2.0"), master_instance_type and core_instance_type (default
    "m5.xlarge"), core_instance_count (0-20, default 1; 0: a single-node cluster), core_spot (default false),
    target_size_mb (1-1024, default 64: s3-dist-cp's target file size), grace_minutes (1-59, default 15: the minute of
    every hour a run starts), idle_timeout_seconds (60-604800, default 900: idle auto-termination), step_timeout_seconds
    (60-86400, default 3600), cluster_timeout_seconds (300-7200, default 1800), reconcile_rate_minutes (1-1440,
    default 60: the loader's reconciliation schedule, which the lag alarm follows), log_retention_days (1-3650,
    default 30: S3 lifecycle of the compaction/, compacted/ and emr-logs/ prefixes of a created bucket),
    additional_security_group_ids (at most 4), emr_managed_master_security_group_id and emr_managed_core_security_group_id
    (together or neither), service_access_security_group_id, schedule_enabled (default true; false pauses the hourly
    runs: the loader's own schedule then loads every raw file uncompacted, as load_strategy = "schedule" does). Unset fields take the
    submodules' defaults.
  EOT
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
    schedule_enabled                     = optional(bool)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.load_strategy != "emr_compaction" || var.emr_compaction.subnet_id != null
    error_message = "emr_compaction.subnet_id is required when load_strategy = \"emr_compaction\": the compaction clusters start in that subnet."
  }

  validation {
    condition     = var.emr_compaction.subnet_id == null || can(regex("^subnet-[0-9a-f]+$", coalesce(var.emr_compaction.subnet_id, "subnet-0")))
    error_message = "emr_compaction.subnet_id must be a subnet ID (subnet-...)."
  }

  validation {
    condition     = var.emr_compaction.release_label == null || can(regex("^emr-[0-9]+\\.[0-9]+\\.[0-9]+$", coalesce(var.emr_compaction.release_label, "emr-7.2.0")))
    error_message = "emr_compaction.release_label must look like emr-7.2.0."
  }

  validation {
    condition = var.emr_compaction.release_label == null || try(
      tonumber(split(".", trimprefix(var.emr_compaction.release_label, "emr-"))[0]) > 6 ||
      (tonumber(split(".", trimprefix(var.emr_compaction.release_label, "emr-"))[0]) == 6 && tonumber(split(".", trimprefix(var.emr_compaction.release_label, "emr-"))[1]) >= 1),
      false
    )
    error_message = "emr_compaction.release_label must be emr-6.1.0 or later: older releases have no idle auto-termination, the net under a cluster a run could not terminate."
  }

  validation {
    condition = alltrue([
      for t in [var.emr_compaction.master_instance_type, var.emr_compaction.core_instance_type] :
      t == null || can(regex("^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.[a-z0-9]+$", coalesce(t, "m5.xlarge")))
    ])
    error_message = "emr_compaction.master_instance_type and emr_compaction.core_instance_type must be EC2 instance types such as m5.xlarge."
  }

  validation {
    condition     = var.emr_compaction.core_instance_count == null || try(floor(var.emr_compaction.core_instance_count) == var.emr_compaction.core_instance_count && var.emr_compaction.core_instance_count >= 0 && var.emr_compaction.core_instance_count <= 20, false)
    error_message = "emr_compaction.core_instance_count must be a whole number from 0 to 20 (0: a single-node cluster)."
  }

  validation {
    condition     = var.emr_compaction.target_size_mb == null || try(floor(var.emr_compaction.target_size_mb) == var.emr_compaction.target_size_mb && var.emr_compaction.target_size_mb >= 1 && var.emr_compaction.target_size_mb <= 1024, false)
    error_message = "emr_compaction.target_size_mb must be a whole number of MiB from 1 to 1024."
  }

  validation {
    condition     = var.emr_compaction.grace_minutes == null || try(floor(var.emr_compaction.grace_minutes) == var.emr_compaction.grace_minutes && var.emr_compaction.grace_minutes >= 1 && var.emr_compaction.grace_minutes <= 59, false)
    error_message = "emr_compaction.grace_minutes must be a whole number of minutes from 1 to 59 (the minute of every hour a run starts)."
  }

  validation {
    condition     = var.emr_compaction.idle_timeout_seconds == null || try(floor(var.emr_compaction.idle_timeout_seconds) == var.emr_compaction.idle_timeout_seconds && var.emr_compaction.idle_timeout_seconds >= 60 && var.emr_compaction.idle_timeout_seconds <= 604800, false)
    error_message = "emr_compaction.idle_timeout_seconds must be a whole number of seconds from 60 to 604800 (EMR's limits for idle auto-termination)."
  }

  validation {
    condition     = var.emr_compaction.step_timeout_seconds == null || try(floor(var.emr_compaction.step_timeout_seconds) == var.emr_compaction.step_timeout_seconds && var.emr_compaction.step_timeout_seconds >= 60 && var.emr_compaction.step_timeout_seconds <= 86400, false)
    error_message = "emr_compaction.step_timeout_seconds must be a whole number of seconds from 60 to 86400."
  }

  validation {
    condition     = var.emr_compaction.cluster_timeout_seconds == null || try(floor(var.emr_compaction.cluster_timeout_seconds) == var.emr_compaction.cluster_timeout_seconds && var.emr_compaction.cluster_timeout_seconds >= 300 && var.emr_compaction.cluster_timeout_seconds <= 7200, false)
    error_message = "emr_compaction.cluster_timeout_seconds must be a whole number of seconds from 300 to 7200."
  }

  validation {
    condition     = var.emr_compaction.reconcile_rate_minutes == null || try(floor(var.emr_compaction.reconcile_rate_minutes) == var.emr_compaction.reconcile_rate_minutes && var.emr_compaction.reconcile_rate_minutes >= 1 && var.emr_compaction.reconcile_rate_minutes <= 1440, false)
    error_message = "emr_compaction.reconcile_rate_minutes must be a whole number of minutes from 1 to 1440."
  }

  validation {
    condition     = var.emr_compaction.log_retention_days == null || try(floor(var.emr_compaction.log_retention_days) == var.emr_compaction.log_retention_days && var.emr_compaction.log_retention_days >= 1 && var.emr_compaction.log_retention_days <= 3650, false)
    error_message = "emr_compaction.log_retention_days must be a whole number of days from 1 to 3650."
  }

  validation {
    condition     = length(coalesce(var.emr_compaction.additional_security_group_ids, [])) <= 4 && alltrue([for id in coalesce(var.emr_compaction.additional_security_group_ids, []) : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "emr_compaction.additional_security_group_ids must hold at most 4 security group IDs (sg-...)."
  }

  validation {
    condition = alltrue([
      for id in [var.emr_compaction.emr_managed_master_security_group_id, var.emr_compaction.emr_managed_core_security_group_id, var.emr_compaction.service_access_security_group_id] :
      id == null || can(regex("^sg-[0-9a-f]+$", coalesce(id, "sg-0")))
    ])
    error_message = "emr_compaction.emr_managed_master_security_group_id, emr_compaction.emr_managed_core_security_group_id and emr_compaction.service_access_security_group_id must be security group IDs (sg-...)."
  }

  validation {
    condition     = (var.emr_compaction.emr_managed_master_security_group_id == null) == (var.emr_compaction.emr_managed_core_security_group_id == null)
    error_message = "Set emr_compaction.emr_managed_master_security_group_id and emr_compaction.emr_managed_core_security_group_id together, or neither."
  }
}

variable "redshift" {
  description = <<-EOT
    The warehouse and how the loader reaches it. kind = "provisioned" (cluster_identifier plus db_user or secret_arn) or
    "serverless" (workgroup_name); database. executor "data_api" (default; data_api_mode "async" or "poll") or "psycopg2"
    (vpc, psycopg2_layer_zip (the zip `make layer` builds; the module publishes it) or psycopg2_layer_arn (your own
    layer), db_secret_arn or db_ssm_parameter_arn, and db_sslmode: "verify-full" by default, so the secret's host
    must be the endpoint the certificate names; "verify-ca" or "require" to relax it; db_sslrootcert for your own CA
    bundle inside the function). COPY role: copy_role_arn, or
    create_copy_role = true (then associate the copy_role_arn output with the cluster or namespace).
    Validated by modules/redshift_loader; unset optional fields take its defaults.
  EOT
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
    psycopg2_layer_zip   = optional(string)
    db_sslmode           = optional(string)
    db_sslrootcert       = optional(string)
    vpc = optional(object({
      subnet_ids         = list(string)
      security_group_ids = list(string)
    }))
  })
  nullable = false

  # The rules of modules/redshift_loader (target, executor, ...), repeated here so that the error names redshift.*,
  # what the user typed, and fires before the submodule's.
  validation {
    condition     = contains(["provisioned", "serverless"], var.redshift.kind)
    error_message = "redshift.kind must be \"provisioned\" (a cluster: cluster_identifier) or \"serverless\" (a workgroup: workgroup_name)."
  }

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_$]{0,126}$", var.redshift.database))
    error_message = "redshift.database must be a Redshift database name: a letter or underscore, then up to 126 letters, digits, '_' or '$'."
  }

  validation {
    condition = var.redshift.kind != "provisioned" || (
      var.redshift.cluster_identifier != null && var.redshift.workgroup_name == null && (var.redshift.db_user == null) != (var.redshift.secret_arn == null)
    )
    error_message = "redshift.kind = \"provisioned\" needs redshift.cluster_identifier and exactly one of redshift.db_user or redshift.secret_arn, and no redshift.workgroup_name."
  }

  validation {
    condition = var.redshift.kind != "serverless" || (
      var.redshift.workgroup_name != null && var.redshift.cluster_identifier == null && var.redshift.db_user == null && var.redshift.secret_arn == null
    )
    error_message = "redshift.kind = \"serverless\" needs redshift.workgroup_name and none of redshift.cluster_identifier, redshift.db_user or redshift.secret_arn (the database user is derived from the loader's role)."
  }

  validation {
    condition     = var.redshift.workgroup_name == null || can(regex("^[a-z0-9-]{3,64}$", coalesce(var.redshift.workgroup_name, "-")))
    error_message = "redshift.workgroup_name must be a Redshift Serverless workgroup name: 3-64 lowercase letters, digits and hyphens."
  }

  validation {
    condition     = var.redshift.cluster_identifier == null || (can(regex("^[a-z][a-z0-9-]{0,62}$", coalesce(var.redshift.cluster_identifier, "-"))) && !can(regex("--|-$", coalesce(var.redshift.cluster_identifier, "-"))))
    error_message = "redshift.cluster_identifier must be a Redshift cluster identifier: 1-63 lowercase letters, digits and single hyphens, starting with a letter."
  }

  validation {
    condition     = var.redshift.db_user == null || can(regex("^[A-Za-z_][A-Za-z0-9_$]{0,126}$", coalesce(var.redshift.db_user, "-")))
    error_message = "redshift.db_user must be a Redshift user name: a letter or underscore, then up to 126 letters, digits, '_' or '$'."
  }

  validation {
    condition = alltrue([
      for arn in [var.redshift.secret_arn, var.redshift.db_secret_arn] : arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", coalesce(arn, "-")))
    ])
    error_message = "redshift.secret_arn and redshift.db_secret_arn must be Secrets Manager secret ARNs (arn:aws:secretsmanager:<region>:<account>:secret:<name>)."
  }

  validation {
    condition     = var.redshift.executor == null || contains(["data_api", "psycopg2"], coalesce(var.redshift.executor, "data_api"))
    error_message = "redshift.executor must be \"data_api\" or \"psycopg2\"."
  }

  validation {
    condition     = var.redshift.data_api_mode == null || contains(["async", "poll"], coalesce(var.redshift.data_api_mode, "async"))
    error_message = "redshift.data_api_mode must be \"async\" or \"poll\"."
  }

  validation {
    condition = var.redshift.executor != "psycopg2" || (
      (var.redshift.psycopg2_layer_arn == null) != (var.redshift.psycopg2_layer_zip == null) && (var.redshift.db_secret_arn == null) != (var.redshift.db_ssm_parameter_arn == null) &&
      try(length(var.redshift.vpc.subnet_ids) > 0 && length(var.redshift.vpc.security_group_ids) > 0, false)
    )
    error_message = "redshift.executor = \"psycopg2\" needs exactly one of redshift.psycopg2_layer_zip (the zip `make layer` builds) or redshift.psycopg2_layer_arn, exactly one of redshift.db_secret_arn or redshift.db_ssm_parameter_arn, and redshift.vpc with at least one subnet_id and one security_group_id."
  }

  validation {
    condition     = var.redshift.db_sslmode == null || contains(["verify-full", "verify-ca", "require"], coalesce(var.redshift.db_sslmode, "-"))
    error_message = "redshift.db_sslmode must be \"verify-full\" (the default), \"verify-ca\" or \"require\"; the loader never connects without TLS."
  }

  validation {
    condition     = var.redshift.psycopg2_layer_zip == null || try(endswith(var.redshift.psycopg2_layer_zip, ".zip") && fileexists(var.redshift.psycopg2_layer_zip), false)
    error_message = "redshift.psycopg2_layer_zip must name an existing .zip: run `make layer` in this module's repository (it writes .build/layers/psycopg2-binary-<version>-py3.12-x86_64.zip), or give redshift.psycopg2_layer_arn."
  }

  validation {
    condition     = (var.redshift.copy_role_arn == null) == (var.redshift.create_copy_role == true)
    error_message = "Set exactly one of redshift.copy_role_arn (a role already associated with the cluster or workgroup) or redshift.create_copy_role = true (then associate the copy_role_arn output with it)."
  }

  validation {
    condition     = var.redshift.copy_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.redshift.copy_role_arn, "-")))
    error_message = "redshift.copy_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "target_spec" {
  description = <<-EOT
    The Redshift target table: schema, table, mode ("document": key columns + a SUPER document + metadata, the default;
    "columns": the declared columns, each { name, type, path } with path the JSON path into the item), history (also
    append every change to <table>_history), key_column_types (SQL type per key attribute for its typed column),
    key_column_names (SQL column name per key attribute, needed when the attribute name is a reserved SQL word such as
    "timestamp" or "user"). The key attributes themselves come from the DynamoDB table's key schema. Validated by
    modules/redshift_loader.
  EOT
  type = object({
    schema           = string
    table            = string
    mode             = optional(string)
    columns          = optional(list(object({ name = string, type = string, path = list(string) })))
    history          = optional(bool)
    key_column_types = optional(map(string))
    key_column_names = optional(map(string))
  })
  nullable = false

  # What the loader refuses with ConfigError at every load (lambda_src/ddb_cdc/warehouse/model.py and identifiers.py),
  # refused here at plan time instead, in target_spec's words. The column list (key columns after key_column_names,
  # declared columns, "doc" in document mode) is spelled out in each rule: a validation may not read a local value
  # that reads the variable it validates (Terraform reports a cycle), and HCL has no functions of our own.
  # For each rule, "for cols in [<the column list>]" binds the list once.
  validation {
    condition = (
      can(regex("^[A-Za-z_][A-Za-z0-9_]{0,126}$", var.target_spec.schema)) && can(regex("^[A-Za-z_][A-Za-z0-9_]{0,126}$", var.target_spec.table)) &&
      !contains(local.sql_reserved_words, lower(var.target_spec.schema)) && !contains(local.sql_reserved_words, lower(var.target_spec.table)) &&
      !startswith(lower(var.target_spec.schema), "pg_")
    )
    error_message = "target_spec.schema (\"${var.target_spec.schema}\") and target_spec.table (\"${var.target_spec.table}\") must be SQL names (letters, digits and underscores, not starting with a digit, at most 127) that are not reserved SQL words (lambda_src/ddb_cdc/warehouse/reserved_words.json), and the schema must not start with pg_."
  }

  validation {
    condition     = length(var.target_spec.table) <= 119 && !contains(["cdc_stage", "cdc_latest", "cdc_ledger"], lower(var.target_spec.table))
    error_message = "target_spec.table = \"${var.target_spec.table}\": at most 119 characters (the loader adds _history and _current), and not cdc_stage, cdc_latest or cdc_ledger (the load's own tables)."
  }

  validation {
    condition = var.target_spec != null && alltrue([
      for key in local.check_key_attributes : length(key.name) <= 127 && !can(regex("[\"\\\\\\x00-\\x1f\\x7f-\\x9f]", key.name))
    ])
    error_message = format("The table's key attribute names must be at most 127 characters without double quotes, backslashes or control characters (the loader reads them as JSON path segments); refused: %s.", join(", ", [for key in local.check_key_attributes : format("%q", key.name) if !(length(key.name) <= 127 && !can(regex("[\"\\\\\\x00-\\x1f\\x7f-\\x9f]", key.name)))]))
  }

  validation {
    condition = alltrue([for cols in [[for key in local.check_key_attributes : { from = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name) ? "target_spec.key_column_names[\"${key.name}\"]" : "key attribute \"${key.name}\"", attribute = key.name, mapped = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name), column = lower(lookup(coalesce(var.target_spec.key_column_names, {}), key.name, key.name)) }]] : alltrue([for c in cols : can(regex("^[A-Za-z_][A-Za-z0-9_]{0,126}$", c.column))])])
    error_message = join(" ", flatten([for cols in [[for key in local.check_key_attributes : { from = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name) ? "target_spec.key_column_names[\"${key.name}\"]" : "key attribute \"${key.name}\"", attribute = key.name, mapped = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name), column = lower(lookup(coalesce(var.target_spec.key_column_names, {}), key.name, key.name)) }]] : [
      for c in cols : (c.mapped ?
        "${c.from} = \"${c.column}\" is not a SQL column name (letters, digits and underscores, not starting with a digit, at most 127)." :
        "Key attribute \"${c.attribute}\" of table ${var.table.name} is not a SQL column name (letters, digits and underscores, not starting with a digit, at most 127): name its column in target_spec.key_column_names, e.g. key_column_names = { \"${c.attribute}\" = \"${replace(replace(c.column, "/[^a-z0-9_]/", "_"), "/^([0-9])/", "_$1")}\" }."
      ) if !can(regex("^[A-Za-z_][A-Za-z0-9_]{0,126}$", c.column))
    ]]))
  }

  validation {
    condition = alltrue([for cols in [concat([for key in local.check_key_attributes : { from = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name) ? "target_spec.key_column_names[\"${key.name}\"]" : "key attribute \"${key.name}\"", attribute = key.name, mapped = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name), column = lower(lookup(coalesce(var.target_spec.key_column_names, {}), key.name, key.name)) }], [for index, column in coalesce(var.target_spec.columns, []) : { from = "target_spec.columns[${index}].name", attribute = "", mapped = false, column = lower(column.name) } if coalesce(var.target_spec.mode, "document") == "columns"], [for doc in ["doc"] : { from = "the document column of mode = \"document\"", attribute = "", mapped = false, column = doc } if coalesce(var.target_spec.mode, "document") == "document"])] : alltrue([for c in cols : !contains(local.sql_reserved_words, c.column)])])
    error_message = join(" ", concat(
      flatten([for cols in [concat([for key in local.check_key_attributes : { from = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name) ? "target_spec.key_column_names[\"${key.name}\"]" : "key attribute \"${key.name}\"", attribute = key.name, mapped = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name), column = lower(lookup(coalesce(var.target_spec.key_column_names, {}), key.name, key.name)) }], [for index, column in coalesce(var.target_spec.columns, []) : { from = "target_spec.columns[${index}].name", attribute = "", mapped = false, column = lower(column.name) } if coalesce(var.target_spec.mode, "document") == "columns"], [for doc in ["doc"] : { from = "the document column of mode = \"document\"", attribute = "", mapped = false, column = doc } if coalesce(var.target_spec.mode, "document") == "document"])] : [for c in cols : "Column \"${c.column}\" (${c.from}) is a reserved SQL word, which the loader refuses." if contains(local.sql_reserved_words, c.column)]]),
      ["Choose another name: for a key attribute, target_spec.key_column_names = { <attribute> = \"<column>\" } (e.g. { user = \"user_id\" }); for a declared column, rename it in target_spec.columns. The list: lambda_src/ddb_cdc/warehouse/reserved_words.json."],
    ))
  }

  validation {
    condition     = alltrue([for cols in [concat([for key in local.check_key_attributes : { from = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name) ? "target_spec.key_column_names[\"${key.name}\"]" : "key attribute \"${key.name}\"", attribute = key.name, mapped = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name), column = lower(lookup(coalesce(var.target_spec.key_column_names, {}), key.name, key.name)) }], [for index, column in coalesce(var.target_spec.columns, []) : { from = "target_spec.columns[${index}].name", attribute = "", mapped = false, column = lower(column.name) } if coalesce(var.target_spec.mode, "document") == "columns"], [for doc in ["doc"] : { from = "the document column of mode = \"document\"", attribute = "", mapped = false, column = doc } if coalesce(var.target_spec.mode, "document") == "document"])] : alltrue([for c in cols : !startswith(c.column, "_cdc_")])])
    error_message = format("Column names starting with _cdc_ are the loader's own metadata columns (_cdc_key, _cdc_op, ...); rename %s.", join(", ", flatten([for cols in [concat([for key in local.check_key_attributes : { from = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name) ? "target_spec.key_column_names[\"${key.name}\"]" : "key attribute \"${key.name}\"", attribute = key.name, mapped = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name), column = lower(lookup(coalesce(var.target_spec.key_column_names, {}), key.name, key.name)) }], [for index, column in coalesce(var.target_spec.columns, []) : { from = "target_spec.columns[${index}].name", attribute = "", mapped = false, column = lower(column.name) } if coalesce(var.target_spec.mode, "document") == "columns"], [for doc in ["doc"] : { from = "the document column of mode = \"document\"", attribute = "", mapped = false, column = doc } if coalesce(var.target_spec.mode, "document") == "document"])] : [for c in cols : format("%s (%q)", c.from, c.column) if startswith(c.column, "_cdc_")]])))
  }

  validation {
    condition = alltrue([for cols in [concat([for key in local.check_key_attributes : { from = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name) ? "target_spec.key_column_names[\"${key.name}\"]" : "key attribute \"${key.name}\"", attribute = key.name, mapped = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name), column = lower(lookup(coalesce(var.target_spec.key_column_names, {}), key.name, key.name)) }], [for index, column in coalesce(var.target_spec.columns, []) : { from = "target_spec.columns[${index}].name", attribute = "", mapped = false, column = lower(column.name) } if coalesce(var.target_spec.mode, "document") == "columns"], [for doc in ["doc"] : { from = "the document column of mode = \"document\"", attribute = "", mapped = false, column = doc } if coalesce(var.target_spec.mode, "document") == "document"])] : alltrue([for c in cols : length([for o in cols : o if o.column == c.column]) == 1])])
    error_message = join(" ", concat(
      flatten([for cols in [concat([for key in local.check_key_attributes : { from = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name) ? "target_spec.key_column_names[\"${key.name}\"]" : "key attribute \"${key.name}\"", attribute = key.name, mapped = contains(keys(coalesce(var.target_spec.key_column_names, {})), key.name), column = lower(lookup(coalesce(var.target_spec.key_column_names, {}), key.name, key.name)) }], [for index, column in coalesce(var.target_spec.columns, []) : { from = "target_spec.columns[${index}].name", attribute = "", mapped = false, column = lower(column.name) } if coalesce(var.target_spec.mode, "document") == "columns"], [for doc in ["doc"] : { from = "the document column of mode = \"document\"", attribute = "", mapped = false, column = doc } if coalesce(var.target_spec.mode, "document") == "document"])] : [
        for name in distinct([for c in cols : c.column if length([for o in cols : o if o.column == c.column]) > 1]) :
        "Column \"${name}\" is used ${length([for o in cols : o if o.column == name])} times: ${join(", ", [for o in cols : o.from if o.column == name])}."
      ]]),
      ["Column names are compared lower-cased (Redshift folds unquoted names); give each its own name (a key column's through target_spec.key_column_names)."],
    ))
  }

  validation {
    condition     = alltrue([for name in keys(coalesce(var.target_spec.key_column_types, {})) : contains([for key in local.check_key_attributes : key.name], name)])
    error_message = format("target_spec.key_column_types may only name the table's key attributes (%s); it names %s.", join(", ", [for key in local.check_key_attributes : format("%q", key.name)]), join(", ", [for name in keys(coalesce(var.target_spec.key_column_types, {})) : format("%q", name) if !contains([for key in local.check_key_attributes : key.name], name)]))
  }
}

variable "loader" {
  description = <<-EOT
    Loader tuning; unset fields take modules/redshift_loader's defaults: s3_event (batch_size, maximum_batching_window_in_seconds,
    max_receive_count, reconcile_rate_minutes = 60: how often a scheduled pass loads every file not yet in the ledger,
    replace_bucket_notifications: must be true to use s3_event with an adopted bucket, whose existing notification
    configuration this stack then replaces), schedule, async_invocation, sns_topic_arn (your own alert topic; null: one is created), sns_topic_kms_key_arn (your
    key for the created topic; null: a key is created that CloudWatch and EventBridge may use), max_file_failures,
    schedule_lookback_hours, metric_namespace, lag_alarm_threshold_seconds, memory_size, timeout, completion_memory_size,
    completion_timeout, connect_timeout_seconds, statement_timeout_ms, log_level, log_retention_days.
  EOT
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

  # modules/redshift_loader's rules, in loader.* words.
  # Whole numbers in range: the table is local.input_ranges["loader"] (checks.tf).
  validation {
    condition     = length([for c in [for field, limits in local.input_ranges["loader"] : merge(limits, { field = field, value = try(var.loader[field], null) })] : c.field if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)]) == 0
    error_message = join(" ", [for c in [for field, limits in local.input_ranges["loader"] : merge(limits, { field = field, value = try(var.loader[field], null) })] : "loader.${c.field} must be a whole number ${c.max == null ? "of at least ${c.min}" : "from ${c.min} to ${c.max}"} (got ${c.value})." if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)])
  }

  # Whole numbers in range: the table is local.input_ranges["loader.s3_event"] (checks.tf).
  validation {
    condition     = length([for c in [for field, limits in local.input_ranges["loader.s3_event"] : merge(limits, { field = field, value = try(try(var.loader.s3_event, null)[field], null) })] : c.field if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)]) == 0
    error_message = join(" ", [for c in [for field, limits in local.input_ranges["loader.s3_event"] : merge(limits, { field = field, value = try(try(var.loader.s3_event, null)[field], null) })] : "loader.s3_event.${c.field} must be a whole number ${c.max == null ? "of at least ${c.min}" : "from ${c.min} to ${c.max}"} (got ${c.value})." if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)])
  }

  # Whole numbers in range: the table is local.input_ranges["loader.schedule"] (checks.tf).
  validation {
    condition     = length([for c in [for field, limits in local.input_ranges["loader.schedule"] : merge(limits, { field = field, value = try(try(var.loader.schedule, null)[field], null) })] : c.field if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)]) == 0
    error_message = join(" ", [for c in [for field, limits in local.input_ranges["loader.schedule"] : merge(limits, { field = field, value = try(try(var.loader.schedule, null)[field], null) })] : "loader.schedule.${c.field} must be a whole number ${c.max == null ? "of at least ${c.min}" : "from ${c.min} to ${c.max}"} (got ${c.value})." if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)])
  }

  # Whole numbers in range: the table is local.input_ranges["loader.async_invocation"] (checks.tf).
  validation {
    condition     = length([for c in [for field, limits in local.input_ranges["loader.async_invocation"] : merge(limits, { field = field, value = try(try(var.loader.async_invocation, null)[field], null) })] : c.field if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)]) == 0
    error_message = join(" ", [for c in [for field, limits in local.input_ranges["loader.async_invocation"] : merge(limits, { field = field, value = try(try(var.loader.async_invocation, null)[field], null) })] : "loader.async_invocation.${c.field} must be a whole number ${c.max == null ? "of at least ${c.min}" : "from ${c.min} to ${c.max}"} (got ${c.value})." if c.value != null && !try(floor(c.value) == c.value && c.value >= c.min && c.value <= coalesce(c.max, c.value), false)])
  }

  validation {
    condition     = var.loader.log_level == null || contains(["DEBUG", "INFO", "WARNING", "ERROR"], coalesce(var.loader.log_level, "INFO"))
    error_message = "loader.log_level must be DEBUG, INFO, WARNING or ERROR."
  }

  validation {
    condition     = var.loader.log_retention_days == null || contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], coalesce(var.loader.log_retention_days, 30))
    error_message = "loader.log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }

  validation {
    condition     = var.loader.metric_namespace == null || (can(regex("^[A-Za-z0-9._/#:-]{1,255}$", coalesce(var.loader.metric_namespace, "-"))) && !startswith(coalesce(var.loader.metric_namespace, "-"), "AWS/"))
    error_message = "loader.metric_namespace must be 1-255 characters of letters, digits and . _ / # : - and must not start with \"AWS/\"."
  }

  validation {
    condition     = var.loader.sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$", coalesce(var.loader.sns_topic_arn, "-")))
    error_message = "loader.sns_topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)."
  }

  validation {
    condition     = try(var.loader.s3_event.reconcile_rate_minutes, null) == null || try(floor(var.loader.s3_event.reconcile_rate_minutes) == var.loader.s3_event.reconcile_rate_minutes && var.loader.s3_event.reconcile_rate_minutes >= 1 && var.loader.s3_event.reconcile_rate_minutes <= 1440, false)
    error_message = "loader.s3_event.reconcile_rate_minutes must be a whole number of minutes from 1 to 1440."
  }

  validation {
    condition     = var.loader.sns_topic_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.loader.sns_topic_kms_key_arn))
    error_message = "loader.sns_topic_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias: the README lists the key-policy statements it needs."
  }

  validation {
    condition     = var.loader.sns_topic_kms_key_arn == null || var.loader.sns_topic_arn == null
    error_message = "loader.sns_topic_kms_key_arn encrypts the alert topic this stack creates; leave it unset when loader.sns_topic_arn names your own topic."
  }
}

# ---------------------------------------------------------------------------
# Backfill (modules/backfill)
# ---------------------------------------------------------------------------

variable "backfill" {
  description = <<-EOT
    Backfill of the items that existed before the stream (python -m ddb_cdc.cli backfill start|status|resume|cancel).
    mode: "none" (default: nothing is built), "step_functions" (a state machine maps over parallel-scan segments and loops
    the scan function per segment), "checkpoint_table" (a cursor table whose stream drives the scan function), "export"
    (ExportTableToPointInTime, then conversion; needs point-in-time recovery on the table). Tuning, unset fields taking
    modules/backfill's defaults: total_segments (1-1000, default 8), max_concurrency (segments at once, 1-40, default 8),
    page_size (items per Scan page, 1-10000, default 1000), read_units_per_second (per segment, default 200),
    retry ({ interval_seconds = 2, max_attempts = 6, backoff_rate = 2, max_delay_seconds = 60 } for every state machine
    Task), export_poll_seconds (5-3600, default 60), max_attempts (checkpoint_table: failures in a row before a segment is
    FAILED, default 5), memory_size (default 1024), timeout (60-900 s, default 900), log_level, log_retention_days.
  EOT
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

  validation {
    condition     = contains(["none", "step_functions", "checkpoint_table", "export"], var.backfill.mode)
    error_message = "backfill.mode must be \"none\", \"step_functions\", \"checkpoint_table\" or \"export\"."
  }

  validation {
    condition     = var.backfill.total_segments == null || try(floor(var.backfill.total_segments) == var.backfill.total_segments && var.backfill.total_segments >= 1 && var.backfill.total_segments <= 1000, false)
    error_message = "backfill.total_segments must be a whole number from 1 to 1000."
  }

  validation {
    condition     = var.backfill.max_concurrency == null || try(floor(var.backfill.max_concurrency) == var.backfill.max_concurrency && var.backfill.max_concurrency >= 1 && var.backfill.max_concurrency <= 40, false)
    error_message = "backfill.max_concurrency must be a whole number from 1 to 40 (segments scanned at once)."
  }

  validation {
    condition     = var.backfill.page_size == null || try(floor(var.backfill.page_size) == var.backfill.page_size && var.backfill.page_size >= 1 && var.backfill.page_size <= 10000, false)
    error_message = "backfill.page_size must be a whole number of items from 1 to 10000."
  }

  validation {
    condition     = var.backfill.read_units_per_second == null || try(floor(var.backfill.read_units_per_second) == var.backfill.read_units_per_second && var.backfill.read_units_per_second >= 1, false)
    error_message = "backfill.read_units_per_second must be a whole number of at least 1 (read units per second per segment)."
  }

  validation {
    condition     = try(var.backfill.retry.interval_seconds, null) == null || try(floor(var.backfill.retry.interval_seconds) == var.backfill.retry.interval_seconds && var.backfill.retry.interval_seconds >= 1 && var.backfill.retry.interval_seconds <= 3600, false)
    error_message = "backfill.retry.interval_seconds must be a whole number of seconds from 1 to 3600."
  }

  validation {
    condition     = try(var.backfill.retry.max_attempts, null) == null || try(floor(var.backfill.retry.max_attempts) == var.backfill.retry.max_attempts && var.backfill.retry.max_attempts >= 0 && var.backfill.retry.max_attempts <= 100, false)
    error_message = "backfill.retry.max_attempts must be a whole number from 0 to 100."
  }

  validation {
    condition     = try(var.backfill.retry.backoff_rate, null) == null || try(var.backfill.retry.backoff_rate >= 1 && var.backfill.retry.backoff_rate <= 10, false)
    error_message = "backfill.retry.backoff_rate must be a number from 1 to 10."
  }

  validation {
    condition     = try(var.backfill.retry.max_delay_seconds, null) == null || try(floor(var.backfill.retry.max_delay_seconds) == var.backfill.retry.max_delay_seconds && var.backfill.retry.max_delay_seconds >= 1 && var.backfill.retry.max_delay_seconds <= 3600, false)
    error_message = "backfill.retry.max_delay_seconds must be a whole number of seconds from 1 to 3600."
  }

  validation {
    condition     = var.backfill.export_poll_seconds == null || try(floor(var.backfill.export_poll_seconds) == var.backfill.export_poll_seconds && var.backfill.export_poll_seconds >= 5 && var.backfill.export_poll_seconds <= 3600, false)
    error_message = "backfill.export_poll_seconds must be a whole number of seconds from 5 to 3600."
  }

  validation {
    condition     = var.backfill.max_attempts == null || try(floor(var.backfill.max_attempts) == var.backfill.max_attempts && var.backfill.max_attempts >= 1 && var.backfill.max_attempts <= 100, false)
    error_message = "backfill.max_attempts must be a whole number from 1 to 100."
  }

  validation {
    condition     = var.backfill.memory_size == null || try(floor(var.backfill.memory_size) == var.backfill.memory_size && var.backfill.memory_size >= 128 && var.backfill.memory_size <= 10240, false)
    error_message = "backfill.memory_size must be a whole number of MiB from 128 to 10240."
  }

  validation {
    condition     = var.backfill.timeout == null || try(floor(var.backfill.timeout) == var.backfill.timeout && var.backfill.timeout >= 60 && var.backfill.timeout <= 900, false)
    error_message = "backfill.timeout must be a whole number of seconds from 60 to 900."
  }

  validation {
    condition     = var.backfill.log_level == null || contains(["DEBUG", "INFO", "WARNING", "ERROR"], coalesce(var.backfill.log_level, "INFO"))
    error_message = "backfill.log_level must be DEBUG, INFO, WARNING or ERROR."
  }

  validation {
    condition     = var.backfill.log_retention_days == null || contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], coalesce(var.backfill.log_retention_days, 30))
    error_message = "backfill.log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "create_dashboard" {
  description = "Controls whether a CloudWatch dashboard named after name is created: stream iterator age, writer errors and throttles, dead-letter queue depths, Firehose delivery freshness (aggregation = \"firehose\"), the loader's replication lag, files loaded and load failures, and the loader host or compaction runs where the load strategy deploys them, with each alarm's threshold drawn."
  type        = bool
  default     = true
  nullable    = false
}
