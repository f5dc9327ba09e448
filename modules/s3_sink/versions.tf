terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The floor every module of this repository shares (stream_writer's python3.12 runtime and firehose's
      # file_extension need 5.39.0), so one provider constraint serves the whole stack.
      version = ">= 5.39.0, < 7.0"
    }
  }
}
