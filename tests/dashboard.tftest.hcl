# Root module, dashboard: per strategy combination, every graph is of a metric that a resource of this plan or the loader
# publishes (metric name, dimension name and the value of a resource the plan creates), no graph names a component
# that is not deployed, and each alarm's threshold is drawn as it is configured. Plan-only with mock providers.
# A metric is compared as "namespace|metric|dimension|value"; the loader's own metric names are cross-checked against
# lambda_src by tests/terraform/test_dashboard_metrics.py.

mock_provider "aws" {
  override_during = plan

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1", id = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_ssm_parameter" {
    defaults = { insecure_value = "ami-0123456789abcdef0" }
  }
  mock_data "aws_subnet" {
    defaults = { vpc_id = "vpc-0123456789abcdef0" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:orders-cdc-some-queue"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/orders-cdc-some-queue"
    }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
      stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-27T00:00:00.000"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = {
      arn    = "arn:aws:s3:::orders-cdc-changes"
      bucket = "orders-cdc-changes"
    }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:orders-cdc-load-alerts" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
      key_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    }
  }
  mock_resource "aws_scheduler_schedule" {
    defaults = { arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/orders-cdc-loader" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_iam_role" {
    defaults = {
      arn       = "arn:aws:iam::123456789012:role/orders-cdc-redshift-copy"
      unique_id = "AROAEXAMPLELOADER"
    }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/orders-cdc-ec2-loader" }
  }
  mock_resource "aws_launch_template" {
    defaults = {
      id             = "lt-0123456789abcdef0"
      latest_version = 1
    }
  }
  mock_resource "aws_lambda_event_source_mapping" {
    defaults = { uuid = "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orders-cdc-mock" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:orders-cdc-compaction" }
  }
}

mock_provider "archive" {
  mock_data "archive_file" {
    defaults = {
      output_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
      output_sha256       = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    }
  }
}

# The writer's DLQ is known to the root by its ARN only (the dashboard takes the name from it): its ARN, as AWS forms it
# from the name modules/stream_writer gives the queue (<name>-<destination>-writer-dlq).
override_resource {
  target          = module.stream_writer["lambda"].aws_sqs_queue.dlq
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:orders-cdc-s3-writer-dlq"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/orders-cdc-s3-writer-dlq"
  }
}

override_resource {
  target          = module.stream_writer["firehose"].aws_sqs_queue.dlq
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:orders-cdc-firehose-writer-dlq"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/orders-cdc-firehose-writer-dlq"
  }
}

variables {
  name = "orders-cdc"
  table = {
    name     = "orders"
    create   = true
    hash_key = { name = "order_id", type = "S" }
  }
  bucket = {
    name   = "orders-cdc-changes"
    create = true
    prefix = "cdc"
  }
  redshift = {
    kind             = "serverless"
    database         = "dev"
    workgroup_name   = "analytics"
    create_copy_role = true
  }
  target_spec = {
    schema = "cdc"
    table  = "orders"
  }
  ec2_cron = {
    subnet_ids = ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"]
  }
  emr_compaction = {
    subnet_id = "subnet-0c1d2e3f4a5b60718"
  }
  # Not the defaults, so that the drawn thresholds are seen to follow the inputs.
  iterator_age_alarm_threshold_ms = 120000
  loader                          = { lag_alarm_threshold_seconds = 900, metric_namespace = "Orders/Cdc" }
}

