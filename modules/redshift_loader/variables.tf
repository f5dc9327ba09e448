# ---------------------------------------------------------------------------
# Common
# ---------------------------------------------------------------------------

variable "name" {
  description = "Name prefix for the resources this module names (functions, roles, queues, schedule, alarms). Lowercase letters, digits and hyphens, 1-40 characters."
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
  description = "SNS topic ARNs notified when a loader alarm fires (load failures, DLQ depth, lag, errors). The alert topic (sns_topic_arn or the created one) is always notified too."
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
    ARN of a customer managed KMS key. When set it encrypts the queues, the functions' environment and their log groups;
    the loader and the created COPY role may decrypt with it (pass the bucket's key here when the bucket uses SSE-KMS).
    The key policy must let CloudWatch Logs, S3 (to send notifications to the encrypted queue) and EventBridge Scheduler
    use it. null: SQS-managed SSE and AWS-managed keys. The alert topic has its own key: sns_topic_kms_key_arn.
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
# Bucket and layout (contract 2)
# ---------------------------------------------------------------------------

variable "bucket_name" {
  description = "Name of the CDC bucket (the s3_sink module's bucket_name). This module owns its notification configuration when load_strategy = \"s3_event\"."
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
  description = "Key prefix of the CDC layout, as given to s3_sink. No leading or trailing slash; empty string: the layout starts at the bucket root."
  type        = string
  default     = "cdc"
  nullable    = false

  validation {
    condition     = can(regex("^([A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*)?$", var.prefix))
    error_message = "prefix must be empty or slash-separated segments of letters, digits, '_', '.', '=', '-', with no leading, trailing or doubled slash."
  }
}

variable "table_name" {
  description = "Name of the DynamoDB source table; it names the raw/, manifests/, load-failures/ and quarantine/ key prefixes and the metrics' Table dimension."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of letters, digits, underscore, hyphen and dot (DynamoDB's table-name rule)."
  }
}

variable "lambda_zip_path" {
  description = "Path of the zip that holds the ddb_cdc package (built by the root module)."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must be the path of a .zip file."
  }
}

variable "lambda_zip_base64sha256" {
  description = "Base64-encoded SHA-256 of the zip at lambda_zip_path, so a code change redeploys the functions."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.lambda_zip_base64sha256))
    error_message = "lambda_zip_base64sha256 must be a base64-encoded SHA-256 digest (44 characters ending in '=')."
  }
}

# ---------------------------------------------------------------------------
# Load strategy
# ---------------------------------------------------------------------------

variable "load_strategy" {
  description = <<-EOT
    What triggers a load. "s3_event": S3 notifications for new raw/ objects go to an SQS queue that the loader reads with a
    batching window, so one COPY covers every file of a window. "schedule": EventBridge Scheduler invokes the loader every
    schedule.rate_minutes; it loads every raw/ file not yet in the ledger, so a missed run leaves no gap. "ec2_cron": a host
    (modules/ec2_cron, wired by the root) runs the same load with the loader CLI every ec2_cron_rate_minutes; this module then
    builds no trigger, lets EC2 assume the loader's role (the host runs as it), and keeps the completion function and alarms.
    "emr_compaction": a state machine (modules/emr_compaction, wired by the root) invokes the loader every hour to plan the
    hour's s3-dist-cp compaction and to load its compacted files; this module keeps a reconciliation schedule every
    emr_compaction.reconcile_rate_minutes ({"trigger": "reconcile"}), which loads raw files the compaction left behind.
  EOT
  type        = string
  default     = "s3_event"
  nullable    = false

  validation {
    condition     = contains(["s3_event", "schedule", "ec2_cron", "emr_compaction"], var.load_strategy)
    error_message = "load_strategy must be \"s3_event\", \"schedule\", \"ec2_cron\" or \"emr_compaction\"."
  }
}

