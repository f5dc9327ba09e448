# A complete deployment: an existing (or new) table streamed into a new, locked-down bucket and merged into Redshift.
# Copy terraform.tfvars.example to terraform.tfvars, edit it, then: terraform init && terraform apply.

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

module "cdc" {
  source = "../.."

  name           = var.name
  aggregation    = var.aggregation
  table          = var.table
  stream_mapping = var.stream_mapping
  bucket         = var.bucket
  firehose       = var.firehose
  writer         = var.writer
  kms_key_arn    = var.kms_key_arn
  alarm_actions  = var.alarm_actions

  load_strategy = var.load_strategy
  redshift      = var.redshift
  target_spec   = var.target_spec
  loader        = var.loader
}
