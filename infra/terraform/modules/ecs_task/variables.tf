variable "name" {
  description = "Name prefix (coeqwal-<environment>)."
  type        = string
}

variable "component" {
  description = "Short name of the task (postgrest, etl): the role is <name>-<component>-execution, the log group /ecs/<name>/<component>, the security group <name>-<component>."
  type        = string
}

variable "secret_arns" {
  description = "Secrets Manager ARNs the execution role may read (the task definitions' `secrets`), and nothing else."
  type        = list(string)

  validation {
    condition     = length(var.secret_arns) > 0 && !contains(var.secret_arns, "*")
    error_message = "secret_arns: at least one secret ARN, and no wildcard."
  }
}

variable "secrets_policy_name" {
  description = "Name of the execution role's inline policy reading those secrets."
  type        = string
}

variable "log_retention_days" {
  description = "Days the task log group keeps entries."
  type        = number
}

variable "vpc_id" {
  description = "VPC of the task security group."
  type        = string
}

variable "security_group_description" {
  description = "Description of the task security group (who may reach the tasks)."
  type        = string
}

variable "egress_description" {
  description = "Description of the security group's allow-all egress rule (what the tasks reach)."
  type        = string
}
