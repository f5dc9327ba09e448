"""DynamoDB Streams -> S3/Firehose -> Redshift change data capture: the code every Lambda function runs."""
