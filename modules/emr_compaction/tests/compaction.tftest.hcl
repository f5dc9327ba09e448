# Plan-only tests of the compaction machine: its definition (decoded with jsondecode and checked state by state), the
# schedule, the cluster's request, the security configuration, and the scope of every IAM grant.

mock_provider "aws" {
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }

  mock_data "aws_region" {
    defaults = { id = "eu-west-1", name = "eu-west-1" }
  }

  # The real provider still validates policy arguments as JSON, so the mocked documents render a minimal valid
  # policy; their statements stay asserted.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vendedlogs/states/orders-cdc-compaction" }
  }

  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders-cdc-compaction" }
  }

  mock_resource "aws_scheduler_schedule" {
    defaults = { arn = "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/orders-cdc-compaction" }
  }
}

override_resource {
  target          = aws_iam_role.emr_service
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:role/orders-cdc-emr-service" }
}

override_resource {
  target          = aws_iam_role.instance
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:role/orders-cdc-emr-instance" }
}

override_resource {
  target          = aws_iam_role.state_machine
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:role/orders-cdc-compaction-states" }
}

override_resource {
  target          = aws_iam_role.scheduler
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:role/orders-cdc-compaction-scheduler" }
}

variables {
  name                  = "orders-cdc"
  table_name            = "orders"
  bucket_name           = "acme-orders-cdc"
  bucket_arn            = "arn:aws:s3:::acme-orders-cdc"
  prefix                = "cdc"
  subnet_id             = "subnet-0a1b2c3d4e5f60718"
  loader_function_arn   = "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader"
  alerts_topic_arn      = "arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"
  dead_letter_queue_arn = "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-invoke-dlq"
}

# ---------------------------------------------------------------------------
# The state machine
# ---------------------------------------------------------------------------