run "lambda_with_s3_event" {
  command = plan

  variables {
    aggregation   = "lambda"
    load_strategy = "s3_event"
  }

  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "orders-cdc-dashboard" && output.dashboard_name == "orders-cdc-dashboard"
    error_message = "The dashboard is named <name>-dashboard, and output dashboard_name says so."
  }

  assert {
    condition = toset([
      for m in concat([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.metrics]...) : join("|", slice(m, 0, 4))
      ]) == toset([
      "AWS/Lambda|IteratorAge|FunctionName|${output.writer_function_name}",
      "AWS/Lambda|Errors|FunctionName|${output.writer_function_name}",
      "AWS/Lambda|Throttles|FunctionName|${output.writer_function_name}",
      "AWS/SQS|ApproximateNumberOfMessagesVisible|QueueName|orders-cdc-s3-writer-dlq",
      "AWS/SQS|ApproximateNumberOfMessagesVisible|QueueName|${module.redshift_loader.invoke_dlq_name}",
      "AWS/SQS|ApproximateNumberOfMessagesVisible|QueueName|${module.redshift_loader.queue_dlq_name}",
      "Orders/Cdc|ReplicationLagSeconds|Table|${module.ddb_stream.table_name}",
      "Orders/Cdc|FilesLoaded|Table|${module.ddb_stream.table_name}",
      "Orders/Cdc|LoadFailures|Table|${module.ddb_stream.table_name}",
      "Orders/Cdc|TransientLoadFailures|Table|${module.ddb_stream.table_name}",
    ])
    error_message = format("lambda x s3_event graphs exactly the S3 writer's Lambda metrics, its DLQ, the loader's invoke and notification DLQs and the loader's metrics (namespace loader.metric_namespace, Table = the table); got %s", jsonencode([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.metrics]))
  }

  assert {
    condition = (
      output.writer_function_name == "orders-cdc-s3-writer" &&
      module.redshift_loader.invoke_dlq_name == "orders-cdc-loader-invoke-dlq" &&
      module.redshift_loader.queue_dlq_name == "orders-cdc-loader-queue-dlq" &&
      module.redshift_loader.loader_environment["CDC_METRIC_NAMESPACE"] == "Orders/Cdc" &&
      module.redshift_loader.loader_environment["CDC_TABLE_NAME"] == "orders"
    )
    error_message = "The dimension values are the planned writer function, queues, and the loader's own namespace and table."
  }

  assert {
    condition = (
      toset(one([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.annotations.horizontal[*].value if contains(w.properties.metrics[*][1], "IteratorAge")])) == toset([module.ddb_stream.iterator_age_alarm_threshold_ms]) &&
      module.ddb_stream.iterator_age_alarm_threshold_ms == 120000 &&
      toset(one([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.annotations.horizontal[*].value if contains(w.properties.metrics[*][1], "ReplicationLagSeconds")])) == toset([module.redshift_loader.alarm_thresholds.lag]) &&
      module.redshift_loader.alarm_thresholds.lag == 900 &&
      toset(one([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.annotations.horizontal[*].value if contains(w.properties.metrics[*][1], "LoadFailures")])) == toset([module.redshift_loader.alarm_thresholds.load_failures]) &&
      toset(one([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.annotations.horizontal[*].value if contains(w.properties.metrics[*][1], "ApproximateNumberOfMessagesVisible")])) == toset(distinct([module.redshift_loader.alarm_thresholds.invoke_dlq_depth, module.redshift_loader.alarm_thresholds.load_dlq_depth])) &&
      length(one([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.annotations.horizontal[*].value if contains(w.properties.metrics[*][1], "FilesLoaded")])) == 0
    )
    error_message = format("Each graph draws its alarm's threshold (iterator age 120000 ms, lag 900 s, load failures and DLQ depth 0; files loaded has no alarm); got %s", jsonencode([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : { title = w.properties.title, annotations = w.properties.annotations }]))
  }

  assert {
    condition = alltrue([
      for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets :
      w.type == "metric" && w.properties.region == "us-east-1" && w.width == 12 && w.x + w.width <= 24
    ])
    error_message = "Every widget is a metric graph in the stack's region (data.aws_region id) on the 24-column grid."
  }
}

