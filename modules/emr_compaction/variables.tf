# ---------------------------------------------------------------------------
# Common
# ---------------------------------------------------------------------------

variable "name" {
  description = "Name prefix for the resources this module names (<name>-compaction state machine, schedule, security configuration and alarms; <name>-emr-service and <name>-emr-instance roles). Lowercase letters, digits and hyphens, 1-40 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters of lowercase letters, digits and hyphens."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource this module creates, and to every cluster the state machine starts (with for-use-with-amazon-emr-managed-policies = true, which the EMR service role's managed policy needs)."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified when a compaction execution fails, times out or is aborted. Empty list: the alarms change state but notify no one."
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
    ARN of a customer managed KMS key (the bucket's, when it uses SSE-KMS). When set, the clusters write compacted files
    and logs with SSE-KMS under it and encrypt their local disks with it, and it encrypts the state machine's log group and
    the schedule. The key policy must let CloudWatch Logs (logs.<region>.amazonaws.com) use it, and the instance role
    (output emr_instance_role_arn) may use it directly, as EMR's local disk encryption requires. null: SSE-S3 for S3
    objects, no local disk encryption (see the README, "Encryption"), AWS-managed keys elsewhere.
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

variable "log_retention_days" {
  description = "Days the state machine's CloudWatch log group (/aws/vendedlogs/states/<name>-compaction) keeps events."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

# ---------------------------------------------------------------------------
# Bucket and layout (contract 2)
# ---------------------------------------------------------------------------

variable "table_name" {
  description = "Name of the DynamoDB source table; it names the raw/, compaction/, compacted/ and emr-logs/ key prefixes the cluster may use."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of letters, digits, underscore, hyphen and dot (DynamoDB's table-name rule)."
  }
}

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
  description = "Key prefix of the CDC layout, as given to s3_sink. No leading or trailing slash; empty string: the layout starts at the bucket root."
  type        = string
  default     = "cdc"
  nullable    = false

  validation {
    condition     = can(regex("^([A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*)?$", var.prefix))
    error_message = "prefix must be empty or slash-separated segments of letters, digits, '_', '.', '=', '-', with no leading, trailing or doubled slash."
  }
}

# ---------------------------------------------------------------------------
# The loader and the alert topic (from modules/redshift_loader)
# ---------------------------------------------------------------------------

variable "loader_function_arn" {
  description = "ARN of the loader function (redshift_loader's loader_function_arn): Plan, Load and LoadRaw invoke it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}$", var.loader_function_arn))
    error_message = "loader_function_arn must be an unqualified Lambda function ARN (arn:<partition>:lambda:<region>:<account>:function:<name>)."
  }
}

variable "alerts_topic_arn" {
  description = "SNS topic the Notify state publishes a failed run to (redshift_loader's sns_topic_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$", var.alerts_topic_arn))
    error_message = "alerts_topic_arn must be an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<topic>)."
  }
}

variable "alerts_topic_kms_key_arn" {
  description = "KMS key that encrypts the alert topic (redshift_loader's sns_topic_kms_key_arn); the state machine may use it through SNS only. null: the topic is not encrypted with a key this module must name."
  type        = string
  default     = null

  validation {
    condition     = var.alerts_topic_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.alerts_topic_kms_key_arn))
    error_message = "alerts_topic_kms_key_arn must be null or a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "dead_letter_queue_arn" {
  description = "SQS queue that receives the schedule's start requests EventBridge Scheduler gave up on (redshift_loader's invoke_dlq_arn, whose depth alarm pages). null: no dead-letter queue."
  type        = string
  default     = null

  validation {
    condition     = var.dead_letter_queue_arn == null ? true : can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", var.dead_letter_queue_arn))
    error_message = "dead_letter_queue_arn must be null or an SQS queue ARN (arn:<partition>:sqs:<region>:<account>:<queue>)."
  }
}

# ---------------------------------------------------------------------------
# Cluster
# ---------------------------------------------------------------------------

variable "subnet_id" {
  description = "Subnet the clusters start in (Instances.Ec2SubnetId). It needs a route to S3 (a gateway endpoint or a NAT gateway) and, because the EMR service role uses AmazonEMRServicePolicy_v2, the tag for-use-with-amazon-emr-managed-policies = true (and so does its VPC when EMR creates the managed security groups)."
  type        = string

  validation {
    condition     = can(regex("^subnet-[0-9a-f]+$", var.subnet_id))
    error_message = "subnet_id must be a subnet ID (subnet-...)."
  }
}

variable "release_label" {
  description = "Amazon EMR release of the clusters (emr-X.Y.Z). 6.1.0 is the oldest 6.x release with idle auto-termination (AutoTerminationPolicy), the net under a cluster the state machine cannot terminate."
  type        = string
  default     = "emr-7.2.0"
  nullable    = false

  validation {
    condition     = can(regex("^emr-[0-9]+\\.[0-9]+\\.[0-9]+$", var.release_label))
    error_message = "release_label must look like emr-7.2.0."
  }

  validation {
    condition = try(
      tonumber(split(".", trimprefix(var.release_label, "emr-"))[0]) > 6 ||
      (tonumber(split(".", trimprefix(var.release_label, "emr-"))[0]) == 6 && tonumber(split(".", trimprefix(var.release_label, "emr-"))[1]) >= 1),
      false
    )
    error_message = "release_label must be emr-6.1.0 or later: older releases have no idle auto-termination."
  }
}

variable "master_instance_type" {
  description = "EC2 instance type of the primary node (one, on demand)."
  type        = string
  default     = "m5.xlarge"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.[a-z0-9]+$", var.master_instance_type))
    error_message = "master_instance_type must be an EC2 instance type such as m5.xlarge."
  }
}

