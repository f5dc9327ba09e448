# The real root module applied to a local AWS emulator (moto), sized so that 10,000 changes flow end to end in seconds.
# `make demo` applies it through tests/sandbox/terraform_stack.py; by hand, with a moto server on port 5000:
#   terraform init && terraform apply -var endpoint=http://127.0.0.1:5000
# The bucket policy denies requests without TLS, so the handlers need an HTTPS endpoint: the sandbox serves one with
# a certificate made per run (trusted through SSL_CERT_FILE for Terraform, AWS_CA_BUNDLE for the SDKs).
# Credentials are the emulator's dummies and every skip flag is set, so nothing here can reach a real AWS account.

locals {
  cluster_identifier = "${var.name}-warehouse"
  database           = "dev"
  db_user            = "cdc_loader"
  target_schema      = "cdc"
  target_table       = "readings"

  ec2_cron       = var.load_strategy == "ec2_cron"
  emr_compaction = var.load_strategy == "emr_compaction"
  # The ec2_cron host and the emr_compaction clusters start in the demo subnet.
  demo_network = local.ec2_cron || local.emr_compaction
}

provider "aws" {
  region     = "us-east-1"
  access_key = var.access_key
  secret_key = var.secret_key

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    autoscaling        = var.endpoint
    cloudwatch         = var.endpoint
    dynamodb           = var.endpoint
    ec2                = var.endpoint
    emr                = var.endpoint
    events             = var.endpoint
    firehose           = var.endpoint
    iam                = var.endpoint
    kms                = var.endpoint
    lambda             = var.endpoint
    logs               = var.endpoint
    redshift           = var.endpoint
    redshiftserverless = var.endpoint
    s3                 = var.endpoint
    scheduler          = var.endpoint
    sns                = var.endpoint
    sqs                = var.endpoint
    ssm                = var.endpoint
    stepfunctions      = var.endpoint
    sts                = var.endpoint
  }
}

module "cdc" {
  source = "../.."

  name        = var.name
  aggregation = var.aggregation

  # The key schema the generator's iot profile writes: id (S) and timestamp (N). With adopt_table the demo has created
  # the table (and its NEW_AND_OLD_IMAGES stream) and seeded it before this apply, as an adopter's table would be;
  # its key schema is then read from the table. The export backfill needs point-in-time recovery.
  table = {
    name                   = "${var.name}-readings"
    create                 = !var.adopt_table
    hash_key               = var.adopt_table ? null : { name = "id", type = "S" }
    range_key              = var.adopt_table ? null : { name = "timestamp", type = "N" }
    point_in_time_recovery = var.backfill_mode == "export"
    deletion_protection    = false
  }

  stream_mapping = {
    batch_size                         = 1000
    maximum_batching_window_in_seconds = 1
    maximum_retry_attempts             = 3
  }

  bucket = {
    name          = "${var.name}-changes"
    create        = true
    prefix        = "cdc"
    force_destroy = true
  }

  firehose = {
    buffering_size_mb          = 1
    buffering_interval_seconds = 5
  }

  writer = {
    memory_size        = 256
    timeout            = 30
    log_retention_days = 1
  }

  load_strategy = var.load_strategy
  # The loader host's group places its one instance in the demo subnet (the emulator runs nothing on it: the sandbox
  # reads its user data and runs the timer's command itself).
  ec2_cron = {
    subnet_ids         = aws_subnet.loader_host[*].id
    rate_minutes       = var.ec2_cron_rate_minutes
    log_retention_days = 1
  }
  # The compaction clusters start in the same subnet (the emulator's EMR runs nothing on it: the sandbox's emr patch
  # plays the cluster and its s3-dist-cp step). The smallest cluster: a primary node alone.
  emr_compaction = {
    subnet_id              = one(aws_subnet.loader_host[*].id)
    core_instance_count    = 0
    log_retention_days     = 1
    schedule_enabled       = var.compaction_schedule_enabled
    reconcile_rate_minutes = var.compaction_reconcile_rate_minutes
  }
  redshift = {
    kind               = "provisioned"
    cluster_identifier = local.cluster_identifier
    db_user            = local.db_user
    database           = local.database
    executor           = "data_api"
    data_api_mode      = var.data_api_mode
    create_copy_role   = true
  }

