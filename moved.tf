# Upgrade path from the layout before modules/stream_writer, where the writer (function, role, inline policy, log group,
# DLQ and its two alarms) was written twice: in modules/s3_sink (count = create_writer) and in modules/firehose (called
# with count from here). The writer's objects move into module.stream_writer, keyed by the aggregation they serve, so that
# an upgrade plans moves and no replacement (tests/terraform/test_stream_writer_upgrade.py plans it from a recorded state).
#
# Terraform's rules for these blocks ("Refactoring", https://developer.hashicorp.com/terraform/language/modules/develop/refactoring):
# - "A module may only make moved statements about its own objects and objects of its child modules": module.s3_sink,
#   module.firehose and module.stream_writer are all children of this module, so the blocks live here. References
#   resolve relative to the module instance they are defined in, so they also hold when this module is itself called
#   (examples/*: module.cdc.module.s3_sink... moves to module.cdc.module.stream_writer[...]...).
# - Moving objects between child modules assumes they are "distributed together in a single module package", as
#   ./modules/* are.
# - Within a module called with count or for_each, an address must name the instance: module.firehose[0] (count) and
#   module.stream_writer["lambda"] / ["firehose"] (for_each), and a resource that had count names index [0].
# - A state with no object at a from address (a new stack, or the other aggregation) leaves the block without effect.
# Data sources (the policy documents, aws_partition, aws_region) are read again and need no move.

# aggregation = "lambda": the writer was modules/s3_sink's (create_writer = true).
moved {
  from = module.s3_sink.aws_sqs_queue.dlq[0]
  to   = module.stream_writer["lambda"].aws_sqs_queue.dlq
}

moved {
  from = module.s3_sink.aws_cloudwatch_log_group.writer[0]
  to   = module.stream_writer["lambda"].aws_cloudwatch_log_group.this
}

moved {
  from = module.s3_sink.aws_iam_role.writer[0]
  to   = module.stream_writer["lambda"].aws_iam_role.this
}

moved {
  from = module.s3_sink.aws_iam_role_policy.writer[0]
  to   = module.stream_writer["lambda"].aws_iam_role_policy.this
}

moved {
  from = module.s3_sink.aws_lambda_function.writer[0]
  to   = module.stream_writer["lambda"].aws_lambda_function.this
}

moved {
  from = module.s3_sink.aws_cloudwatch_metric_alarm.writer_errors[0]
  to   = module.stream_writer["lambda"].aws_cloudwatch_metric_alarm.errors
}

moved {
  from = module.s3_sink.aws_cloudwatch_metric_alarm.dlq_depth[0]
  to   = module.stream_writer["lambda"].aws_cloudwatch_metric_alarm.dlq_depth
}

# aggregation = "firehose": the writer was modules/firehose's.
moved {
  from = module.firehose[0].aws_sqs_queue.dlq
  to   = module.stream_writer["firehose"].aws_sqs_queue.dlq
}

moved {
  from = module.firehose[0].aws_cloudwatch_log_group.writer
  to   = module.stream_writer["firehose"].aws_cloudwatch_log_group.this
}

moved {
  from = module.firehose[0].aws_iam_role.writer
  to   = module.stream_writer["firehose"].aws_iam_role.this
}

moved {
  from = module.firehose[0].aws_iam_role_policy.writer
  to   = module.stream_writer["firehose"].aws_iam_role_policy.this
}

moved {
  from = module.firehose[0].aws_lambda_function.writer
  to   = module.stream_writer["firehose"].aws_lambda_function.this
}

moved {
  from = module.firehose[0].aws_cloudwatch_metric_alarm.writer_errors
  to   = module.stream_writer["firehose"].aws_cloudwatch_metric_alarm.errors
}

moved {
  from = module.firehose[0].aws_cloudwatch_metric_alarm.dlq_depth
  to   = module.stream_writer["firehose"].aws_cloudwatch_metric_alarm.dlq_depth
}
