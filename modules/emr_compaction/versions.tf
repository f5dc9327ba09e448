terraform {
  # 1.9: validation blocks that refer to other variables (the key of the alert topic against the topic).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Same floor as the other modules; it has aws_scheduler_schedule and the state machine's
      # logging and tracing blocks.
      version = ">= 5.39.0, < 7.0"
    }
  }
}
