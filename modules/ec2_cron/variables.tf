# ---------------------------------------------------------------------------
# Common
# ---------------------------------------------------------------------------

variable "name" {
  description = "Name prefix for the resources this module names (<name>-ec2-loader group, launch template, security group, alarm; log group /ddb-cdc/<name>/ec2-loader). Lowercase letters, digits and hyphens, 1-40 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters of lowercase letters, digits and hyphens."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource this module creates, and propagated to the instance and its volume."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified when the loader host is gone (no instance in service). Empty list: the alarm changes state but notifies no one."
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
    ARN of a customer managed KMS key. When set it encrypts the root volume, the log group and the package object. The key
    policy must let Auto Scaling's service-linked role (AWSServiceRoleForAutoScaling) use it for the volume, and CloudWatch
    Logs (logs.<region>.amazonaws.com) for the log group. null: the account's default EBS key, AWS-managed encryption elsewhere.
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
# Host
# ---------------------------------------------------------------------------

variable "subnet_ids" {
  description = "Subnets the Auto Scaling group may place its one instance in (several AZs let it heal across an AZ outage). They need a route to AWS APIs (S3, SSM, CloudWatch Logs, Redshift Data API or the cluster) and to the Amazon Linux and PyPI package repositories: a NAT gateway, or VPC endpoints plus a package mirror."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "subnet_ids must hold at least one subnet ID (subnet-...)."
  }
}

variable "security_group_ids" {
  description = "Security groups the instance joins besides its own (which allows HTTPS out and nothing in): with executor = \"psycopg2\", the groups the cluster admits."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "security_group_ids must be security group IDs (sg-...)."
  }
}

variable "instance_type" {
  description = "EC2 instance type of the loader host. A load is one Data API call (or one psycopg2 session) plus S3 listing, so the smallest type serves."
  type        = string
  default     = "t4g.nano"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must be an EC2 instance type such as t4g.nano or t3.micro."
  }
}

variable "architecture" {
  description = "CPU architecture of the AMI: \"arm64\" (Graviton types such as t4g) or \"x86_64\". null: the instance type's (arm64 for Graviton families, whose name has a g after the generation digit, else x86_64)."
  type        = string
  default     = null

  validation {
    condition     = var.architecture == null || contains(["arm64", "x86_64"], coalesce(var.architecture, "arm64"))
    error_message = "architecture must be \"arm64\" or \"x86_64\"."
  }

  validation {
    condition     = var.architecture == null || coalesce(var.architecture, "none") == (can(regex("^([a-z]+[0-9]+g|a1\\.)", var.instance_type)) ? "arm64" : "x86_64")
    error_message = "architecture must match instance_type: Graviton families (t4g, m7g, c7gn, ...) run arm64, the others x86_64."
  }
}

variable "rate_minutes" {
  description = "Minutes between two loads: the systemd timer's OnUnitActiveSec (the first run comes 1 minute after boot)."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = floor(var.rate_minutes) == var.rate_minutes && var.rate_minutes >= 1 && var.rate_minutes <= 1440
    error_message = "rate_minutes must be a whole number from 1 to 1440."
  }
}

variable "root_volume_size_gb" {
  description = "Size of the encrypted gp3 root volume in GiB (Amazon Linux 2023 needs 8 at least)."
  type        = number
  default     = 8
  nullable    = false

  validation {
    condition     = floor(var.root_volume_size_gb) == var.root_volume_size_gb && var.root_volume_size_gb >= 8 && var.root_volume_size_gb <= 1024
    error_message = "root_volume_size_gb must be a whole number of GiB from 8 to 1024."
  }
}

