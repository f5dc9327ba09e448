output "state_machine_arn" {
  description = "ARN of the compaction state machine (<name>-compaction). A manual run compacts one UTC hour: aws stepfunctions start-execution --state-machine-arn <arn> --input '{\"hour\": \"YYYY-MM-DDTHH\"}'."
  value       = aws_sfn_state_machine.compaction.arn
}

output "state_machine_name" {
  description = "Name of the compaction state machine (<name>-compaction)."
  value       = aws_sfn_state_machine.compaction.name
}

output "state_machine_definition" {
  description = "The Amazon States Language definition of the state machine (JSON)."
  value       = aws_sfn_state_machine.compaction.definition
}

output "schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule that starts a run every hour at minute grace_minutes (UTC)."
  value       = aws_scheduler_schedule.compaction.arn
}

output "schedule_expression" {
  description = "The schedule's expression: cron(<grace_minutes> * * * ? *)."
  value       = aws_scheduler_schedule.compaction.schedule_expression
}

output "emr_service_role_name" {
  description = "Name of the EMR service role of the clusters (<name>-emr-service; AmazonEMRServicePolicy_v2 plus passing the instance role to EC2)."
  value       = aws_iam_role.emr_service.name
}

output "emr_service_role_arn" {
  description = "ARN of the EMR service role."
  value       = aws_iam_role.emr_service.arn
}

output "emr_instance_profile_name" {
  description = "Name of the instance profile of the clusters' nodes (<name>-emr-instance): RunJobFlow's JobFlowRole."
  value       = aws_iam_instance_profile.instance.name
}

output "emr_instance_role_arn" {
  description = "ARN of the role the clusters' nodes run as (in the instance profile); a kms_key_arn's key policy must let it use the key for local disk encryption."
  value       = aws_iam_role.instance.arn
}

output "security_configuration_name" {
  description = "Name of the EMR security configuration of the clusters (<name>-compaction)."
  value       = aws_emr_security_configuration.this.name
}

output "log_uri" {
  description = "Where the clusters push their logs: s3://<bucket>/<prefix>/emr-logs/<table>/."
  value       = local.log_uri
}

output "latest_finish_seconds" {
  description = "Seconds after an hour ends by which its run has started its last Load at the latest: the grace, Scheduler's late delivery, the Plan's and Load's throttling retries, the cluster, step and termination timeouts and retries (see main.tf). The loader's reconciliation sweep adds an hour and the load's own timeout, so it never loads a raw file its compaction may still take."
  value       = local.latest_finish_seconds
}

output "alarm_arns" {
  description = "ARNs of the alarms on failed, timed-out and aborted runs, and on runs that stopped starting (AWS/States, StateMachineArn dimension)."
  value       = concat([for k in sort(keys(aws_cloudwatch_metric_alarm.executions)) : aws_cloudwatch_metric_alarm.executions[k].arn], aws_cloudwatch_metric_alarm.not_running[*].arn)
}

output "execution_alarm_thresholds" {
  description = "The run alarms' AWS/States metrics (StateMachineArn dimension) and thresholds, read from the alarms: ExecutionsFailed, ExecutionsTimedOut and ExecutionsAborted fire above theirs, ExecutionsStarted (only while the schedule is enabled) below its."
  value = merge(
    { for alarm in aws_cloudwatch_metric_alarm.executions : alarm.metric_name => alarm.threshold },
    { for alarm in aws_cloudwatch_metric_alarm.not_running : alarm.metric_name => alarm.threshold },
  )
}
