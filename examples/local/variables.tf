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
  description = "s3_event or schedule (see the root module)."
  type        = string
  default     = "s3_event"
}

variable "data_api_mode" {
  description = "async (EventBridge completion events reach the completion function) or poll (the loader waits for its statement)."
  type        = string
  default     = "async"
}

variable "warehouse_master_password" {
  description = "Master password of the emulated Redshift cluster. The emulator never checks it; the loader authenticates with temporary credentials for db_user."
  type        = string
  default     = "Sandbox-only-1"
  sensitive   = true
}
