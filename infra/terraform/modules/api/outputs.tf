output "api_id" {
  description = "ID of the HTTP API (CloudWatch dimension ApiId)."
  value       = aws_apigatewayv2_api.this.id
}

output "stage_name" {
  description = "Stage name (CloudWatch dimension Stage)."
  value       = aws_apigatewayv2_stage.default.name
}

output "api_url" {
  description = "Base URL of the API, ending in /api/v1."
  value       = "${aws_apigatewayv2_api.this.api_endpoint}/api/v1"
}

output "security_group_id" {
  description = "Security group of the PostgREST tasks (allowed into RDS)."
  value       = module.ecs_task.security_group_id
}

output "service_name" {
  description = "ECS service of PostgREST."
  value       = aws_ecs_service.postgrest.name
}

output "log_group_name" {
  description = "Log group of the PostgREST tasks."
  value       = module.ecs_task.log_group_name
}
