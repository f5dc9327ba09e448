variable "endpoint" {
  description = "URL of the AWS emulator every provider call goes to, e.g. http://127.0.0.1:5000 (the sandbox passes its moto server)."
  type        = string

  validation {
    condition     = can(regex("^https?://[^/]+/?$", var.endpoint))
    error_message = "endpoint must be an http(s) URL with no path, e.g. http://127.0.0.1:5000."
  }
}

variable "access_key" {
  description = "Access key the emulator accepts. moto takes any value; \"testing\" is its documented dummy. Never a real key."
  type        = string
  default     = "testing"
}

variable "secret_key" {
  description = "Secret key the emulator accepts (moto's documented dummy). Never a real key."
  type        = string
  default     = "testing"
  sensitive   = true
}

variable "name" {
  description = "Name prefix for every resource (see the root module)."
  type        = string
  default     = "cdc-demo"
}

variable "aggregation" {
  description = "lambda or firehose (see the root module)."
  type        = string
  default     = "lambda"
}

variable "load_strategy" {
  description = "s3_event, schedule, ec2_cron or emr_compaction (see the root module). ec2_cron and emr_compaction also create a VPC and a subnet, for the loader host or the compaction clusters."
  type        = string
  default     = "s3_event"
}

variable "data_api_mode" {
  description = "async (EventBridge completion events reach the completion function) or poll (the loader waits for its statement)."
  type        = string
  default     = "async"
}

variable "backfill_mode" {
  description = "Backfill of the items that exist before the pipeline: none, step_functions, checkpoint_table or export (see the root module's backfill input)."
  type        = string
  default     = "none"
}

variable "backfill_page_size" {
  description = "Scan page size of the backfill (items per page, one snapshot object each); the demo makes it small to get many pages."
  type        = number
  default     = 500
}

variable "backfill_read_units_per_second" {
  description = "The backfill's read-rate limit per segment; the demo lowers it so that a cancel lands in the middle of a scan."
  type        = number
  default     = 1000
}

variable "adopt_table" {
  description = "Controls whether the table <name>-readings is adopted (true: the demo created and seeded it before this apply, with a NEW_AND_OLD_IMAGES stream) or created here (false)."
  type        = bool
  default     = false
}

variable "ec2_cron_rate_minutes" {
  description = "Minutes between two loads of the ec2_cron host's timer (load_strategy = ec2_cron); the sandbox runs the timer on its own clock."
  type        = number
  default     = 1
}

variable "compaction_schedule_enabled" {
  description = "load_strategy = \"emr_compaction\": whether the hourly schedule starts runs. The demo turns it off and starts a run per hour itself (the sandbox clock runs faster than the hours in the raw keys)."
  type        = bool
  default     = true
}

variable "compaction_reconcile_rate_minutes" {
  description = "load_strategy = \"emr_compaction\": minutes between the loader's own scheduled runs. The demo sets a day, so that what its compaction runs load is theirs alone."
  type        = number
  default     = 60
}