variable "ami_ssm_parameter" {
  description = "SSM parameter holding the AMI ID. null: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-<architecture>. The user data needs Amazon Linux 2023 (dnf, python3.11, root device /dev/xvda); a new AMI behind the parameter becomes a new launch template version at the next apply, which replaces the host."
  type        = string
  default     = null

  validation {
    condition     = var.ami_ssm_parameter == null || can(regex("^/[A-Za-z0-9_./-]+$", coalesce(var.ami_ssm_parameter, "/")))
    error_message = "ami_ssm_parameter must be an SSM parameter name starting with \"/\"."
  }
}

variable "log_retention_days" {
  description = "Days the host's log group (/ddb-cdc/<name>/ec2-loader) keeps the load runs' output."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

# ---------------------------------------------------------------------------
# The loader it runs (from modules/redshift_loader)
# ---------------------------------------------------------------------------

variable "role_name" {
  description = "Name of the role the host runs as (redshift_loader's loader_role_name; its trust policy must admit ec2.amazonaws.com). The instance profile holds it, and this module adds the host's own needs to it: Session Manager (its five agent calls, only from the instance), reading the package object and writing the host's log group."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be an IAM role name (1-64 characters of letters, digits and +=,.@_-)."
  }
}

variable "loader_environment" {
  description = "The loader's environment (redshift_loader's loader_environment): written to /etc/ddb-cdc/loader.env, the service's EnvironmentFile, with AWS_REGION and AWS_DEFAULT_REGION added. CDC_EXECUTOR = \"psycopg2\" also installs psycopg2-binary."
  type        = map(string)

  validation {
    condition     = alltrue([for k in keys(var.loader_environment) : can(regex("^[A-Z_][A-Z0-9_]*$", k))])
    error_message = "loader_environment keys must be environment variable names (A-Z, 0-9, _)."
  }

  # systemd's EnvironmentFile takes a value literally unless it starts with a quote, drops backslashes and trims
  # trailing blanks: such values would reach the loader changed, so they are refused here.
  validation {
    condition     = alltrue([for v in values(var.loader_environment) : !can(regex("[\\n\\r\\\\]|^[\"'\\s]|\\s$", v))])
    error_message = "loader_environment values may not hold a newline or a backslash, start with a quote or blank, or end with a blank: systemd's EnvironmentFile would change them."
  }
}

variable "loader_timeout_seconds" {
  description = "Limit of one load run in seconds (redshift_loader's loader_timeout_seconds): the service's TimeoutStartSec."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = floor(var.loader_timeout_seconds) == var.loader_timeout_seconds && var.loader_timeout_seconds >= 30 && var.loader_timeout_seconds <= 86400
    error_message = "loader_timeout_seconds must be a whole number of seconds from 30 to 86400."
  }
}

# ---------------------------------------------------------------------------
# Package artifact
# ---------------------------------------------------------------------------

variable "bucket_name" {
  description = "Bucket the package zip is uploaded to (the CDC bucket), under <prefix>/artifacts/."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name."
  }
}

variable "bucket_arn" {
  description = "ARN of that bucket, to scope the host's read to the package object."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN (arn:aws:s3:::<bucket>)."
  }
}

variable "prefix" {
  description = "Key prefix of the CDC layout, as given to s3_sink. No leading or trailing slash; empty string: the layout starts at the bucket root. The package lands at <prefix>/artifacts/ddb_cdc-<hash>.zip."
  type        = string
  default     = "cdc"
  nullable    = false

  validation {
    condition     = can(regex("^([A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*)?$", var.prefix))
    error_message = "prefix must be empty or slash-separated segments of letters, digits, '_', '.', '=', '-', with no leading, trailing or doubled slash."
  }
}

variable "package_path" {
  description = "Path of the ddb_cdc package zip (the one the functions run), uploaded as the host's artifact."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must be the path of a .zip file."
  }
}

variable "package_sha256" {
  description = "Hex SHA-256 of the zip at package_path. Its first 16 digits name the object, so a new package is a new key, new user data, a new launch template version and an instance refresh."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.package_sha256))
    error_message = "package_sha256 must be a hex SHA-256 digest (64 lowercase hex digits)."
  }
}
