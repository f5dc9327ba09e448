terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # extended_s3_configuration.file_extension arrived in provider 5.39.0.
      version = ">= 5.39.0, < 7.0"
    }
  }
}
