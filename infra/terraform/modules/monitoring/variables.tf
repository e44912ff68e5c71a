variable "name" {
  description = "Name prefix (coeqwal-<environment>)."
  type        = string
}

variable "alarm_email" {
  description = "E-mail subscribed to the alarm topic; empty for none."
  type        = string
}

variable "ecs_cluster_arn" {
  description = "Cluster the ETL task runs in (matched by the task-failure rule)."
  type        = string
}

variable "etl_task_family" {
  description = "Task definition family of the ETL task (matched as group family:<name>)."
  type        = string
}

variable "etl_log_group_name" {
  description = "Log group of the ETL task, scanned for the CLI's `coeqwal: ` error lines."
  type        = string
}

variable "api_id" {
  description = "HTTP API id (dimension ApiId)."
  type        = string
}

variable "api_stage_name" {
  description = "HTTP API stage (dimension Stage)."
  type        = string
}

variable "api_5xx_rate_threshold" {
  description = "Alarm when 5xx responses exceed this share of requests in 5 minutes (with at least 20 requests)."
  type        = number
}

variable "db_instance_id" {
  description = "RDS instance identifier (dimension DBInstanceIdentifier)."
  type        = string
}

variable "db_allocated_storage_gb" {
  description = "Allocated RDS storage in GiB, the base of the free-storage threshold."
  type        = number
}

variable "rds_cpu_threshold_percent" {
  description = "Alarm when average RDS CPU stays above this for 30 minutes."
  type        = number
  default     = 80
}

variable "rds_free_storage_percent" {
  description = "Alarm when free storage falls below this percentage of the allocated storage."
  type        = number
  default     = 15
}
