output "autoscaling_group_name" {
  description = "Name of the Auto Scaling group of one that runs the loader host (<name>-ec2-loader)."
  value       = aws_autoscaling_group.host.name
}

output "launch_template_id" {
  description = "ID of the host's launch template; its latest version carries the user data."
  value       = aws_launch_template.host.id
}

output "launch_template_latest_version" {
  description = "Latest version of the launch template: the one the group launches."
  value       = aws_launch_template.host.latest_version
}

output "instance_profile_arn" {
  description = "ARN of the host's instance profile (it holds role_name)."
  value       = aws_iam_instance_profile.host.arn
}

output "security_group_id" {
  description = "ID of the host's own security group (HTTPS out, nothing in)."
  value       = aws_security_group.host.id
}

output "log_group_name" {
  description = "CloudWatch log group of the load runs' output, one stream per instance ID (/ddb-cdc/<name>/ec2-loader)."
  value       = aws_cloudwatch_log_group.host.name
}

output "artifact_uri" {
  description = "s3:// URI of the package zip the host installs (<prefix>/artifacts/ddb_cdc-<first 16 hex of its SHA-256>.zip)."
  value       = local.artifact_uri
}

output "rate_minutes" {
  description = "Minutes between two loads (the timer's OnUnitActiveSec): the loader's lag alarm window follows it."
  value       = var.rate_minutes
}

output "architecture" {
  description = "CPU architecture of the host's AMI (arm64 or x86_64)."
  value       = local.architecture
}

output "user_data" {
  description = "The rendered #cloud-config user data (before base64). It holds no secret: the loader reads those at run time."
  value       = local.user_data
}

output "host_alarm_name" {
  description = "Name of the alarm that fires when the group has had no instance in service for 5 minutes."
  value       = aws_cloudwatch_metric_alarm.host_gone.alarm_name
}

output "host_alarm_threshold" {
  description = "Threshold of the host alarm: it fires while GroupInServiceInstances (AWS/AutoScaling, AutoScalingGroupName) stays below this."
  value       = aws_cloudwatch_metric_alarm.host_gone.threshold
}
