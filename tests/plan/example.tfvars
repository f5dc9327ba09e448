# A user's terraform.tfvars, as the planner reads it (tests/plan/test_tfvars.py).
region        = "us-east-1"
name          = "orders-cdc"
aggregation   = "firehose"
load_strategy = "schedule"

stream_mapping = {
  batch_size                         = 500
  maximum_batching_window_in_seconds = 20
}

firehose = {
  buffering_size_mb          = 32
  buffering_interval_seconds = 120
}

loader = {
  schedule = {
    rate_minutes = 10
  }
}
