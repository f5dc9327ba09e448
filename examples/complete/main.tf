# A complete deployment: an existing (or new) table streamed into a new, locked-down bucket and merged into Redshift.
# Copy terraform.tfvars.example to terraform.tfvars, edit it, then: terraform init && terraform apply.
# With warehouse.create = true it also creates a small Redshift Serverless warehouse for the loader (what
# `make verify-aws` applies); by default it loads into the warehouse you name in `redshift`. The loader looks the
# workgroup up by name while planning, so the first apply of a created warehouse takes two steps:
#   terraform apply -target='aws_redshiftserverless_workgroup.this[0]' && terraform apply

locals {
  create_warehouse = var.warehouse.create
  warehouse_name   = coalesce(var.warehouse.name, "${var.name}-warehouse")

  # The module's `redshift` input: yours, or the created workgroup reached through the Data API. Every attribute is
  # spelled out so that both branches have the same object type. The workgroup is named, not referenced: the
  # namespace takes the module's COPY role, so a reference here would be a dependency cycle.
  redshift = local.create_warehouse ? {
    kind                 = "serverless"
    database             = var.warehouse.database
    cluster_identifier   = null
    db_user              = null
    secret_arn           = null
    workgroup_name       = local.warehouse_name
    executor             = "data_api"
    data_api_mode        = var.warehouse.data_api_mode
    copy_role_arn        = null
    create_copy_role     = true
    db_secret_arn        = null
    db_ssm_parameter_arn = null
    psycopg2_layer_arn   = null
    vpc                  = null
  } : var.redshift
}

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

  load_strategy  = var.load_strategy
  ec2_cron       = var.ec2_cron
  emr_compaction = var.emr_compaction
  redshift       = local.redshift
  target_spec    = var.target_spec
  loader         = var.loader

  backfill = var.backfill
}

# ---------------------------------------------------------------------------
# Optional warehouse (warehouse.create = true): Redshift Serverless at its smallest
# ---------------------------------------------------------------------------

# No secret reaches the state or the outputs: Redshift generates the admin password and keeps it in Secrets Manager
# (manage_admin_password). Namespaces are always encrypted; kms_key_arn, when set, replaces the AWS-owned key.
resource "aws_redshiftserverless_namespace" "this" {
  count = local.create_warehouse ? 1 : 0

  #checkov:skip=CKV_AWS_282:Serverless namespaces are always encrypted; a customer-managed key is used whenever kms_key_arn is set.
  namespace_name                   = local.warehouse_name
  db_name                          = var.warehouse.database
  admin_username                   = var.warehouse.admin_username
  manage_admin_password            = true
  admin_password_secret_kms_key_id = var.kms_key_arn
  kms_key_id                       = var.kms_key_arn
  # COPY names the module's role explicitly (IAM_ROLE '<arn>'), and Redshift only lets it use roles associated here.
  iam_roles            = [module.cdc.copy_role_arn]
  default_iam_role_arn = module.cdc.copy_role_arn
  log_exports          = ["userlog", "connectionlog", "useractivitylog"]
}

# The loader reaches the workgroup through the Data API, which needs no network path: nothing listens publicly.
resource "aws_redshiftserverless_workgroup" "this" {
  count = local.create_warehouse ? 1 : 0

  namespace_name       = aws_redshiftserverless_namespace.this[0].namespace_name
  workgroup_name       = local.warehouse_name
  base_capacity        = var.warehouse.base_capacity
  max_capacity         = var.warehouse.max_capacity
  publicly_accessible  = false
  enhanced_vpc_routing = false
  subnet_ids           = var.warehouse.subnet_ids
  security_group_ids   = var.warehouse.security_group_ids
}