  target_spec = {
    schema = local.target_schema
    table  = local.target_table
    # "timestamp" is a reserved SQL word: the loader refuses it as a column name.
    key_column_names = { timestamp = "ts" }
  }

  loader = {
    s3_event = {
      batch_size                         = 1000
      maximum_batching_window_in_seconds = 2
    }
    schedule = {
      rate_minutes = 1
    }
    log_retention_days = 1
  }

  # Small pages and a short poll so that a 20,000-item demo table runs many pages per segment within seconds; retries
  # wait for real in the emulator, so they start after 1 s.
  backfill = {
    mode                  = var.backfill_mode
    total_segments        = 4
    max_concurrency       = 4
    page_size             = var.backfill_page_size
    read_units_per_second = var.backfill_read_units_per_second
    export_poll_seconds   = 5
    retry                 = { interval_seconds = 1, max_attempts = 3, max_delay_seconds = 5 }
    memory_size           = 256
    log_retention_days    = 1
  }
}

# The warehouse the Data API emulator stands in for. The loader only needs its identifier, so the module takes the
# name, not this resource: the cluster in turn takes the module's COPY role.
resource "aws_redshift_cluster" "warehouse" {
  #checkov:skip=CKV_AWS_64:Emulated cluster: no data at rest outside this process.
  #checkov:skip=CKV_AWS_71:Emulated cluster: audit logging has nowhere to go.
  #checkov:skip=CKV_AWS_105:Emulated cluster: no network listener to require TLS on.
  #checkov:skip=CKV_AWS_142:Emulated cluster: no KMS in the sandbox.
  #checkov:skip=CKV_AWS_154:Emulated cluster: no VPC in the sandbox.
  #checkov:skip=CKV_AWS_321:Emulated cluster: no VPC in the sandbox.
  #checkov:skip=CKV_AWS_343:Emulated cluster: snapshots are meaningless for a throwaway emulator.
  cluster_identifier = local.cluster_identifier
  database_name      = local.database
  master_username    = "admin_user"
  # No password in variables or state: Redshift generates the admin password and keeps it in a Secrets Manager secret
  # it manages ("Managing Amazon Redshift admin passwords using AWS Secrets Manager", Amazon Redshift management guide,
  # https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-secrets-manager-integration.html). The loader never uses
  # it: it authenticates with temporary credentials for db_user.
  manage_master_password = true
  node_type              = "ra3.xlplus"
  cluster_type           = "single-node"
  publicly_accessible    = false
  iam_roles              = [module.cdc.copy_role_arn]
  skip_final_snapshot    = true
}

# load_strategy = "ec2_cron" or "emr_compaction": a network for the loader host or the compaction clusters. The
# emulator needs no route out; a real VPC would need a NAT gateway or VPC endpoints (see modules/ec2_cron/README.md
# and modules/emr_compaction/README.md). The EMR service role's managed policy (AmazonEMRServicePolicy_v2) launches
# instances only into a subnet, and creates its security groups only in a VPC, tagged
# for-use-with-amazon-emr-managed-policies = true.
resource "aws_vpc" "loader_host" {
  #checkov:skip=CKV2_AWS_11:Emulated VPC: flow logs have nowhere to go in the sandbox.
  #checkov:skip=CKV2_AWS_12:Emulated VPC: its default security group carries no traffic; the host and the clusters use their own groups.
  count = local.demo_network ? 1 : 0

  cidr_block           = "10.42.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags = {
    Name                                       = "${var.name}-loader-host"
    "for-use-with-amazon-emr-managed-policies" = "true"
  }
}

resource "aws_subnet" "loader_host" {
  count = local.demo_network ? 1 : 0

  vpc_id            = aws_vpc.loader_host[0].id
  cidr_block        = "10.42.1.0/24"
  availability_zone = "us-east-1a"
  tags = {
    Name                                       = "${var.name}-loader-host"
    "for-use-with-amazon-emr-managed-policies" = "true"
  }
}