variable "ec2_cron_rate_minutes" {
  description = "Minutes between two loads of the ec2_cron host's timer (the ec2_cron module's rate_minutes), required when load_strategy = \"ec2_cron\" and ignored otherwise. It sets the lag alarm's window: a healthy host publishes ReplicationLagSeconds once per run."
  type        = number
  default     = null

  validation {
    condition     = var.ec2_cron_rate_minutes == null || try(floor(var.ec2_cron_rate_minutes) == var.ec2_cron_rate_minutes && var.ec2_cron_rate_minutes >= 1 && var.ec2_cron_rate_minutes <= 1440, false)
    error_message = "ec2_cron_rate_minutes must be a whole number from 1 to 1440."
  }

  validation {
    condition     = var.load_strategy != "ec2_cron" || var.ec2_cron_rate_minutes != null
    error_message = "ec2_cron_rate_minutes is required when load_strategy = \"ec2_cron\" (pass the ec2_cron module's rate_minutes output)."
  }
}

variable "emr_compaction" {
  description = <<-EOT
    Settings for load_strategy = "emr_compaction" (ignored otherwise). target_size_mb (1-1024): the size s3-dist-cp
    aims at for a compacted file (CDC_COMPACTION_TARGET_SIZE_MB). reconcile_rate_minutes (1-1440): how often the
    reconciliation schedule runs ({"trigger": "reconcile"}: retries, one sweep step, the lag metric); the lag alarm's
    window follows it. latest_finish_seconds (required in this mode: the emr_compaction module's output of that name):
    how long after an hour ends its run may still be compacting. The sweep leaves raw files younger than an hour plus
    that plus the loader's timeout to their compaction (CDC_RECONCILE_GRACE_SECONDS). compaction_scheduled (default
    true): false when the compaction's schedule is paused; the loader's schedule then loads every raw file itself
    ({"trigger": "schedule"}, as load_strategy = "schedule" does) instead of only reconciling.
  EOT
  type = object({
    target_size_mb         = optional(number, 64)
    reconcile_rate_minutes = optional(number, 60)
    latest_finish_seconds  = optional(number)
    compaction_scheduled   = optional(bool, true)
  })
  default  = {}
  nullable = false

  validation {
    condition     = floor(var.emr_compaction.target_size_mb) == var.emr_compaction.target_size_mb && var.emr_compaction.target_size_mb >= 1 && var.emr_compaction.target_size_mb <= 1024
    error_message = "emr_compaction.target_size_mb must be a whole number of MiB from 1 to 1024."
  }

  validation {
    condition     = floor(var.emr_compaction.reconcile_rate_minutes) == var.emr_compaction.reconcile_rate_minutes && var.emr_compaction.reconcile_rate_minutes >= 1 && var.emr_compaction.reconcile_rate_minutes <= 1440
    error_message = "emr_compaction.reconcile_rate_minutes must be a whole number of minutes from 1 to 1440."
  }

  # 600300 = 604800 (the loader's ceiling for CDC_RECONCILE_GRACE_SECONDS) - 3600 - 900 (the longest loader timeout).
  validation {
    condition     = var.emr_compaction.latest_finish_seconds == null || try(floor(var.emr_compaction.latest_finish_seconds) == var.emr_compaction.latest_finish_seconds && var.emr_compaction.latest_finish_seconds >= 60 && var.emr_compaction.latest_finish_seconds <= 600300, false)
    error_message = "emr_compaction.latest_finish_seconds must be a whole number of seconds from 60 to 600300."
  }

  validation {
    condition     = var.load_strategy != "emr_compaction" || var.emr_compaction.latest_finish_seconds != null
    error_message = "emr_compaction.latest_finish_seconds is required when load_strategy = \"emr_compaction\" (pass the emr_compaction module's latest_finish_seconds output)."
  }
}