variable "core_instance_type" {
  description = "EC2 instance type of the core nodes."
  type        = string
  default     = "m5.xlarge"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.[a-z0-9]+$", var.core_instance_type))
    error_message = "core_instance_type must be an EC2 instance type such as m5.xlarge."
  }
}

variable "core_instance_count" {
  description = "Core nodes (0-20). 0: a single-node cluster where s3-dist-cp runs on the primary node, and no CORE group is requested."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = floor(var.core_instance_count) == var.core_instance_count && var.core_instance_count >= 0 && var.core_instance_count <= 20
    error_message = "core_instance_count must be a whole number from 0 to 20."
  }
}

variable "core_spot" {
  description = "Controls whether the core nodes are Spot instances (the primary node is always on demand). A reclaimed node fails the step; the run then loads the hour's raw files uncompacted."
  type        = bool
  default     = false
  nullable    = false
}

variable "additional_security_group_ids" {
  description = "Security groups every node joins besides EMR's managed ones (AdditionalMasterSecurityGroups and AdditionalSlaveSecurityGroups), at most 4."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.additional_security_group_ids) <= 4 && alltrue([for id in var.additional_security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "additional_security_group_ids must hold at most 4 security group IDs (sg-...)."
  }
}

variable "emr_managed_master_security_group_id" {
  description = "EMR-managed security group of the primary node (EmrManagedMasterSecurityGroup). null: EMR creates or reuses its default group in the subnet's VPC (which then needs the for-use-with-amazon-emr-managed-policies tag). Set it together with emr_managed_core_security_group_id."
  type        = string
  default     = null

  validation {
    condition     = var.emr_managed_master_security_group_id == null ? true : can(regex("^sg-[0-9a-f]+$", var.emr_managed_master_security_group_id))
    error_message = "emr_managed_master_security_group_id must be null or a security group ID (sg-...)."
  }
}

variable "emr_managed_core_security_group_id" {
  description = "EMR-managed security group of the core nodes (EmrManagedSlaveSecurityGroup). null: EMR's default. Set it together with emr_managed_master_security_group_id."
  type        = string
  default     = null

  validation {
    condition     = var.emr_managed_core_security_group_id == null ? true : can(regex("^sg-[0-9a-f]+$", var.emr_managed_core_security_group_id))
    error_message = "emr_managed_core_security_group_id must be null or a security group ID (sg-...)."
  }

  validation {
    condition     = (var.emr_managed_core_security_group_id == null) == (var.emr_managed_master_security_group_id == null)
    error_message = "Set emr_managed_master_security_group_id and emr_managed_core_security_group_id together, or neither."
  }
}

variable "service_access_security_group_id" {
  description = "Security group for EMR's service access in a private subnet (ServiceAccessSecurityGroup). null: EMR's default."
  type        = string
  default     = null

  validation {
    condition     = var.service_access_security_group_id == null ? true : can(regex("^sg-[0-9a-f]+$", var.service_access_security_group_id))
    error_message = "service_access_security_group_id must be null or a security group ID (sg-...)."
  }
}

variable "idle_timeout_seconds" {
  description = "AutoTerminationPolicy.IdleTimeout of every cluster (60-604800 s): a cluster the state machine could not terminate ends itself after this long without work."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = floor(var.idle_timeout_seconds) == var.idle_timeout_seconds && var.idle_timeout_seconds >= 60 && var.idle_timeout_seconds <= 604800
    error_message = "idle_timeout_seconds must be a whole number of seconds from 60 to 604800."
  }
}

# ---------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------

variable "grace_minutes" {
  description = "Minute of every hour the schedule starts a run (cron(<grace_minutes> * * * ? *), UTC): late writes of the hour before get this long to land. 1-59."
  type        = number
  default     = 15
  nullable    = false

  validation {
    condition     = floor(var.grace_minutes) == var.grace_minutes && var.grace_minutes >= 1 && var.grace_minutes <= 59
    error_message = "grace_minutes must be a whole number of minutes from 1 to 59."
  }
}

variable "schedule_enabled" {
  description = "Whether the hourly schedule starts runs (state ENABLED). false pauses compaction without destroying anything: the root module then has the loader's own schedule load every raw file uncompacted, as load_strategy = \"schedule\" does, and runs can still be started by hand with {\"hour\": \"YYYY-MM-DDTHH\"}."
  type        = bool
  default     = true
  nullable    = false
}

variable "cluster_timeout_seconds" {
  description = "TimeoutSeconds of StartCluster: how long a cluster may take to start (300-7200 s) before the run gives up and loads the hour raw."
  type        = number
  default     = 1800
  nullable    = false

  validation {
    condition     = floor(var.cluster_timeout_seconds) == var.cluster_timeout_seconds && var.cluster_timeout_seconds >= 300 && var.cluster_timeout_seconds <= 7200
    error_message = "cluster_timeout_seconds must be a whole number of seconds from 300 to 7200."
  }
}

variable "step_timeout_seconds" {
  description = "TimeoutSeconds of Compact: how long s3-dist-cp may run (60-86400 s) before the run terminates the cluster and loads the hour raw."
  type        = number
  default     = 3600
  nullable    = false

  validation {
    condition     = floor(var.step_timeout_seconds) == var.step_timeout_seconds && var.step_timeout_seconds >= 60 && var.step_timeout_seconds <= 86400
    error_message = "step_timeout_seconds must be a whole number of seconds from 60 to 86400."
  }
}
