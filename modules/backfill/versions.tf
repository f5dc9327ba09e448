terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.39.0 is the floor shared by the writer modules: the provider validates the
      # Lambda runtime name, and python3.12 is unknown to early 5.x releases.
      version = ">= 5.39.0, < 7.0"
    }
  }
}
