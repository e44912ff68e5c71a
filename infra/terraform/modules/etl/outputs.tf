output "cluster_arn" {
  description = "ARN of the ECS cluster (ETL and API tasks)."
  value       = aws_ecs_cluster.this.arn
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "task_family" {
  description = "Task definition family of the ETL task."
  value       = aws_ecs_task_definition.etl.family
}

output "bootstrap_task_family" {
  description = "Task definition family of the one-off bootstrap task."
  value       = aws_ecs_task_definition.bootstrap.family
}

output "log_group_name" {
  description = "CloudWatch log group of the ETL and bootstrap tasks."
  value       = module.ecs_task.log_group_name
}

output "security_group_id" {
  description = "Security group of the ETL and bootstrap tasks (allowed into RDS)."
  value       = module.ecs_task.security_group_id
}

output "ecr_repository_url" {
  description = "ECR repository of the pipeline image."
  value       = aws_ecr_repository.pipeline.repository_url
}

output "upload_rule_name" {
  description = "EventBridge rule that starts the task on an upload."
  value       = aws_cloudwatch_event_rule.upload.name
}