variable "s3_event" {
  description = <<-EOT
    Settings for load_strategy = "s3_event". batch_size (1-10000) and maximum_batching_window_in_seconds (0-300; at least 1
    when batch_size > 10) bound one loader invocation, hence one COPY. max_receive_count: receives of a message before the
    queue moves it to its DLQ; keep it well above 1, because a throttled poll of the single-concurrency loader also counts.
    reconcile_rate_minutes (1-1440): EventBridge Scheduler also runs a scheduled load this often, which loads every raw/
    file not yet in the ledger (a lost or dead-lettered notification strands nothing) and publishes the lag metric while
    no file arrives, so the lag alarm can treat missing data as breaching.
  EOT
  type = object({
    batch_size                         = optional(number, 10000)
    maximum_batching_window_in_seconds = optional(number, 300)
    max_receive_count                  = optional(number, 10)
    reconcile_rate_minutes             = optional(number, 60)
  })
  default  = {}
  nullable = false

  validation {
    condition     = floor(var.s3_event.batch_size) == var.s3_event.batch_size && var.s3_event.batch_size >= 1 && var.s3_event.batch_size <= 10000
    error_message = "s3_event.batch_size must be a whole number from 1 to 10000."
  }

  validation {
    condition     = floor(var.s3_event.maximum_batching_window_in_seconds) == var.s3_event.maximum_batching_window_in_seconds && var.s3_event.maximum_batching_window_in_seconds >= 0 && var.s3_event.maximum_batching_window_in_seconds <= 300
    error_message = "s3_event.maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }

  validation {
    condition     = var.s3_event.batch_size <= 10 || var.s3_event.maximum_batching_window_in_seconds >= 1
    error_message = "SQS requires s3_event.maximum_batching_window_in_seconds >= 1 when s3_event.batch_size > 10."
  }

  validation {
    condition     = floor(var.s3_event.max_receive_count) == var.s3_event.max_receive_count && var.s3_event.max_receive_count >= 1 && var.s3_event.max_receive_count <= 1000
    error_message = "s3_event.max_receive_count must be a whole number from 1 to 1000."
  }

  validation {
    condition     = floor(var.s3_event.reconcile_rate_minutes) == var.s3_event.reconcile_rate_minutes && var.s3_event.reconcile_rate_minutes >= 1 && var.s3_event.reconcile_rate_minutes <= 1440
    error_message = "s3_event.reconcile_rate_minutes must be a whole number from 1 to 1440."
  }
}

variable "schedule" {
  description = <<-EOT
    Settings for load_strategy = "schedule". rate_minutes (1-1440): the schedule runs rate(N minutes) with no flexible window.
    maximum_retry_attempts (0-185) and maximum_event_age_in_seconds (60-86400): Scheduler's retry policy before the
    invocation goes to the invoke DLQ; they also apply to the reconciliation schedule of "s3_event".
  EOT
  type = object({
    rate_minutes                 = optional(number, 15)
    maximum_retry_attempts       = optional(number, 2)
    maximum_event_age_in_seconds = optional(number, 3600)
  })
  default  = {}
  nullable = false

  validation {
    condition     = floor(var.schedule.rate_minutes) == var.schedule.rate_minutes && var.schedule.rate_minutes >= 1 && var.schedule.rate_minutes <= 1440
    error_message = "schedule.rate_minutes must be a whole number from 1 to 1440."
  }

  validation {
    condition     = floor(var.schedule.maximum_retry_attempts) == var.schedule.maximum_retry_attempts && var.schedule.maximum_retry_attempts >= 0 && var.schedule.maximum_retry_attempts <= 185
    error_message = "schedule.maximum_retry_attempts must be a whole number from 0 to 185."
  }

  validation {
    condition     = floor(var.schedule.maximum_event_age_in_seconds) == var.schedule.maximum_event_age_in_seconds && var.schedule.maximum_event_age_in_seconds >= 60 && var.schedule.maximum_event_age_in_seconds <= 86400
    error_message = "schedule.maximum_event_age_in_seconds must be a whole number from 60 to 86400."
  }
}

variable "async_invocation" {
  description = "Lambda's own handling of asynchronous invocations of the loader (the schedule, manual invokes): maximum_retry_attempts (0-2) and maximum_event_age_in_seconds (60-21600) before the event goes to the invoke DLQ."
  type = object({
    maximum_retry_attempts       = optional(number, 2)
    maximum_event_age_in_seconds = optional(number, 3600)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains([0, 1, 2], var.async_invocation.maximum_retry_attempts)
    error_message = "async_invocation.maximum_retry_attempts must be 0, 1 or 2."
  }

  validation {
    condition     = floor(var.async_invocation.maximum_event_age_in_seconds) == var.async_invocation.maximum_event_age_in_seconds && var.async_invocation.maximum_event_age_in_seconds >= 60 && var.async_invocation.maximum_event_age_in_seconds <= 21600
    error_message = "async_invocation.maximum_event_age_in_seconds must be a whole number from 60 to 21600."
  }
}

# ---------------------------------------------------------------------------
# Warehouse
# ---------------------------------------------------------------------------

variable "target" {
  description = <<-EOT
    The Redshift warehouse. kind = "provisioned": cluster_identifier plus exactly one of db_user (temporary credentials
    through redshift:GetClusterCredentials) or secret_arn (a Secrets Manager secret). kind = "serverless": workgroup_name
    (temporary credentials through redshift-serverless:GetCredentials; the database user is derived from the loader role).
    database: the database to load into.
  EOT
  type = object({
    kind               = string
    database           = string
    cluster_identifier = optional(string)
    db_user            = optional(string)
    secret_arn         = optional(string)
    workgroup_name     = optional(string)
  })
  nullable = false

  validation {
    condition     = contains(["provisioned", "serverless"], var.target.kind)
    error_message = "target.kind must be \"provisioned\" or \"serverless\"."
  }

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_$]{0,126}$", var.target.database))
    error_message = "target.database must be a Redshift database name: a letter or underscore, then up to 126 letters, digits, '_' or '$'."
  }

  validation {
    condition = (
      var.target.kind != "provisioned" ? true :
      var.target.cluster_identifier != null && var.target.workgroup_name == null && (var.target.db_user == null) != (var.target.secret_arn == null)
    )
    error_message = "target.kind = \"provisioned\" needs cluster_identifier and exactly one of db_user or secret_arn, and no workgroup_name."
  }

  validation {
    condition = (
      var.target.kind != "serverless" ? true :
      var.target.workgroup_name != null && var.target.cluster_identifier == null && var.target.db_user == null && var.target.secret_arn == null
    )
    error_message = "target.kind = \"serverless\" needs workgroup_name and none of cluster_identifier, db_user or secret_arn."
  }

  validation {
    condition     = var.target.cluster_identifier == null ? true : can(regex("^[a-z][a-z0-9-]{0,62}$", var.target.cluster_identifier)) && !can(regex("--|-$", var.target.cluster_identifier))
    error_message = "target.cluster_identifier must be a Redshift cluster identifier: 1-63 lowercase letters, digits and single hyphens, starting with a letter."
  }

  validation {
    condition     = var.target.db_user == null ? true : can(regex("^[A-Za-z_][A-Za-z0-9_$]{0,126}$", var.target.db_user))
    error_message = "target.db_user must be a Redshift user name: a letter or underscore, then up to 126 letters, digits, '_' or '$'."
  }

  validation {
    condition     = var.target.secret_arn == null ? true : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.target.secret_arn))
    error_message = "target.secret_arn must be a Secrets Manager secret ARN."
  }

  validation {
    condition     = var.target.workgroup_name == null ? true : can(regex("^[a-z0-9-]{3,64}$", var.target.workgroup_name))
    error_message = "target.workgroup_name must be 3-64 lowercase letters, digits and hyphens."
  }
}