run "definition_has_the_contract_states" {
  command = plan

  assert {
    condition = toset(keys(jsondecode(aws_sfn_state_machine.compaction.definition).States)) == toset([
      "Plan", "AnyInputs", "LoadLateFiles", "StartCluster", "Compact", "Terminate", "Load", "LoadAndAlert", "Done",
      "TerminateAfterFailure", "LoadRaw", "Notify", "Failed",
    ])
    error_message = "The machine must have exactly the states of the emr_compaction contract."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).StartAt == "Plan" &&
      !contains(keys(jsondecode(aws_sfn_state_machine.compaction.definition)), "TimeoutSeconds") &&
      !contains(keys(jsondecode(aws_sfn_state_machine.compaction.definition)), "QueryLanguage") &&
      length(regexall("States\\.[A-Za-z]+\\(", aws_sfn_state_machine.compaction.definition)) == 0
    )
    error_message = "The machine starts at Plan and uses no execution timeout, no JSONata and no intrinsic function."
  }

  # Every Task catches every error; each Catch leads to a state of the machine.
  assert {
    condition = alltrue([
      for name, state in jsondecode(aws_sfn_state_machine.compaction.definition).States :
      state.Type != "Task" || (
        length(try(state.Catch, [])) > 0 &&
        alltrue([for c in try(state.Catch, []) : contains(c.ErrorEquals, "States.ALL") && contains(keys(jsondecode(aws_sfn_state_machine.compaction.definition).States), c.Next)])
      )
    ])
    error_message = "Every Task state must catch States.ALL into a state of the machine."
  }

  # The happy path: Plan -> AnyInputs -> StartCluster -> Compact -> Terminate -> Load -> Done.
  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Plan.Next == "AnyInputs" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Next == "Compact" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Compact.Next == "Terminate" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Terminate.Next == "Load" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Load.Next == "Done" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Done.Type == "Succeed" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.LoadLateFiles.Next == "Done" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.LoadLateFiles.Parameters.Payload.compacted == false
    )
    error_message = "The cluster must be terminated before the load: Compact -> Terminate -> Load -> Done."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.AnyInputs.Type == "Choice" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.AnyInputs.Choices == [{ Variable = "$.plan.inputs", NumericGreaterThan = 0, Next = "StartCluster" }] &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.AnyInputs.Default == "LoadLateFiles"
    )
    error_message = "An hour with no input ($.plan.inputs = 0) must start no cluster (and still load late files)."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Plan.Resource == "arn:aws:states:::lambda:invoke" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Plan.Parameters == {
        FunctionName = "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader"
        Payload      = { trigger = "compaction_plan", "request.$" = "$" }
      } &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Plan.ResultSelector == {
        "hour.$" = "$.Payload.hour", "run.$" = "$.Payload.run", "inputs.$" = "$.Payload.inputs", "args.$" = "$.Payload.args"
      } &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Plan.ResultPath == "$.plan" &&
      toset(jsondecode(aws_sfn_state_machine.compaction.definition).States.Plan.Retry[0].ErrorEquals) == toset([
        "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException",
      ]) &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Plan.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "Notify" }]
    )
    error_message = "Plan must invoke the loader with the execution input as request, keep hour, run, inputs and args under $.plan, retry Lambda's transient errors (throttling included) and catch into Notify."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Resource == "arn:aws:states:::elasticmapreduce:createCluster.sync" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.ResultSelector == { "id.$" = "$.ClusterId" } &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.ResultPath == "$.cluster" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.TimeoutSeconds == 1800 &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "LoadRaw" }] &&
      !contains(keys(jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster), "Retry")
    )
    error_message = "StartCluster must create the cluster synchronously, keep its ID in $.cluster.id, time out after cluster_timeout_seconds, never retry (a retry would start a second cluster) and load the hour raw when it fails."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Compact.Resource == "arn:aws:states:::elasticmapreduce:addStep.sync" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Compact.Parameters == {
        "ClusterId.$" = "$.cluster.id"
        Step = {
          Name            = "s3-dist-cp"
          ActionOnFailure = "CONTINUE"
          HadoopJarStep   = { Jar = "command-runner.jar", "Args.$" = "$.plan.args" }
        }
      } &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Compact.ResultPath == null &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Compact.TimeoutSeconds == 3600 &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Compact.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "TerminateAfterFailure" }]
    )
    error_message = "Compact must run the loader's s3-dist-cp argv on the cluster within step_timeout_seconds, and on any failure terminate the cluster."
  }

  assert {
    condition = alltrue([
      for name in ["Terminate", "TerminateAfterFailure"] :
      jsondecode(aws_sfn_state_machine.compaction.definition).States[name].Resource == "arn:aws:states:::elasticmapreduce:terminateCluster.sync" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States[name].Parameters == { "ClusterId.$" = "$.cluster.id" } &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States[name].ResultPath == null &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States[name].Retry[0].ErrorEquals == ["States.ALL"]
    ])
    error_message = "Both terminations must terminate $.cluster.id synchronously and retry every error."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.TerminateAfterFailure.Next == "LoadRaw" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.TerminateAfterFailure.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.terminate_error", Next = "LoadRaw" }] &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.LoadRaw.Next == "Notify" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.LoadRaw.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.load_error", Next = "Notify" }] &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Terminate.Catch == [{ ErrorEquals = ["States.ALL"], ResultPath = "$.terminate_error", Next = "LoadAndAlert" }] &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.LoadAndAlert.Parameters.Payload.compacted == true &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.LoadAndAlert.Next == "Notify" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Terminate.TimeoutSeconds == 1800 &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.TerminateAfterFailure.TimeoutSeconds == 1800
    )
    error_message = "A failed compaction terminates its cluster, loads the hour raw, then notifies; a termination that fails still loads (compacted after a good step, raw after a failed one) before it alerts."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Load.Parameters.Payload == { trigger = "compacted", "hour.$" = "$.plan.hour", "run.$" = "$.plan.run", compacted = true } &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.LoadRaw.Parameters.Payload == { trigger = "compacted", "hour.$" = "$.plan.hour", "run.$" = "$.plan.run", compacted = false } &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Load.ResultPath == null &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.LoadRaw.ResultPath == null &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Load.Retry == jsondecode(aws_sfn_state_machine.compaction.definition).States.Plan.Retry &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.LoadRaw.Retry == jsondecode(aws_sfn_state_machine.compaction.definition).States.Plan.Retry &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Load.Parameters.FunctionName == "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader"
    )
    error_message = "Load and LoadRaw must ask the loader for the plan's hour and run, compacted or not, with Plan's retries."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Notify.Resource == "arn:aws:states:::sns:publish" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Notify.Parameters == {
        TopicArn    = "arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"
        Subject     = "DdbCdc compaction failed: orders"
        "Message.$" = "$"
      } &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Notify.Next == "Failed" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Notify.Catch == [{ ErrorEquals = ["States.ALL"], Next = "Failed" }] &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Notify.Retry[0].ErrorEquals == ["States.ALL"] &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Failed.Type == "Fail" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Failed.Error == "CompactionFailed" &&
      strcontains(jsondecode(aws_sfn_state_machine.compaction.definition).States.Failed.Cause, "reconciliation sweep")
    )
    error_message = "Notify must publish the run's state to the alert topic and always end in Failed (CompactionFailed, naming the fallback)."
  }

  assert {
    condition = (
      aws_sfn_state_machine.compaction.name == "orders-cdc-compaction" &&
      aws_sfn_state_machine.compaction.type == "STANDARD" &&
      aws_sfn_state_machine.compaction.logging_configuration[0].include_execution_data == false &&
      aws_sfn_state_machine.compaction.logging_configuration[0].level == "ERROR" &&
      aws_sfn_state_machine.compaction.logging_configuration[0].log_destination == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vendedlogs/states/orders-cdc-compaction:*" &&
      aws_cloudwatch_log_group.state_machine.name == "/aws/vendedlogs/states/orders-cdc-compaction" &&
      aws_sfn_state_machine.compaction.tracing_configuration[0].enabled == true &&
      output.state_machine_definition == aws_sfn_state_machine.compaction.definition
    )
    error_message = "A standard machine, logging errors without execution data to its vended log group, traced."
  }
}

