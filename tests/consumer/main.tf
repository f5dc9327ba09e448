# A consumer configuration: how a team adopts the module into infrastructure it already has (issue 13). It calls the
# module by relative path, exactly as a user's own root module would call it from a registry or a git source.
# What it adopts: the DynamoDB table `orders` (stream already on), the bucket `acme-shop-cdc`, the Redshift Serverless
# workgroup `analytics`, a customer managed KMS key and the team's SNS topic. It chooses aggregation = "firehose",
# load_strategy = "schedule" (which leaves the adopted bucket's notifications alone) and columns mode with history.
# tests/consumer/tests/ plans it with mock providers; tests/plan_time_errors.tftest.hcl refuses its mistakes.

provider "aws" {
  region = "us-east-1"
}

variable "bucket" {
  description = "The team's existing bucket (create = false: adopted, left as it is)."
  type        = any
  default     = { name = "acme-shop-cdc", create = false, prefix = "cdc" }
}

variable "load_strategy" {
  description = "schedule: the loader lists new files on a timer, so the adopted bucket's notifications stay the team's."
  type        = string
  default     = "schedule"
}

variable "loader" {
  description = "Loader settings; the alerts go to the team's own topic."
  type        = any
  default     = { sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:shop-alerts" }
}

variable "target_spec" {
  description = "The warehouse table: typed columns plus a history table."
  type        = any
  default = {
    schema  = "cdc"
    table   = "orders"
    mode    = "columns"
    history = true
    columns = [
      { name = "status", type = "VARCHAR(32)", path = ["status"] },
      { name = "total", type = "DECIMAL(12,2)", path = ["amounts", "total"] },
    ]
  }
}

module "cdc" {
  source = "../.."

  name        = "shop-cdc"
  aggregation = "firehose"
  table       = { name = "orders", create = false }
  bucket      = var.bucket
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"

  redshift = {
    kind             = "serverless"
    database         = "dev"
    workgroup_name   = "analytics"
    create_copy_role = true
  }

  load_strategy = var.load_strategy
  loader        = var.loader
  target_spec   = var.target_spec
}

output "loader_function_name" {
  description = "The loader function, for ddb-cdc status."
  value       = module.cdc.loader_function_name
}

output "copy_role_arn" {
  description = "Associate this role with the workgroup's namespace so COPY can read the change files."
  value       = module.cdc.copy_role_arn
}
