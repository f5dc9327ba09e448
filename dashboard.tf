# One CloudWatch dashboard for the person on call: is data flowing from the stream to the warehouse? Every graph is of a
# metric this stack's resources or the loader (ddb_cdc.loader.service, PutMetricData) really publish, with the dimension
# values of the resources deployed under the chosen aggregation, load strategy and backfill mode; an alarm's threshold
# is drawn as a horizontal line, read from the alarm (module outputs) wherever the module exposes it.
# tests/dashboard.tftest.hcl and tests/terraform/test_dashboard_metrics.py keep it in step with both.

data "aws_region" "dashboard" {
  count = var.create_dashboard ? 1 : 0
}

locals {
  # The loader's own metrics: the namespace and Table dimension the loader reads from its environment.
  dashboard_namespace = module.redshift_loader.loader_environment["CDC_METRIC_NAMESPACE"]
  dashboard_table     = module.redshift_loader.loader_environment["CDC_TABLE_NAME"]
  loader_thresholds   = module.redshift_loader.alarm_thresholds

  dashboard_writer_dlq_name = local.writer.dlq_name
  writer_thresholds         = local.writer.alarm_thresholds

  # Dead-letter queues that exist under the chosen strategies, each with its alarm's threshold.
  dashboard_dlqs = concat(
    [{ label = "writer DLQ", name = local.dashboard_writer_dlq_name, threshold = local.writer_thresholds.dlq_depth }],
    [{ label = "loader invoke DLQ", name = module.redshift_loader.invoke_dlq_name, threshold = local.loader_thresholds.invoke_dlq_depth }],
    var.load_strategy == "s3_event" ? [{ label = "S3 notification DLQ", name = module.redshift_loader.queue_dlq_name, threshold = local.loader_thresholds.load_dlq_depth }] : [],
    try(module.backfill[0].dlq_name, null) != null ? [{ label = "backfill DLQ", name = module.backfill[0].dlq_name, threshold = module.backfill[0].dlq_alarm_threshold }] : [],
  )

  dashboard_graphs = concat(
    [
      {
        title       = "Stream iterator age (writer ${local.writer_function_name}), ms"
        stat        = "Maximum"
        metrics     = [["AWS/Lambda", "IteratorAge", "FunctionName", local.writer_function_name]]
        annotations = [{ label = "iterator age alarm", value = module.ddb_stream.iterator_age_alarm_threshold_ms }]
      },
      {
        title = "Writer errors and throttles"
        stat  = "Sum"
        metrics = [
          ["AWS/Lambda", "Errors", "FunctionName", local.writer_function_name],
          ["AWS/Lambda", "Throttles", "FunctionName", local.writer_function_name],
        ]
        annotations = [{ label = "writer errors alarm", value = local.writer_thresholds.errors }]
      },
      {
        title       = "Dead-letter queue depth (messages visible)"
        stat        = "Maximum"
        metrics     = [for dlq in local.dashboard_dlqs : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq.name, { label = dlq.label }]]
        annotations = [for threshold in distinct([for dlq in local.dashboard_dlqs : dlq.threshold]) : { label = "DLQ depth alarm", value = threshold }]
      },
    ],
    local.firehose_aggregation ? [
      {
        title       = "Firehose delivery freshness (${module.firehose[0].delivery_stream_name}), s"
        stat        = "Maximum"
        metrics     = [["AWS/Firehose", "DeliveryToS3.DataFreshness", "DeliveryStreamName", module.firehose[0].delivery_stream_name]]
        annotations = [{ label = "freshness alarm", value = module.firehose[0].freshness_alarm_threshold_seconds }]
      },
    ] : [],
    [
      {
        title       = "Replication lag (oldest change not yet merged), s"
        stat        = "Maximum"
        metrics     = [[local.dashboard_namespace, "ReplicationLagSeconds", "Table", local.dashboard_table]]
        annotations = [{ label = "lag alarm", value = local.loader_thresholds.lag }]
      },
      {
        title       = "Files loaded"
        stat        = "Sum"
        metrics     = [[local.dashboard_namespace, "FilesLoaded", "Table", local.dashboard_table]]
        annotations = []
      },
      {
        # TransientLoadFailures (outages, throttling) are retried and never count toward a file's quarantine; only
        # LoadFailures pages.
        title = "Load failures"
        stat  = "Sum"
        metrics = [
          [local.dashboard_namespace, "LoadFailures", "Table", local.dashboard_table],
          [local.dashboard_namespace, "TransientLoadFailures", "Table", local.dashboard_table],
        ]
        annotations = [{ label = "load failures alarm", value = local.loader_thresholds.load_failures }]
      },
    ],
    local.ec2_cron ? [
      {
        title       = "Loader host in service (${module.ec2_cron[0].autoscaling_group_name})"
        stat        = "Maximum"
        metrics     = [["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", module.ec2_cron[0].autoscaling_group_name]]
        annotations = [{ label = "host alarm (below)", value = module.ec2_cron[0].host_alarm_threshold }]
      },
    ] : [],
    local.emr_compaction ? [
      {
        title   = "Compaction runs (${module.emr_compaction[0].state_machine_name})"
        stat    = "Sum"
        metrics = [for metric in sort(keys(module.emr_compaction[0].execution_alarm_thresholds)) : ["AWS/States", metric, "StateMachineArn", module.emr_compaction[0].state_machine_arn]]
        annotations = [for threshold in distinct(values(module.emr_compaction[0].execution_alarm_thresholds)) : {
          label = "alarm: ${join(", ", [for metric, value in module.emr_compaction[0].execution_alarm_thresholds : metric if value == threshold])}"
          value = threshold
        }]
      },
    ] : [],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  # Dashboard names are global to the account (every region) and PutDashboard overwrites silently
  # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html): a suffix keeps a
  # dashboard of the user's own called like the stack out of reach.
  dashboard_name = "${var.name}-dashboard"
  dashboard_body = jsonencode({
    widgets = [for index, graph in local.dashboard_graphs : {
      type   = "metric"
      x      = (index % 2) * 12
      y      = floor(index / 2) * 6
      width  = 12
      height = 6
      properties = {
        title       = graph.title
        view        = "timeSeries"
        stacked     = false
        region      = data.aws_region.dashboard[0].id
        stat        = graph.stat
        period      = 300
        metrics     = graph.metrics
        annotations = { horizontal = graph.annotations }
      }
    }]
  })
}