run "cluster_request_is_runjobflow_with_the_contract_fields" {
  command = plan

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.Name == "orders-cdc-compaction" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.ReleaseLabel == "emr-7.2.0" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.Applications == [{ Name = "Hadoop" }] &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.ServiceRole == "orders-cdc-emr-service" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.JobFlowRole == "orders-cdc-emr-instance" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.LogUri == "s3://acme-orders-cdc/cdc/emr-logs/orders/" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.SecurityConfiguration == "orders-cdc-compaction" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.VisibleToAllUsers == true &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.AutoTerminationPolicy == { IdleTimeout = 900 } &&
      !contains(keys(jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters), "Steps") &&
      !contains(keys(jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters), "LogEncryptionKmsKeyId")
    )
    error_message = "StartCluster must send RunJobFlow's request: name, release, Hadoop, both roles, the log URI under emr-logs/<table>/, the security configuration, idle auto-termination, and no Steps."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.Instances == {
        KeepJobFlowAliveWhenNoSteps = true
        TerminationProtected        = false
        Ec2SubnetId                 = "subnet-0a1b2c3d4e5f60718"
        InstanceGroups = [
          { Name = "primary", InstanceRole = "MASTER", InstanceType = "m5.xlarge", InstanceCount = 1, Market = "ON_DEMAND" },
          { Name = "core", InstanceRole = "CORE", InstanceType = "m5.xlarge", InstanceCount = 1, Market = "ON_DEMAND" },
        ]
      }
    )
    error_message = "Instances must keep the cluster alive for the step (createCluster requires it), be terminable, and hold one primary and core_instance_count core nodes on demand."
  }

  assert {
    condition = contains(
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.Tags,
      { Key = "for-use-with-amazon-emr-managed-policies", Value = "true" }
    )
    error_message = "Clusters must carry for-use-with-amazon-emr-managed-policies = true: AmazonEMRServicePolicy_v2 acts only on tagged resources."
  }

  assert {
    condition = (
      jsondecode(aws_emr_security_configuration.this.configuration).EncryptionConfiguration.EnableAtRestEncryption == true &&
      jsondecode(aws_emr_security_configuration.this.configuration).EncryptionConfiguration.AtRestEncryptionConfiguration == {
        S3EncryptionConfiguration = { EncryptionMode = "SSE-S3" }
      } &&
      jsondecode(aws_emr_security_configuration.this.configuration).InstanceMetadataServiceConfiguration == { MinimumInstanceMetadataServiceVersion = 2, HttpPutResponseHopLimit = 1 } &&
      aws_emr_security_configuration.this.name == "orders-cdc-compaction"
    )
    error_message = "Without a key: SSE-S3 for S3 writes (local disk encryption needs a key provider), IMDSv2 only."
  }

  assert {
    condition = (
      output.emr_service_role_name == "orders-cdc-emr-service" &&
      output.emr_instance_profile_name == "orders-cdc-emr-instance" &&
      aws_iam_instance_profile.instance.role == "orders-cdc-emr-instance" &&
      output.log_uri == "s3://acme-orders-cdc/cdc/emr-logs/orders/" &&
      output.latest_finish_seconds == 15 * 60 + 900 + 995 + 1800 + 3600 + 1800 + 450 + 995
    )
    error_message = "Outputs: both role names, the log URI and the latest finish (grace, Scheduler's late start, Plan retries, cluster and step timeouts, termination timeout and retries, Load retries)."
  }
}

