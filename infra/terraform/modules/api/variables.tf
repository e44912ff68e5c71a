variable "name" {
  description = "Name prefix (coeqwal-<environment>)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the PostgREST tasks, the Cloud Map namespace and the VPC link."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the PostgREST tasks and the VPC link."
  type        = list(string)
}

variable "cluster_arn" {
  description = "ECS cluster running the PostgREST service."
  type        = string
}

variable "image" {
  description = "PostgREST image with tag (the one in infra/docker/docker-compose.yml)."
  type        = string
}

variable "desired_count" {
  description = "Number of PostgREST tasks (2 spreads them over both zones)."
  type        = number
}

variable "cpu" {
  description = "Fargate CPU units per PostgREST task; PostgREST is light, the database does the work."
  type        = number
  default     = 256
}

variable "memory_mb" {
  description = "Fargate memory per PostgREST task in MiB (the schema cache and db-max-rows responses)."
  type        = number
  default     = 512
}

variable "authenticator_secret_arn" {
  description = "Secret whose `url` key is PGRST_DB_URI (the authenticator login)."
  type        = string
}

variable "db_uri_secret_key" {
  description = "Key of the authenticator secret used as PGRST_DB_URI: `url` (the primary) or `read_url` (the read replicas; the primary when there are none)."
  type        = string
  default     = "url"

  validation {
    condition     = contains(["url", "read_url"], var.db_uri_secret_key)
    error_message = "db_uri_secret_key must be url or read_url."
  }
}

variable "cors_allow_origins" {
  description = "Origins allowed by CORS (the COEQWAL website)."
  type        = list(string)
  default     = ["https://coeqwal.berkeley.edu"]
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second the gateway allows."
  type        = number
  default     = 100
}

variable "throttling_burst_limit" {
  description = "Burst of requests the gateway allows."
  type        = number
  default     = 200
}

variable "log_retention_days" {
  description = "Days the PostgREST and access log groups keep entries."
  type        = number
  default     = 90
}
