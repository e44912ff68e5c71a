variable "name" {
  description = "Name prefix (coeqwal-<environment>): instance identifier, groups, secret names."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database security group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two zones) of the DB subnet group."
  type        = list(string)
}

variable "client_security_groups" {
  description = "Security groups allowed to connect on 5432 (the ETL and API tasks)."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL major (or major.minor) version; the project targets 15 (with PostGIS 3)."
  type        = string
  default     = "15"
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
}

variable "db_name" {
  description = "Name of the warehouse database."
  type        = string
  default     = "coeqwal"
}

variable "master_username" {
  description = "RDS master user (used only by the bootstrap task; its password lives in the RDS-managed secret)."
  type        = string
  default     = "coeqwal_admin"
}

variable "owner_username" {
  description = "Role that owns the warehouse and runs dbt and the loader."
  type        = string
  default     = "coeqwal_owner"
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB."
  type        = number
}

variable "max_allocated_storage" {
  description = "Storage autoscaling limit in GiB."
  type        = number
}

variable "backup_retention_days" {
  description = "Days of automated backups and point-in-time restore (1-35)."
  type        = number

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be 1-35 (0 would disable backups)."
  }
}

variable "multi_az" {
  description = "Whether to keep a synchronous standby in a second zone."
  type        = bool
}

variable "read_replica_count" {
  description = "Number of read replicas of the instance for the API's reads (docs/scaling.md); 0: none."
  type        = number
  default     = 0

  validation {
    condition     = var.read_replica_count >= 0 && floor(var.read_replica_count) == var.read_replica_count
    error_message = "read_replica_count must be a whole number, 0 or more."
  }
}

variable "read_replica_instance_class" {
  description = "RDS instance class of the read replicas; empty: the primary's instance_class."
  type        = string
  default     = ""
}