variable "executor" {
  description = "How the loader runs SQL. \"data_api\" (default): the Redshift Data API with IAM auth, no VPC. \"psycopg2\": a direct connection from a VPC function, credentials from db_secret_arn or db_ssm_parameter_arn; needs vpc and psycopg2_layer_arn."
  type        = string
  default     = "data_api"
  nullable    = false

  validation {
    condition     = contains(["data_api", "psycopg2"], var.executor)
    error_message = "executor must be \"data_api\" or \"psycopg2\"."
  }
}

variable "data_api_mode" {
  description = "With executor = \"data_api\": \"async\" (default) submits the load and returns; the completion function handles the EventBridge status event. \"poll\": the loader waits for the statement within its time budget (no completion function)."
  type        = string
  default     = "async"
  nullable    = false

  validation {
    condition     = contains(["async", "poll"], var.data_api_mode)
    error_message = "data_api_mode must be \"async\" or \"poll\"."
  }
}

variable "db_secret_arn" {
  description = "With executor = \"psycopg2\": Secrets Manager secret holding host, port, dbname, username and password. Exactly one of db_secret_arn and db_ssm_parameter_arn is required then."
  type        = string
  default     = null

  validation {
    condition     = var.db_secret_arn == null ? true : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.db_secret_arn))
    error_message = "db_secret_arn must be a Secrets Manager secret ARN."
  }

  validation {
    condition     = var.executor != "psycopg2" || (var.db_secret_arn == null) != (var.db_ssm_parameter_arn == null)
    error_message = "executor = \"psycopg2\" needs exactly one of db_secret_arn or db_ssm_parameter_arn."
  }
}

