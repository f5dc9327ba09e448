terraform {
  # 1.9: validation blocks that refer to other variables (architecture against instance_type).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Same floor as the other modules; it also has the Auto Scaling group's instance_refresh
      # max_healthy_percentage and the SSM parameter data source's insecure_value.
      version = ">= 5.39.0, < 7.0"
    }
  }
}