run "single_node_spot_and_security_groups" {
  command = plan

  variables {
    core_instance_count                  = 0
    core_spot                            = true
    release_label                        = "emr-6.1.0"
    idle_timeout_seconds                 = 600
    additional_security_group_ids        = ["sg-0aaaaaaaaaaaaaaaa"]
    emr_managed_master_security_group_id = "sg-0bbbbbbbbbbbbbbbb"
    emr_managed_core_security_group_id   = "sg-0cccccccccccccccc"
    service_access_security_group_id     = "sg-0dddddddddddddddd"
    cluster_timeout_seconds              = 900
    step_timeout_seconds                 = 1200
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.Instances.InstanceGroups == [
        { Name = "primary", InstanceRole = "MASTER", InstanceType = "m5.xlarge", InstanceCount = 1, Market = "ON_DEMAND" },
      ] &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.Instances.AdditionalMasterSecurityGroups == ["sg-0aaaaaaaaaaaaaaaa"] &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.Instances.AdditionalSlaveSecurityGroups == ["sg-0aaaaaaaaaaaaaaaa"] &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.Instances.EmrManagedMasterSecurityGroup == "sg-0bbbbbbbbbbbbbbbb" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.Instances.EmrManagedSlaveSecurityGroup == "sg-0cccccccccccccccc" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.Instances.ServiceAccessSecurityGroup == "sg-0dddddddddddddddd" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.ReleaseLabel == "emr-6.1.0" &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.AutoTerminationPolicy == { IdleTimeout = 600 } &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.TimeoutSeconds == 900 &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.Compact.TimeoutSeconds == 1200 &&
      output.latest_finish_seconds == 15 * 60 + 900 + 995 + 900 + 1200 + 1800 + 450 + 995
    )
    error_message = "core_instance_count = 0 requests no CORE group; the security groups, release, idle timeout and timeouts must reach the request."
  }
}

run "spot_core_nodes" {
  command = plan

  variables {
    core_instance_count = 3
    core_spot           = true
    core_instance_type  = "r5.2xlarge"
  }

  assert {
    condition = jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.Instances.InstanceGroups[1] == {
      Name = "core", InstanceRole = "CORE", InstanceType = "r5.2xlarge", InstanceCount = 3, Market = "SPOT"
    }
    error_message = "core_spot = true must request the core group on Spot (the primary stays on demand)."
  }
}

# ---------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------

run "schedule_starts_the_machine_at_the_grace_minute" {
  command = plan

  variables {
    grace_minutes = 20
  }

  assert {
    condition = (
      aws_scheduler_schedule.compaction.schedule_expression == "cron(20 * * * ? *)" &&
      aws_scheduler_schedule.compaction.state == "ENABLED" &&
      aws_scheduler_schedule.compaction.schedule_expression_timezone == "UTC" &&
      aws_scheduler_schedule.compaction.flexible_time_window[0].mode == "OFF" &&
      aws_scheduler_schedule.compaction.name == "orders-cdc-compaction" &&
      aws_scheduler_schedule.compaction.group_name == "default" &&
      output.schedule_expression == "cron(20 * * * ? *)"
    )
    error_message = "The schedule must run at minute grace_minutes of every hour, UTC, without a flexible window."
  }

  assert {
    condition = (
      aws_scheduler_schedule.compaction.target[0].arn == "arn:aws:states:eu-west-1:123456789012:stateMachine:orders-cdc-compaction" &&
      aws_scheduler_schedule.compaction.target[0].role_arn == "arn:aws:iam::123456789012:role/orders-cdc-compaction-scheduler" &&
      jsondecode(aws_scheduler_schedule.compaction.target[0].input) == { scheduled_time = "<aws.scheduler.scheduled-time>" } &&
      strcontains(aws_scheduler_schedule.compaction.target[0].input, "<aws.scheduler.scheduled-time>") &&
      aws_scheduler_schedule.compaction.target[0].dead_letter_config[0].arn == "arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-invoke-dlq" &&
      aws_scheduler_schedule.compaction.target[0].retry_policy[0].maximum_event_age_in_seconds == 900
    )
    error_message = "The schedule must start the machine with {\"scheduled_time\": \"<aws.scheduler.scheduled-time>\"} (unescaped, so Scheduler replaces it), dead letters to the given queue."
  }

  assert {
    condition = (
      one(data.aws_iam_policy_document.scheduler_assume_role.statement[0].principals).identifiers == toset(["scheduler.amazonaws.com"]) &&
      contains([for c in data.aws_iam_policy_document.scheduler_assume_role.statement[0].condition : "${c.test}|${c.variable}|${join(",", c.values)}"], "StringEquals|aws:SourceAccount|123456789012") &&
      contains([for c in data.aws_iam_policy_document.scheduler_assume_role.statement[0].condition : "${c.test}|${c.variable}|${join(",", c.values)}"], "ArnEquals|aws:SourceArn|arn:aws:scheduler:eu-west-1:123456789012:schedule-group/default") &&
      length(data.aws_iam_policy_document.scheduler_assume_role.statement[0].condition) == 2
    )
    error_message = "Only schedules of this account's default group may assume the scheduler role (aws:SourceAccount, and aws:SourceArn = the schedule group's ARN, as the Scheduler guide requires)."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.scheduler.statement : s.actions if s.sid == "StartCompaction"]) == toset(["states:StartExecution"]) &&
      one([for s in data.aws_iam_policy_document.scheduler.statement : s.resources if s.sid == "StartCompaction"]) == toset(["arn:aws:states:eu-west-1:123456789012:stateMachine:orders-cdc-compaction"]) &&
      one([for s in data.aws_iam_policy_document.scheduler.statement : s.resources if s.sid == "SendDeadLetters"]) == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-cdc-loader-invoke-dlq"]) &&
      length([for s in data.aws_iam_policy_document.scheduler.statement : s if startswith(s.sid, "UseKey")]) == 0
    )
    error_message = "The scheduler role may start this machine only (and send its dead letters); no key grant without a key."
  }
}

