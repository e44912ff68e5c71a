variable "name" {
  description = "Name prefix (coeqwal-<environment>)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the task security group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the tasks run in."
  type        = list(string)
}

variable "image" {
  description = "Pipeline image with tag; empty uses this module's ECR repository, tag latest."
  type        = string
}

variable "cpu" {
  description = <<-EOT
    Fargate CPU units of the ETL task (1024 = 1 vCPU). Measured on 2 cores: ingest
    of a full-size DV file (21,500 series x 1,200 months) 26.5 s; the whole dbt
    build for the first full-size scenario 225 s; adding one scenario 141.3 s at 1
    and 149.5 s at 26 scenarios loaded (docs/scaling.md). 2 vCPU reproduces those numbers; the task has no
    15-minute limit (a seed edit recomputes every scenario).
  EOT
  type        = number

  validation {
    condition     = contains([1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be a Fargate size: 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory_mb" {
  description = "Fargate memory of the ETL task in MiB (must suit the CPU size)."
  type        = number
}

variable "ephemeral_storage_gb" {
  description = "Task scratch space in GiB (21-200): the downloaded DSS file (~230 MB full size) and dbt's target/."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  description = "Days the ETL log group keeps task output."
  type        = number
  default     = 90
}

variable "bucket_name" {
  description = "DSS upload bucket (the EventBridge rule matches it)."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of the DSS upload bucket (the task role may read under upload_prefix only)."
  type        = string
}

variable "upload_prefix" {
  description = "Key prefix of uploads that start the task: <prefix><scenario_id>/<file>.dss."
  type        = string
}

variable "db_address" {
  description = "RDS host name (for the bootstrap task's admin connection)."
  type        = string
}

variable "db_port" {
  description = "RDS port."
  type        = number
}

variable "db_name" {
  description = "Warehouse database name."
  type        = string
}

variable "owner_secret_arn" {
  description = "Secret of the owner role (its `url` key becomes COEQWAL_DATABASE_URL)."
  type        = string
}

variable "master_secret_arn" {
  description = "RDS-managed master secret (bootstrap task only)."
  type        = string
}

variable "authenticator_secret_arn" {
  description = "PostgREST's authenticator secret (the bootstrap task sets that password)."
  type        = string
}

variable "audit_schedule" {
  description = "EventBridge schedule of the audit task (coeqwal audit: every data test on every scenario); default 10:00 UTC daily, 02:00/03:00 in California."
  type        = string
  default     = "cron(0 10 * * ? *)"
}
