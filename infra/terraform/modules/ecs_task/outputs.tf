output "assume_role_policy_json" {
  description = "Trust policy letting ECS tasks of this account and region assume a role (for a task role of the caller)."
  value       = data.aws_iam_policy_document.ecs_tasks_assume.json
}

output "execution_role_arn" {
  description = "ARN of the execution role (the task definitions' execution_role_arn)."
  value       = aws_iam_role.execution.arn
}

output "log_group_name" {
  description = "Name of the task log group (/ecs/<name>/<component>)."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_options" {
  description = "awslogs driver options without the stream prefix: merge in `awslogs-stream-prefix` per container."
  value = {
    awslogs-group  = aws_cloudwatch_log_group.this.name
    awslogs-region = data.aws_region.current.name
  }
}

output "security_group_id" {
  description = "ID of the task security group (no inbound rule; allow-all egress)."
  value       = aws_security_group.this.id
}