run "schedule_without_dead_letter_queue" {
  command = plan

  variables {
    dead_letter_queue_arn = null
  }

  assert {
    condition = (
      length(aws_scheduler_schedule.compaction.target[0].dead_letter_config) == 0 &&
      length([for s in data.aws_iam_policy_document.scheduler.statement : s if s.sid == "SendDeadLetters"]) == 0
    )
    error_message = "Without a dead-letter queue the schedule has none and its role no SQS grant."
  }
}

# ---------------------------------------------------------------------------
# IAM scope
# ---------------------------------------------------------------------------

run "state_machine_role_is_scoped" {
  command = plan

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.state_machine.statement : s.resources if s.sid == "InvokeLoader"]) == toset([
        "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader", "arn:aws:lambda:eu-west-1:123456789012:function:orders-cdc-loader:*",
      ]) &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : s.actions if s.sid == "InvokeLoader"]) == toset(["lambda:InvokeFunction"])
    )
    error_message = "The machine may invoke the loader only."
  }

  # PassRole: exactly the two cluster roles, each to the service that receives it.
  assert {
    condition = (
      toset(flatten([for s in data.aws_iam_policy_document.state_machine.statement : tolist(s.resources) if contains(s.actions, "iam:PassRole")])) == toset([
        "arn:aws:iam::123456789012:role/orders-cdc-emr-service", "arn:aws:iam::123456789012:role/orders-cdc-emr-instance",
      ]) &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : [for c in s.condition : "${c.test}|${c.variable}|${join(",", c.values)}"] if s.sid == "PassServiceRoleToEmr"]) == ["StringLike|iam:PassedToService|elasticmapreduce.amazonaws.com*"] &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : [for c in s.condition : "${c.test}|${c.variable}|${join(",", c.values)}"] if s.sid == "PassInstanceRoleToEc2"]) == ["StringLike|iam:PassedToService|ec2.amazonaws.com*"]
    )
    error_message = "The machine may pass the EMR service role (to EMR) and the instance role (to EC2), nothing else."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.state_machine.statement : s.resources if s.sid == "ManageOwnClusters"]) == toset(["arn:aws:elasticmapreduce:eu-west-1:123456789012:cluster/*"]) &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : s.actions if s.sid == "ManageOwnClusters"]) == toset([
        "elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:CancelSteps", "elasticmapreduce:DescribeCluster",
        "elasticmapreduce:DescribeStep", "elasticmapreduce:TerminateJobFlows",
      ]) &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : [for c in s.condition : "${c.test}|${c.variable}|${join(",", c.values)}"] if s.sid == "ManageOwnClusters"]) == ["StringEquals|elasticmapreduce:ResourceTag/ddb-cdc:compaction|orders-cdc-compaction"] &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : s.actions if s.sid == "TagAndPolicyOwnClustersAtCreation"]) == toset(["elasticmapreduce:AddTags", "elasticmapreduce:PutAutoTerminationPolicy"]) &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : s.actions if s.sid == "StartTaggedClusters"]) == toset(["elasticmapreduce:RunJobFlow"]) &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : [for c in s.condition : "${c.test}|${c.variable}|${join(",", c.values)}"] if s.sid == "StartTaggedClusters"]) == ["StringEquals|aws:RequestTag/for-use-with-amazon-emr-managed-policies|true"]
    )
    error_message = "Cluster actions must be scoped to this machine's clusters (its ddb-cdc:compaction tag); RunJobFlow (which takes no resource) to tagged clusters."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.state_machine.statement : s.resources if s.sid == "ManageSyncRules"]) == toset([
        "arn:aws:events:eu-west-1:123456789012:rule/StepFunctionsGetEventForEMRRunJobFlowRule",
        "arn:aws:events:eu-west-1:123456789012:rule/StepFunctionsGetEventForEMRAddJobFlowStepsRule",
        "arn:aws:events:eu-west-1:123456789012:rule/StepFunctionsGetEventForEMRTerminateJobFlowsRule",
      ]) &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : s.actions if s.sid == "ManageSyncRules"]) == toset(["events:PutTargets", "events:PutRule", "events:DescribeRule"])
    )
    error_message = "The machine may manage only the three managed rules of the .sync EMR integrations."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.state_machine.statement : s.resources if s.sid == "CreateEmrCleanupRole"]) == toset(["arn:aws:iam::123456789012:role/aws-service-role/elasticmapreduce.amazonaws.com*/AWSServiceRoleForEMRCleanup*"]) &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : [for c in s.condition : "${c.test}|${c.variable}|${join(",", c.values)}"] if s.sid == "CreateEmrCleanupRole"]) == ["StringEquals|iam:AWSServiceName|elasticmapreduce.amazonaws.com,elasticmapreduce.amazonaws.com.cn"] &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : s.resources if s.sid == "PublishFailures"]) == toset(["arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"]) &&
      length([for s in data.aws_iam_policy_document.state_machine.statement : s if s.sid == "EncryptFailuresThroughSns"]) == 0
    )
    error_message = "The machine may create only EMR's cleanup role, publish only to the alert topic, and use no key unless the topic has one."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.state_machine.statement :
      !contains(s.resources, "*") || contains(["StartTaggedClusters", "DeliverExecutionLogs", "WriteTraces"], s.sid)
    ])
    error_message = "Only RunJobFlow, log delivery and X-Ray (which take no resource ARN) may name \"*\"."
  }
}