variable "db_ssm_parameter_arn" {
  description = "With executor = \"psycopg2\": ARN of an SSM SecureString parameter holding the connection JSON (same fields as db_secret_arn)."
  type        = string
  default     = null

  validation {
    condition     = var.db_ssm_parameter_arn == null ? true : can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+$", var.db_ssm_parameter_arn))
    error_message = "db_ssm_parameter_arn must be an SSM parameter ARN (arn:<partition>:ssm:<region>:<account>:parameter/<name>)."
  }
}

variable "vpc" {
  description = "With executor = \"psycopg2\" (required then): subnets and security groups of the loader, which must reach the warehouse, and S3, SQS, SNS, CloudWatch and Secrets Manager or SSM (NAT or VPC endpoints)."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition     = var.executor != "psycopg2" || (var.vpc != null ? length(var.vpc.subnet_ids) > 0 && length(var.vpc.security_group_ids) > 0 : false)
    error_message = "executor = \"psycopg2\" needs vpc with at least one subnet_id and one security_group_id."
  }

  validation {
    condition     = var.vpc == null ? true : alltrue([for id in var.vpc.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))]) && alltrue([for id in var.vpc.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "vpc.subnet_ids must be subnet-... IDs and vpc.security_group_ids sg-... IDs."
  }
}

variable "psycopg2_layer_arn" {
  description = "With executor = \"psycopg2\" (this or psycopg2_layer_zip): version ARN of a Lambda layer holding psycopg2-binary built for python3.12 on the function's architecture (x86_64)."
  type        = string
  default     = null

  validation {
    condition     = var.psycopg2_layer_arn == null ? true : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.psycopg2_layer_arn))
    error_message = "psycopg2_layer_arn must be a Lambda layer version ARN (arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>)."
  }

  validation {
    condition     = var.executor != "psycopg2" || var.psycopg2_layer_arn != null || var.psycopg2_layer_zip != null
    error_message = "executor = \"psycopg2\" needs a psycopg2 layer: psycopg2_layer_zip (the zip `make layer` builds) or psycopg2_layer_arn (a layer you publish)."
  }

  validation {
    condition     = var.psycopg2_layer_zip == null || var.psycopg2_layer_arn == null
    error_message = "Set one of psycopg2_layer_zip (the module publishes the layer) and psycopg2_layer_arn (your own layer), not both."
  }
}

variable "psycopg2_layer_zip" {
  description = "With executor = \"psycopg2\" (this or psycopg2_layer_arn): path of the layer zip that `make layer` builds (.build/layers/psycopg2-binary-<version>-py3.12-x86_64.zip); the module publishes it as layer version <name>-psycopg2 (python3.12, x86_64) and the loader uses it. The file must exist at plan time; its hash is the layer's source_code_hash."
  type        = string
  default     = null

  validation {
    condition     = var.psycopg2_layer_zip == null || endswith(coalesce(var.psycopg2_layer_zip, "-"), ".zip")
    error_message = "psycopg2_layer_zip must be the path of a .zip file (make layer writes .build/layers/psycopg2-binary-<version>-py3.12-x86_64.zip)."
  }

  validation {
    condition     = var.psycopg2_layer_zip == null || try(fileexists(var.psycopg2_layer_zip), false)
    error_message = "psycopg2_layer_zip names no file: run `make layer` in the module's repository first (or give psycopg2_layer_arn)."
  }
}

