output "api_url" {
  description = "Base URL of the public API: GET <api_url>/scenarios, /pipeline_status, ..."
  value       = module.api.api_url
}

output "dss_bucket_name" {
  description = "Bucket receiving DSS uploads; put files under <upload_prefix><scenario_id>/ to load them."
  value       = module.storage.bucket_name
}

output "dss_upload_prefix" {
  description = "Key prefix whose uploads start the ETL task."
  value       = module.storage.upload_prefix
}

output "pipeline_ecr_repository_url" {
  description = "ECR repository to push the pipeline image to (docker build -f infra/docker/Dockerfile.pipeline)."
  value       = module.etl.ecr_repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster running the ETL and API tasks."
  value       = module.etl.cluster_name
}

output "etl_task_definition_family" {
  description = "Task definition family of the ETL task (ingest one upload + dbt build)."
  value       = module.etl.task_family
}

output "bootstrap_task_definition_family" {
  description = "Task definition family of the one-off database bootstrap (roles, passwords, PostGIS)."
  value       = module.etl.bootstrap_task_family
}

output "etl_network_configuration" {
  description = "awsvpcConfiguration for `aws ecs run-task` of the ETL or bootstrap task (subnets and security group)."
  value = {
    subnets        = module.network.private_subnet_ids
    securityGroups = [module.etl.security_group_id]
    assignPublicIp = "DISABLED"
  }
}

output "db_endpoint" {
  description = "RDS endpoint (host:port), reachable only from the ETL and API security groups."
  value       = module.database.endpoint
}

output "db_replica_endpoints" {
  description = "host:port of each RDS read replica (db_read_replica_count); empty without replicas."
  value       = module.database.replica_endpoints
}

output "db_master_secret_arn" {
  description = "Secrets Manager ARN of the RDS master credentials (managed and rotated by RDS)."
  value       = module.database.master_secret_arn
}

output "alarm_topic_arn" {
  description = "SNS topic receiving every alarm (subscribe e-mail, chat or paging to it)."
  value       = module.monitoring.alarm_topic_arn
}
