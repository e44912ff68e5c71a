variable "bucket_name" {
  description = "Globally unique name of the DSS upload bucket."
  type        = string
}

variable "upload_prefix" {
  description = "Key prefix of uploads that trigger a load: <upload_prefix><scenario_id>/<file>.dss."
  type        = string
  default     = "uploads/"

  validation {
    condition     = can(regex("^[a-z0-9_-]+/$", var.upload_prefix))
    error_message = "upload_prefix: one folder name ending with a slash, e.g. uploads/."
  }
}

variable "transition_to_ia_days" {
  description = "Days after upload before a DSS file moves to STANDARD_IA (minimum 30)."
  type        = number
  default     = 30
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced (noncurrent) version is kept for rollbacks before it expires."
  type        = number
  default     = 180
}
