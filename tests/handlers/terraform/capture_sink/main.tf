# A small stack applied by pytest-terraform (tests/handlers/test_capture_stack.py) to the in-process moto server
# started by tests/handlers/conftest.py: a source table with its stream and the real modules/s3_sink with its writer.
# The handler tests then run the writer's code with the environment this module gave the deployed function.
# pytest-terraform passes no -var: the inputs come from TF_VAR_* set by the conftest.

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.39.0, < 7.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4.0"
    }
  }
}

variable "endpoint" {
  description = "The moto server's URL."
  type        = string
}

variable "name" {
  description = "Name prefix of the stack."
  type        = string
  default     = "handlers-stack"
}

variable "zip_path" {
  description = "Where archive_file writes the function package (outside the repository)."
  type        = string
}

provider "aws" {
  region = "us-east-1"
  # moto's documented dummy keys (tests/sandbox DUMMY_CREDENTIALS), so nothing here can reach a real account.
  access_key = "testing"
  secret_key = "testing"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    cloudwatch = var.endpoint
    dynamodb   = var.endpoint
    iam        = var.endpoint
    lambda     = var.endpoint
    logs       = var.endpoint
    s3         = var.endpoint
    sqs        = var.endpoint
    sts        = var.endpoint
  }
}

data "archive_file" "lambda" {
  type             = "zip"
  source_dir       = "${path.module}/../../../../lambda_src"
  output_path      = var.zip_path
  output_file_mode = "0644"
  excludes         = ["*__pycache__*", "*.pyc", "*.egg-info*"]
}

resource "aws_dynamodb_table" "source" {
  name             = "${var.name}-orders"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "order_id"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "order_id"
    type = "S"
  }
}

module "sink" {
  source = "../../../../modules/s3_sink"

  create_bucket = true
  bucket_name   = "${var.name}-changes"
  prefix        = "cdc"
  table_name    = aws_dynamodb_table.source.name
  force_destroy = true
}

module "writer" {
  source = "../../../../modules/stream_writer"

  name        = var.name
  destination = "s3"
  bucket_name = module.sink.bucket_name
  bucket_arn  = module.sink.bucket_arn
  prefix      = "cdc"
  table_name  = aws_dynamodb_table.source.name

  stream_arn              = aws_dynamodb_table.source.stream_arn
  lambda_zip_path         = data.archive_file.lambda.output_path
  lambda_zip_base64sha256 = data.archive_file.lambda.output_base64sha256
}

output "table_name" {
  value = aws_dynamodb_table.source.name
}

output "bucket_name" {
  value = module.sink.bucket_name
}

output "raw_prefix" {
  value = module.sink.raw_prefix
}

output "writer_function_name" {
  value = module.writer.function_name
}

output "dlq_url" {
  value = module.writer.dlq_url
}