run "cluster_roles_are_scoped" {
  command = plan

  assert {
    condition = (
      one(data.aws_iam_policy_document.emr_assume_role.statement[0].principals).identifiers == toset(["elasticmapreduce.amazonaws.com"]) &&
      contains([for c in data.aws_iam_policy_document.emr_assume_role.statement[0].condition : "${c.test}|${c.variable}|${join(",", c.values)}"], "StringEquals|aws:SourceAccount|123456789012") &&
      contains([for c in data.aws_iam_policy_document.emr_assume_role.statement[0].condition : "${c.test}|${c.variable}|${join(",", c.values)}"], "ArnLike|aws:SourceArn|arn:aws:elasticmapreduce:eu-west-1:123456789012:*") &&
      aws_iam_role_policy_attachment.emr_service.policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2" &&
      one([for s in data.aws_iam_policy_document.emr_service.statement : s.resources if s.sid == "PassInstanceRoleToEc2"]) == toset(["arn:aws:iam::123456789012:role/orders-cdc-emr-instance"])
    )
    error_message = "The EMR service role: EMR of this account only, the v2 managed policy, and passing only the instance role to EC2."
  }

  assert {
    condition     = one(data.aws_iam_policy_document.ec2_assume_role.statement[0].principals).identifiers == toset(["ec2.amazonaws.com"])
    error_message = "The instance role is for EC2."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.instance.statement : s.resources if s.sid == "ReadRawFilesInputListsAndOwnOutput"]) == toset([
        "arn:aws:s3:::acme-orders-cdc/cdc/raw/orders/*", "arn:aws:s3:::acme-orders-cdc/cdc/compaction/orders/*",
        "arn:aws:s3:::acme-orders-cdc/cdc/compacted/orders/*",
      ]) &&
      one([for s in data.aws_iam_policy_document.instance.statement : s.actions if s.sid == "ReadRawFilesInputListsAndOwnOutput"]) == toset(["s3:GetObject"]) &&
      one([for s in data.aws_iam_policy_document.instance.statement : s.resources if s.sid == "WriteCompactedFilesAndLogs"]) == toset([
        "arn:aws:s3:::acme-orders-cdc/cdc/compacted/orders/*", "arn:aws:s3:::acme-orders-cdc/cdc/emr-logs/orders/*",
      ]) &&
      one([for s in data.aws_iam_policy_document.instance.statement : s.actions if s.sid == "WriteCompactedFilesAndLogs"]) == toset(["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]) &&
      one([for s in data.aws_iam_policy_document.instance.statement : one(s.condition).values if s.sid == "ListCompactionPrefixes"]) == tolist([
        "cdc/raw/orders/*", "cdc/compaction/orders/*", "cdc/compacted/orders/*", "cdc/emr-logs/orders/*",
      ]) &&
      length(data.aws_iam_policy_document.instance.statement) == 3
    )
    error_message = "The instance role reads raw/, compaction/ and its own compacted/ output, writes compacted/ and emr-logs/, lists those prefixes, nothing else without a key."
  }

  # No s3:* anywhere, no delete anywhere.
  assert {
    condition = alltrue(flatten([
      for doc in [data.aws_iam_policy_document.instance, data.aws_iam_policy_document.state_machine, data.aws_iam_policy_document.emr_service, data.aws_iam_policy_document.scheduler] : [
        for s in doc.statement : [for a in s.actions : a != "s3:*" && a != "*" && !startswith(a, "s3:Delete")]
      ]
    ]))
    error_message = "No policy may grant s3:*, * or an S3 delete."
  }
}

