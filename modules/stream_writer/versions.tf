terraform {
  # 1.9 lets a validation read another variable (delivery_stream checks destination); 1.11 for the tests' override_during.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The provider validates the Lambda runtime name, and python3.12 is unknown to early 5.x releases.
      version = ">= 5.39.0, < 7.0"
    }
  }
}
