# Capture source: the DynamoDB table (created here or adopted), the event source
# mapping that feeds its stream to the writer function, and an alarm on how far
# the writer lags behind the stream.

locals {
  adopted_table = var.create_table ? null : data.aws_dynamodb_table.adopted[0]

  table_name = var.create_table ? aws_dynamodb_table.this[0].name : local.adopted_table.name
  table_arn  = var.create_table ? aws_dynamodb_table.this[0].arn : local.adopted_table.arn
  stream_arn = var.create_table ? aws_dynamodb_table.this[0].stream_arn : local.adopted_table.stream_arn

  # For an adopted table the key names come from the key schema and their types
  # from the attribute definitions; a table without a sort key reports "".
  hash_key = var.create_table ? var.hash_key : {
    name = local.adopted_table.hash_key
    type = one([for attribute in local.adopted_table.attribute : attribute.type if attribute.name == local.adopted_table.hash_key])
  }
  range_key = var.create_table ? var.range_key : (
    try(length(local.adopted_table.range_key) > 0, false) ? {
      name = local.adopted_table.range_key
      type = one([for attribute in local.adopted_table.attribute : attribute.type if attribute.name == local.adopted_table.range_key])
    } : null
  )

  key_attributes = var.range_key == null ? [var.hash_key] : [var.hash_key, var.range_key]
}

resource "aws_dynamodb_table" "this" {
  count = var.create_table ? 1 : 0

  name                        = var.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.hash_key.name
  range_key                   = try(var.range_key.name, null)
  stream_enabled              = true
  stream_view_type            = "NEW_AND_OLD_IMAGES"
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = local.key_attributes
    content {
      name = attribute.value.name
      type = attribute.value.type
    }
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.hash_key != null
      error_message = "hash_key is required when create_table = true: set hash_key = { name = \"pk\", type = \"S\" }."
    }

    precondition {
      condition     = var.range_key == null || try(var.range_key.name != var.hash_key.name, true)
      error_message = "range_key.name must differ from hash_key.name."
    }
  }
}

data "aws_dynamodb_table" "adopted" {
  count = var.create_table ? 0 : 1

  name = var.table_name

  lifecycle {
    postcondition {
      condition     = self.stream_enabled == true && contains(["NEW_IMAGE", "NEW_AND_OLD_IMAGES"], coalesce(self.stream_view_type, "NONE"))
      error_message = "DynamoDB table ${var.table_name} has no stream that carries new images (stream_enabled = ${self.stream_enabled}, stream_view_type = ${coalesce(self.stream_view_type, "none")}). Enable the stream: aws dynamodb update-table --table-name ${var.table_name} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES"
    }
  }
}

resource "aws_lambda_event_source_mapping" "stream_to_writer" {
  event_source_arn = local.stream_arn
  function_name    = var.function_name

  starting_position                  = var.stream_mapping.starting_position
  batch_size                         = var.stream_mapping.batch_size
  maximum_batching_window_in_seconds = var.stream_mapping.maximum_batching_window_in_seconds
  parallelization_factor             = var.stream_mapping.parallelization_factor
  bisect_batch_on_function_error     = var.stream_mapping.bisect_batch_on_function_error
  maximum_retry_attempts             = var.stream_mapping.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.stream_mapping.maximum_record_age_in_seconds

  # The writer reports the first record it could not finish, so the shard
  # resumes there instead of replaying the whole batch.
  function_response_types = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = var.on_failure_destination_arn
    }
  }

  dynamic "filter_criteria" {
    for_each = length(var.stream_mapping.filter_patterns) > 0 ? [var.stream_mapping.filter_patterns] : []
    content {
      dynamic "filter" {
        for_each = filter_criteria.value
        content {
          pattern = filter.value
        }
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  alarm_name        = "${var.name}-stream-iterator-age"
  alarm_description = "Writer ${var.function_name} is more than ${var.iterator_age_alarm_threshold_ms} ms behind the stream of table ${var.table_name}. Records older than 24 h leave the stream."

  namespace   = "AWS/Lambda"
  metric_name = "IteratorAge"
  dimensions = {
    FunctionName = var.function_name
  }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_alarm_threshold_ms
  treat_missing_data  = "notBreaching"

  alarm_actions = var.alarm_actions
  tags          = var.tags
}