# ---------------------------------------------------------------------------
# With a key
# ---------------------------------------------------------------------------

run "with_a_key_everything_is_encrypted_with_it" {
  command = plan

  variables {
    kms_key_arn              = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    alerts_topic_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555"
  }

  assert {
    condition = (
      jsondecode(aws_emr_security_configuration.this.configuration).EncryptionConfiguration.AtRestEncryptionConfiguration == {
        S3EncryptionConfiguration        = { EncryptionMode = "SSE-KMS", AwsKmsKey = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" }
        LocalDiskEncryptionConfiguration = { EncryptionKeyProviderType = "AwsKms", AwsKmsKey = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" }
      } &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.LogEncryptionKmsKeyId == "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" &&
      aws_cloudwatch_log_group.state_machine.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" &&
      aws_scheduler_schedule.compaction.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    )
    error_message = "With a key: SSE-KMS for S3, local disks under the key, encrypted logs, log group and schedule."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.instance.statement : [for c in s.condition : "${c.variable}|${join(",", c.values)}"] if s.sid == "UseBucketKeyThroughS3"]) == ["kms:ViaService|s3.eu-west-1.amazonaws.com"] &&
      one([for s in data.aws_iam_policy_document.instance.statement : s.resources if s.sid == "EncryptLocalDisks"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"]) &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : s.resources if s.sid == "EncryptFailuresThroughSns"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555"]) &&
      one([for s in data.aws_iam_policy_document.state_machine.statement : [for c in s.condition : "${c.variable}|${join(",", c.values)}"] if s.sid == "EncryptFailuresThroughSns"]) == ["kms:ViaService|sns.eu-west-1.amazonaws.com"] &&
      one([for s in data.aws_iam_policy_document.scheduler.statement : s.resources if s.sid == "UseKeyForQueuesSchedule"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"]) &&
      one([for s in data.aws_iam_policy_document.scheduler.statement : [for c in s.condition : "${c.variable}|${join(",", c.values)}"] if s.sid == "UseKeyForQueuesSchedule"]) == ["kms:ViaService|sqs.eu-west-1.amazonaws.com,scheduler.eu-west-1.amazonaws.com"]
    )
    error_message = "The key: through S3 for objects, directly for local disks (EMR's requirement), the topic's key through SNS only, the scheduler's through SQS and Scheduler only."
  }
}

run "separate_keys_per_purpose_are_followed_by_every_role" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    kms_keys = {
      bucket = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
      queues = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"
      logs   = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d"
    }
  }

  assert {
    condition = (
      jsondecode(aws_emr_security_configuration.this.configuration).EncryptionConfiguration.AtRestEncryptionConfiguration == {
        S3EncryptionConfiguration        = { EncryptionMode = "SSE-KMS", AwsKmsKey = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b" }
        LocalDiskEncryptionConfiguration = { EncryptionKeyProviderType = "AwsKms", AwsKmsKey = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a" }
      } &&
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.LogEncryptionKmsKeyId == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b" &&
      aws_cloudwatch_log_group.state_machine.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000d" &&
      aws_scheduler_schedule.compaction.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    )
    error_message = "Objects (data and EMR logs) take the bucket's key, the log group the logs' key, local disks and the schedule kms_key_arn."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.instance.statement : s.resources if s.sid == "UseBucketKeyThroughS3"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000b"]) &&
      one([for s in data.aws_iam_policy_document.instance.statement : s.resources if s.sid == "EncryptLocalDisks"]) == toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"]) &&
      { for s in data.aws_iam_policy_document.scheduler.statement : s.sid => { keys = s.resources, via = [for c in s.condition : c.values if c.variable == "kms:ViaService"][0] } if startswith(s.sid, "UseKey") } == {
        UseKeyForQueues   = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000c"]), via = tolist(["sqs.eu-west-1.amazonaws.com"]) }
        UseKeyForSchedule = { keys = toset(["arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000000a"]), via = tolist(["scheduler.eu-west-1.amazonaws.com"]) }
      }
    )
    error_message = "The instance role must get the bucket's key through S3 and kms_key_arn for its disks; the scheduler the DLQ's key through SQS and the schedule's through Scheduler."
  }
}

