output "delivery_stream_name" {
  description = "Name of the Firehose delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "delivery_stream_arn" {
  description = "ARN of the Firehose delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "delivery_role_arn" {
  description = "ARN of the role Firehose assumes to write to the bucket; grant it in the bucket's or key's policy when they restrict principals."
  value       = aws_iam_role.firehose.arn
}

output "raw_prefix" {
  description = "Key prefix under which Firehose delivers this table's objects, with a trailing slash (e.g. \"cdc/raw/orders/\")."
  value       = local.raw_prefix
}

output "freshness_alarm_threshold_seconds" {
  description = "Threshold of the delivery freshness alarm (AWS/Firehose DeliveryToS3.DataFreshness, Maximum), read from the alarm: 2 x buffering_interval + 60 s."
  value       = aws_cloudwatch_metric_alarm.delivery_freshness.threshold
}
