variable "region" {
  description = "AWS region for every resource (e.g. us-west-2, close to the California users)."
  type        = string
  default     = "us-west-2"
}

variable "environment" {
  description = "Deployment name used in resource names and tags (e.g. prod, staging)."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment: lower-case letters, digits and dashes, 2-16 characters."
  }
}

variable "tags" {
  description = "Extra tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "vpc_cidr" {
  description = "CIDR block of the warehouse VPC (two public and two private subnets are carved from it)."
  type        = string
  default     = "10.40.0.0/16"
}

variable "dss_bucket_name" {
  description = "Globally unique name of the S3 bucket that receives CalSim DSS uploads."
  type        = string
}

variable "db_instance_class" {
  description = "RDS instance class. The full-size build (21,500 series x 1,200 months per scenario) was measured on 2 cores; db.m6g.large (2 vCPU, 8 GiB) matches it."
  type        = string
  default     = "db.m6g.large"
}

variable "db_allocated_storage_gb" {
  description = "Initial RDS storage in GiB. About 5 bytes per raw value: a full-size scenario is ~130 MB raw plus marts and statistics."
  type        = number
  default     = 100
}

variable "db_max_allocated_storage_gb" {
  description = "Upper bound for RDS storage autoscaling in GiB."
  type        = number
  default     = 500
}

variable "db_backup_retention_days" {
  description = "Days of automated RDS backups (point-in-time restore window), 1-35."
  type        = number
  default     = 14
}

variable "db_multi_az" {
  description = "Run RDS Multi-AZ (a standby in a second zone)."
  type        = bool
  default     = false
}

variable "db_read_replica_count" {
  description = "Read replicas of the RDS instance for the API's reads (docs/scaling.md). 0: none."
  type        = number
  default     = 0
}

variable "db_read_replica_instance_class" {
  description = "RDS instance class of the read replicas; empty: the same as db_instance_class."
  type        = string
  default     = ""
}

variable "pipeline_image" {
  description = "Pipeline image (infra/docker/Dockerfile.pipeline) with tag, e.g. <account>.dkr.ecr.<region>.amazonaws.com/coeqwal-pipeline:<git-sha>. Empty: the ECR repository created here, tag `latest`."
  type        = string
  default     = ""
}

variable "postgrest_image" {
  description = "PostgREST container image with tag (the same as infra/docker/docker-compose.yml)."
  type        = string
  default     = "postgrest/postgrest:v14.1"
}

variable "etl_cpu" {
  description = "Fargate CPU units of the ETL task (1024 = 1 vCPU). Measured: full-size ingest 26.5 s and dbt build 225 s on 2 cores (docs/scaling.md)."
  type        = number
  default     = 2048
}

variable "etl_memory_mb" {
  description = "Fargate memory (MiB) of the ETL task; the DSS reader peaked at 180 MB RSS per full-size file, dbt at well under 1 GiB."
  type        = number
  default     = 8192
}

variable "api_desired_count" {
  description = "Number of PostgREST tasks behind the API gateway."
  type        = number
  default     = 2
}

variable "api_reads_from_replica" {
  description = "PostgREST reads from the read replicas (the secret's read_url: replicas first, LISTEN on the primary) instead of the primary. Without replicas it reads from the primary either way."
  type        = bool
  default     = false
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (empty: no subscription; subscribe later)."
  type        = string
  default     = ""
}

variable "api_5xx_rate_threshold" {
  description = "Alarm when the share of API responses that are 5xx exceeds this fraction over 5 minutes."
  type        = number
  default     = 0.05
}