variable "db_sslmode" {
  description = "With executor = \"psycopg2\": how the connection checks the server. \"verify-full\" (default): TLS, the certificate must chain to the trust store and name the host in the secret or parameter (the cluster or workgroup endpoint, not an IP or a CNAME); \"verify-ca\": the chain only; \"require\": TLS without checking the server. Plaintext is never allowed."
  type        = string
  default     = "verify-full"
  nullable    = false

  validation {
    condition     = contains(["verify-full", "verify-ca", "require"], var.db_sslmode)
    error_message = "db_sslmode must be \"verify-full\", \"verify-ca\" or \"require\"."
  }
}

variable "db_sslrootcert" {
  description = "With executor = \"psycopg2\": path, inside the function, of the CA bundle that verifies the server (for example one shipped in a layer under /opt). null: the first of certifi's, botocore's or the Lambda runtime's bundle, all of which hold the Amazon roots Redshift's certificates chain to."
  type        = string
  default     = null
}

variable "connect_timeout_seconds" {
  description = "With executor = \"psycopg2\": seconds to wait for the database connection."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = floor(var.connect_timeout_seconds) == var.connect_timeout_seconds && var.connect_timeout_seconds >= 1 && var.connect_timeout_seconds <= 120
    error_message = "connect_timeout_seconds must be a whole number from 1 to 120."
  }
}

variable "statement_timeout_ms" {
  description = "With executor = \"psycopg2\": statement_timeout of the load session in milliseconds. null: the loader timeout less 60 seconds, so the function can roll back and report."
  type        = number
  default     = null

  validation {
    condition     = var.statement_timeout_ms == null ? true : floor(var.statement_timeout_ms) == var.statement_timeout_ms && var.statement_timeout_ms >= 1000
    error_message = "statement_timeout_ms must be null or a whole number of at least 1000."
  }
}

variable "target_spec" {
  description = <<-EOT
    The Redshift target table. schema and table: identifiers. mode: "document" (key columns, a SUPER document and metadata
    columns) or "columns" (the declared columns, each { name, type, path } with path the JSON path into the new image).
    keys: the item key as [{ name, type, column }] with type the DynamoDB key type S, N or B (the root passes the table's
    key schema) and column the SQL column for it (default: the name, lower-cased; set it when the name is a reserved SQL
    word such as "timestamp", which the loader refuses as a column name). key_column_types: optional SQL type per key name for its typed column (defaults: S -> VARCHAR(2048),
    N -> DECIMAL(38,0), B -> VARCHAR(2800)); the merge always matches on the exact canonical key, never on these columns.
    history: also append every change to a history table. Identifiers match ^[A-Za-z_][A-Za-z0-9_]{0,126}$.
  EOT
  type = object({
    schema = string
    table  = string
    mode   = optional(string, "document")
    keys = list(object({
      name   = string
      type   = string
      column = optional(string)
    }))
    columns = optional(list(object({
      name = string
      type = string
      path = list(string)
    })), [])
    history          = optional(bool, false)
    key_column_types = optional(map(string), {})
  })
  nullable = false

  validation {
    condition     = alltrue([for k in var.target_spec.keys : contains(["S", "N", "B"], k.type)])
    error_message = "target_spec.keys[*].type must be the DynamoDB key type: S, N or B."
  }

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,126}$", var.target_spec.schema)) && can(regex("^[A-Za-z_][A-Za-z0-9_]{0,126}$", var.target_spec.table))
    error_message = "target_spec.schema and target_spec.table must match ^[A-Za-z_][A-Za-z0-9_]{0,126}$."
  }

  validation {
    condition     = contains(["document", "columns"], var.target_spec.mode)
    error_message = "target_spec.mode must be \"document\" or \"columns\"."
  }

  validation {
    condition     = length(var.target_spec.keys) >= 1 && length(var.target_spec.keys) <= 2
    error_message = "target_spec.keys must hold the hash key and optionally the range key (1 or 2 entries)."
  }

  # The attribute name itself may be anything DynamoDB allows (order-id) as long as the loader can read it as a JSON
  # path segment; only the SQL column (column, else the name) must be a SQL name.
  validation {
    condition = alltrue([
      for k in var.target_spec.keys :
      length(k.name) >= 1 && length(k.name) <= 127 && !can(regex("[\"\\\\\\x00-\\x1f\\x7f-\\x9f]", k.name)) &&
      (k.column != null || can(regex("^[A-Za-z_][A-Za-z0-9_]{0,126}$", k.name)))
    ])
    error_message = format("Every target_spec.keys entry needs a name of 1-127 characters without double quotes, backslashes or control characters, and a column when the name is not a SQL name (^[A-Za-z_][A-Za-z0-9_]{0,126}$); refused: %s.", join(", ", [for k in var.target_spec.keys : format("%q", k.name) if !(length(k.name) >= 1 && length(k.name) <= 127 && !can(regex("[\"\\\\\\x00-\\x1f\\x7f-\\x9f]", k.name)) && (k.column != null || can(regex("^[A-Za-z_][A-Za-z0-9_]{0,126}$", k.name))))]))
  }

  validation {
    condition     = alltrue([for k in var.target_spec.keys : k.column == null || can(regex("^[A-Za-z_][A-Za-z0-9_]{0,126}$", k.column))])
    error_message = "target_spec.keys[*].column, when set, must match ^[A-Za-z_][A-Za-z0-9_]{0,126}$."
  }

  validation {
    condition     = (var.target_spec.mode == "columns") == (length(var.target_spec.columns) > 0)
    error_message = "target_spec.columns is required (non-empty) when mode = \"columns\" and must be empty when mode = \"document\"."
  }

  validation {
    condition = alltrue([
      for c in var.target_spec.columns :
      can(regex("^[A-Za-z_][A-Za-z0-9_]{0,126}$", c.name)) && length(c.path) > 0 && alltrue([for p in c.path : length(p) > 0])
    ])
    error_message = "Every target_spec.columns entry needs a name matching ^[A-Za-z_][A-Za-z0-9_]{0,126}$ and a non-empty path of non-empty segments."
  }

  validation {
    condition = alltrue([
      for t in concat(values(var.target_spec.key_column_types), [for c in var.target_spec.columns : c.type]) :
      can(regex("^[A-Za-z][A-Za-z0-9 _]*(\\([0-9]+(, ?[0-9]+)?\\))?$", t))
    ])
    error_message = "target_spec column types and key_column_types must be plain SQL type names, optionally with a size, e.g. VARCHAR(256) or DECIMAL(38, 10)."
  }
}