run "empty_prefix_starts_at_the_bucket_root" {
  command = plan

  variables {
    prefix = ""
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.compaction.definition).States.StartCluster.Parameters.LogUri == "s3://acme-orders-cdc/emr-logs/orders/" &&
      one([for s in data.aws_iam_policy_document.instance.statement : s.resources if s.sid == "ReadRawFilesInputListsAndOwnOutput"]) == toset([
        "arn:aws:s3:::acme-orders-cdc/raw/orders/*", "arn:aws:s3:::acme-orders-cdc/compaction/orders/*",
        "arn:aws:s3:::acme-orders-cdc/compacted/orders/*",
      ])
    )
    error_message = "An empty prefix means no leading slash in the log URI and the grants."
  }
}

# ---------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------

run "alarms_on_failed_timed_out_and_aborted_runs" {
  command = plan

  variables {
    alarm_actions = ["arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"]
  }

  assert {
    condition = (
      toset([for a in aws_cloudwatch_metric_alarm.executions : a.metric_name]) == toset(["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"]) &&
      alltrue([for a in aws_cloudwatch_metric_alarm.executions :
        a.namespace == "AWS/States" &&
        a.dimensions == tomap({ StateMachineArn = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders-cdc-compaction" }) &&
        a.statistic == "Sum" && a.comparison_operator == "GreaterThanThreshold" && a.threshold == 0 &&
        a.treat_missing_data == "notBreaching" &&
        a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"]) &&
        startswith(a.alarm_name, "orders-cdc-")
      ])
    )
    error_message = "Failed, timed-out and aborted runs must each alarm to alarm_actions, on the machine's AWS/States metric; names start with <name>- (the alert key admits those)."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.not_running[0].metric_name == "ExecutionsStarted" &&
      aws_cloudwatch_metric_alarm.not_running[0].comparison_operator == "LessThanThreshold" &&
      aws_cloudwatch_metric_alarm.not_running[0].threshold == 1 &&
      aws_cloudwatch_metric_alarm.not_running[0].period * aws_cloudwatch_metric_alarm.not_running[0].evaluation_periods == 3 * 3600 &&
      aws_cloudwatch_metric_alarm.not_running[0].treat_missing_data == "breaching" &&
      aws_cloudwatch_metric_alarm.not_running[0].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:orders-cdc-load-alerts"])
    )
    error_message = "A schedule that stops starting runs must page: no execution started in 3 hours (missing data breaches)."
  }
}

run "a_paused_schedule_starts_no_run" {
  command = plan

  variables {
    schedule_enabled = false
  }

  assert {
    condition     = aws_scheduler_schedule.compaction.state == "DISABLED" && length(aws_cloudwatch_metric_alarm.not_running) == 0
    error_message = "schedule_enabled = false must leave the schedule DISABLED, with no not-running alarm."
  }
}