run "firehose_with_schedule_and_backfill" {
  command = plan

  variables {
    aggregation   = "firehose"
    load_strategy = "schedule"
    firehose      = { buffering_interval_seconds = 120 }
    backfill      = { mode = "checkpoint_table" }
  }

  assert {
    condition = toset([
      for m in concat([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.metrics]...) : join("|", slice(m, 0, 4))
      ]) == toset([
      "AWS/Lambda|IteratorAge|FunctionName|${output.writer_function_name}",
      "AWS/Lambda|Errors|FunctionName|${output.writer_function_name}",
      "AWS/Lambda|Throttles|FunctionName|${output.writer_function_name}",
      "AWS/SQS|ApproximateNumberOfMessagesVisible|QueueName|orders-cdc-firehose-writer-dlq",
      "AWS/SQS|ApproximateNumberOfMessagesVisible|QueueName|${module.redshift_loader.invoke_dlq_name}",
      "AWS/SQS|ApproximateNumberOfMessagesVisible|QueueName|${module.backfill[0].dlq_name}",
      "AWS/Firehose|DeliveryToS3.DataFreshness|DeliveryStreamName|${output.delivery_stream_name}",
      "Orders/Cdc|ReplicationLagSeconds|Table|${module.ddb_stream.table_name}",
      "Orders/Cdc|FilesLoaded|Table|${module.ddb_stream.table_name}",
      "Orders/Cdc|LoadFailures|Table|${module.ddb_stream.table_name}",
      "Orders/Cdc|TransientLoadFailures|Table|${module.ddb_stream.table_name}",
    ])
    error_message = format("firehose x schedule with a checkpoint_table backfill graphs the Firehose writer, its delivery stream and the backfill DLQ, and no S3 notification DLQ (no queue under schedule); got %s", jsonencode([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.metrics]))
  }

  assert {
    condition = (
      output.writer_function_name == "orders-cdc-firehose-writer" &&
      output.delivery_stream_name == "orders-cdc-raw-to-s3" &&
      module.backfill[0].dlq_name == "orders-cdc-backfill-dlq" &&
      module.redshift_loader.queue_dlq_name == null
    )
    error_message = "The dimension values are the planned Firehose writer, delivery stream and backfill DLQ; schedule has no notification DLQ."
  }

  assert {
    condition = (
      # modules/firehose's freshness alarm: 2 x buffering_interval + 60 s.
      one([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.annotations.horizontal[*].value if contains(w.properties.metrics[*][1], "DeliveryToS3.DataFreshness")]) == [300] &&
      toset(one([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.annotations.horizontal[*].value if contains(w.properties.metrics[*][1], "ApproximateNumberOfMessagesVisible")])) == toset(distinct([module.redshift_loader.alarm_thresholds.invoke_dlq_depth, module.backfill[0].dlq_alarm_threshold]))
    )
    error_message = format("The freshness graph draws 2 x 120 + 60 = 300 s and the DLQ graph the DLQ alarms' threshold; got %s", jsonencode([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : { title = w.properties.title, annotations = w.properties.annotations }]))
  }
}

run "lambda_with_ec2_cron" {
  command = plan

  variables {
    aggregation   = "lambda"
    load_strategy = "ec2_cron"
  }

  assert {
    condition = (
      contains([for m in concat([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.metrics]...) : join("|", slice(m, 0, 4))], "AWS/AutoScaling|GroupInServiceInstances|AutoScalingGroupName|${output.ec2_cron_autoscaling_group_name}") &&
      output.ec2_cron_autoscaling_group_name == "orders-cdc-ec2-loader" &&
      toset(one([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.annotations.horizontal[*].value if contains(w.properties.metrics[*][1], "GroupInServiceInstances")])) == toset([module.ec2_cron[0].host_alarm_threshold]) &&
      !contains([for m in concat([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.metrics]...) : m[0]], "AWS/Firehose") &&
      !contains([for m in concat([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.metrics]...) : m[3]], "orders-cdc-loader-queue-dlq")
    )
    error_message = format("lambda x ec2_cron graphs the loader host's group with its alarm's threshold, and neither Firehose nor a notification DLQ; got %s", jsonencode([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties]))
  }
}

run "lambda_with_emr_compaction" {
  command = plan

  variables {
    aggregation   = "lambda"
    load_strategy = "emr_compaction"
    # The lag alarm's default here: a change waits for its hour's compaction by design.
    loader = { metric_namespace = "Orders/Cdc" }
  }

  assert {
    condition = (
      toset([for m in concat([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.metrics]...) : join("|", slice(m, 0, 4)) if m[0] == "AWS/States"]) == toset([
        for metric in ["ExecutionsAborted", "ExecutionsFailed", "ExecutionsStarted", "ExecutionsTimedOut"] : "AWS/States|${metric}|StateMachineArn|${output.compaction_state_machine_arn}"
      ]) &&
      toset(one([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.annotations.horizontal[*].value if contains(w.properties.metrics[*][1], "ExecutionsFailed")])) == toset(values(module.emr_compaction[0].execution_alarm_thresholds)) &&
      module.emr_compaction[0].execution_alarm_thresholds == { ExecutionsFailed = 0, ExecutionsTimedOut = 0, ExecutionsAborted = 0, ExecutionsStarted = 1 } &&
      length([for m in concat([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.metrics]...) : m if m[0] == "AWS/AutoScaling"]) == 0
    )
    error_message = format("lambda x emr_compaction graphs the compaction machine's run metrics (the ones its alarms watch) with their thresholds, and no loader host; got %s", jsonencode([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties]))
  }
}

run "create_dashboard_false_creates_none" {
  command = plan

  variables {
    create_dashboard = false
  }

  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 0 && length(data.aws_region.dashboard) == 0 && output.dashboard_name == null
    error_message = "create_dashboard = false creates no dashboard, and output dashboard_name is null."
  }
}
