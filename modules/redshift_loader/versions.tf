terraform {
  # 1.9: validation blocks that refer to other variables (executor-dependent
  # inputs, copy role choice) and override_during in the tests.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Same floor as the writer modules: python3.12 is unknown to early 5.x releases.
      version = ">= 5.39.0, < 7.0"
    }
  }
}