variable "copy_role_arn" {
  description = "ARN of an IAM role already associated with the cluster or workgroup that COPY uses to read raw/ and manifests/. Exactly one of copy_role_arn and create_copy_role = true."
  type        = string
  default     = null

  validation {
    condition     = var.copy_role_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.copy_role_arn))
    error_message = "copy_role_arn must be an IAM role ARN."
  }

  validation {
    condition     = (var.copy_role_arn == null) == var.create_copy_role
    error_message = "Set exactly one of copy_role_arn or create_copy_role = true."
  }
}

variable "create_copy_role" {
  description = "Controls whether this module creates the COPY role (assumable by redshift.amazonaws.com, read access to this table's raw/ and manifests/ only). You must then associate the copy_role_arn output with the cluster or workgroup."
  type        = bool
  default     = false
  nullable    = false
}

variable "sns_topic_arn" {
  description = "SNS topic for load alerts (failed statements, quarantined files) and this module's alarms. null: the module creates a topic encrypted with sns_topic_kms_key_arn or a key it creates. A given topic's policy and key policy must let CloudWatch alarms publish (see the README, \"Alarms and the alert topic\")."
  type        = string
  default     = null

  validation {
    condition     = var.sns_topic_arn == null ? true : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$", var.sns_topic_arn))
    error_message = "sns_topic_arn must be an SNS topic ARN."
  }
}

variable "sns_topic_kms_key_arn" {
  description = <<-EOT
    Customer managed KMS key that encrypts the topic this module creates (sns_topic_arn = null). null: the module creates
    a key (rotation on) whose policy lets this account administer it and CloudWatch alarms, EventBridge and the loader
    use it; the AWS-managed aws/sns key cannot be used, because CloudWatch and EventBridge may not use it. A key given
    here needs the key-policy statements listed in the README ("Alarms and the alert topic").
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.sns_topic_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.sns_topic_kms_key_arn))
    error_message = "sns_topic_kms_key_arn must be null or a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); an alias cannot be given a key policy statement."
  }

  validation {
    condition     = var.sns_topic_kms_key_arn == null || var.sns_topic_arn == null
    error_message = "sns_topic_kms_key_arn encrypts the topic this module creates; leave it null when sns_topic_arn names your own topic."
  }
}

# ---------------------------------------------------------------------------
# Loader behaviour and functions
# ---------------------------------------------------------------------------

variable "max_file_failures" {
  description = "Failed loads a file may be part of before the loader moves it to quarantine/ and alerts, so one corrupt file cannot block later loads."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = floor(var.max_file_failures) == var.max_file_failures && var.max_file_failures >= 1 && var.max_file_failures <= 100
    error_message = "max_file_failures must be a whole number from 1 to 100."
  }
}

variable "schedule_lookback_hours" {
  description = "Scheduled loads list raw/ from the ledger's high-water mark minus this many hours, to catch late files."
  type        = number
  default     = 24
  nullable    = false

  validation {
    condition     = floor(var.schedule_lookback_hours) == var.schedule_lookback_hours && var.schedule_lookback_hours >= 1 && var.schedule_lookback_hours <= 720
    error_message = "schedule_lookback_hours must be a whole number from 1 to 720."
  }
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the metrics the loader publishes (LoadFailures, ReplicationLagSeconds; dimension Table)."
  type        = string
  default     = "DdbCdc"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metric_namespace)) && !startswith(var.metric_namespace, "AWS/")
    error_message = "metric_namespace must be 1-255 characters of letters, digits and . _ / # : - and must not start with \"AWS/\"."
  }
}

variable "lag_alarm_threshold_seconds" {
  description = "Alarm when ReplicationLagSeconds (age of the oldest change not yet merged) exceeds this. null: 1800, or with load_strategy = \"emr_compaction\", where every change waits for its hour's compaction by design, CDC_RECONCILE_GRACE_SECONDS plus one reconciliation cadence (a value below CDC_RECONCILE_GRACE_SECONDS is refused there: the alarm would fire every hour)."
  type        = number
  default     = null

  validation {
    condition     = var.lag_alarm_threshold_seconds == null || try(var.lag_alarm_threshold_seconds >= 60, false)
    error_message = "lag_alarm_threshold_seconds must be at least 60."
  }
}

variable "loader_memory_size" {
  description = "Memory of the loader function in MiB."
  type        = number
  default     = 512
  nullable    = false

  validation {
    condition     = floor(var.loader_memory_size) == var.loader_memory_size && var.loader_memory_size >= 128 && var.loader_memory_size <= 10240
    error_message = "loader_memory_size must be a whole number of MiB from 128 to 10240."
  }
}

variable "loader_timeout" {
  description = "Timeout of one loader invocation in seconds. null: 120 for data_api_mode = \"async\" (it only submits), 900 otherwise (poll mode, psycopg2 and emr_compaction's compacted load wait for the load)."
  type        = number
  default     = null

  validation {
    condition     = var.loader_timeout == null ? true : floor(var.loader_timeout) == var.loader_timeout && var.loader_timeout >= 30 && var.loader_timeout <= 900
    error_message = "loader_timeout must be null or a whole number of seconds from 30 to 900."
  }
}

variable "completion_memory_size" {
  description = "Memory of the completion function in MiB."
  type        = number
  default     = 256
  nullable    = false

  validation {
    condition     = floor(var.completion_memory_size) == var.completion_memory_size && var.completion_memory_size >= 128 && var.completion_memory_size <= 10240
    error_message = "completion_memory_size must be a whole number of MiB from 128 to 10240."
  }
}

variable "completion_timeout" {
  description = "Timeout of one completion invocation in seconds (it reads the statement error and load-error lines, then alerts)."
  type        = number
  default     = 120
  nullable    = false

  validation {
    condition     = floor(var.completion_timeout) == var.completion_timeout && var.completion_timeout >= 10 && var.completion_timeout <= 900
    error_message = "completion_timeout must be a whole number of seconds from 10 to 900."
  }
}

variable "log_level" {
  description = "LOG_LEVEL passed to both functions."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Days the functions' CloudWatch log groups keep events."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}
