# PostgREST on ECS Fargate in the private subnets, registered in Cloud Map,
# behind an API Gateway HTTP API: ANY /api/v1/{proxy+} -> VPC link -> PostgREST
# (the /api/v1 prefix is stripped). PostgREST's settings are those of
# infra/postgrest/postgrest.conf, as PGRST_* variables (tests/python/test_infra.py
# checks that they match); its database URL comes from Secrets Manager.

locals {
  container_name = "postgrest"
  port           = 3000
  admin_port     = 3001
}

# Execution role (reads only the authenticator's secret; PostgREST itself calls
# no AWS API, so no task role), log group /ecs/<name>/postgrest, task security group.
module "ecs_task" {
  source = "../ecs_task"

  name                       = var.name
  component                  = "postgrest"
  secret_arns                = [var.authenticator_secret_arn]
  secrets_policy_name        = "read-authenticator-secret"
  log_retention_days         = var.log_retention_days
  vpc_id                     = var.vpc_id
  security_group_description = "PostgREST tasks: inbound from the API Gateway VPC link only"
  egress_description         = "RDS, image pulls, Secrets Manager, CloudWatch Logs"
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/apigateway/${var.name}/access"
  retention_in_days = var.log_retention_days
}

# --- Network ----------------------------------------------------------------

resource "aws_security_group" "vpc_link" {
  name        = "${var.name}-api-vpc-link"
  description = "API Gateway VPC link: outbound to PostgREST only"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "vpc_link_to_postgrest" {
  security_group_id            = aws_security_group.vpc_link.id
  referenced_security_group_id = module.ecs_task.security_group_id
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  description                  = "HTTP to PostgREST"
}

resource "aws_vpc_security_group_ingress_rule" "postgrest_from_vpc_link" {
  security_group_id            = module.ecs_task.security_group_id
  referenced_security_group_id = aws_security_group.vpc_link.id
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  description                  = "HTTP from the API Gateway VPC link"
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  name        = "${var.name}.internal"
  description = "Private names of the COEQWAL services"
  vpc         = var.vpc_id
}

# API Gateway's Cloud Map integration needs SRV records (address and port).
resource "aws_service_discovery_service" "postgrest" {
  name = "postgrest"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"

    dns_records {
      ttl  = 10
      type = "SRV"
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }
}

# --- PostgREST service ---------------------------------------------------------

resource "aws_ecs_task_definition" "postgrest" {
  family                   = "${var.name}-postgrest"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory_mb
  execution_role_arn       = module.ecs_task.execution_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([{
    name         = local.container_name
    image        = var.image
    essential    = true
    portMappings = [{ containerPort = local.port, protocol = "tcp" }]
    # infra/postgrest/postgrest.conf, setting by setting.
    environment = [
      { name = "PGRST_DB_SCHEMAS", value = "api" },
      { name = "PGRST_DB_EXTRA_SEARCH_PATH", value = "public" },
      { name = "PGRST_DB_ANON_ROLE", value = "web_anon" },
      { name = "PGRST_DB_MAX_ROWS", value = "10000" },
      { name = "PGRST_DB_POOL", value = "10" },
      { name = "PGRST_DB_POOL_ACQUISITION_TIMEOUT", value = "10" },
      { name = "PGRST_DB_TX_END", value = "rollback" },
      { name = "PGRST_DB_CHANNEL_ENABLED", value = "true" },
      { name = "PGRST_DB_CHANNEL", value = "pgrst" },
      { name = "PGRST_OPENAPI_MODE", value = "follow-privileges" },
      { name = "PGRST_OPENAPI_SERVER_PROXY_URI", value = "${aws_apigatewayv2_api.this.api_endpoint}/api/v1" },
      { name = "PGRST_SERVER_HOST", value = "0.0.0.0" },
      { name = "PGRST_SERVER_PORT", value = tostring(local.port) },
      { name = "PGRST_LOG_LEVEL", value = "error" },
      { name = "PGRST_ADMIN_SERVER_PORT", value = tostring(local.admin_port) },
    ]
    # `url` (the primary) or `read_url` (the read replicas, LISTEN on the
    # primary: docs/scaling.md).
    secrets = [
      { name = "PGRST_DB_URI", valueFrom = "${var.authenticator_secret_arn}:${var.db_uri_secret_key}::" },
    ]
    healthCheck = {
      command     = ["CMD", "postgrest", "--ready"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 20
    }
    logConfiguration = {
      logDriver = "awslogs"
      options   = merge(module.ecs_task.log_options, { awslogs-stream-prefix = "postgrest" })
    }
  }])
}

resource "aws_ecs_service" "postgrest" {
  name            = "${var.name}-postgrest"
  cluster         = var.cluster_arn
  task_definition = aws_ecs_task_definition.postgrest.arn
  desired_count   = var.desired_count
  launch_type     = "FARGATE"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [module.ecs_task.security_group_id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn   = aws_service_discovery_service.postgrest.arn
    container_name = local.container_name
    container_port = local.port
  }
}

# --- API Gateway (HTTP API) ------------------------------------------------------

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  protocol_type = "HTTP"
  description   = "COEQWAL read-only API (PostgREST) under /api/v1/"

  cors_configuration {
    allow_origins = var.cors_allow_origins
    allow_methods = ["GET", "HEAD", "OPTIONS"]
    allow_headers = ["accept", "content-type", "prefer", "range"]
    max_age       = 3600
  }
}

resource "aws_apigatewayv2_vpc_link" "this" {
  name               = var.name
  security_group_ids = [aws_security_group.vpc_link.id]
  subnet_ids         = var.subnet_ids
}

resource "aws_apigatewayv2_integration" "postgrest" {
  api_id             = aws_apigatewayv2_api.this.id
  integration_type   = "HTTP_PROXY"
  integration_method = "ANY"
  integration_uri    = aws_service_discovery_service.postgrest.arn
  connection_type    = "VPC_LINK"
  connection_id      = aws_apigatewayv2_vpc_link.this.id

  # /api/v1/scenarios?x=y -> PostgREST /scenarios?x=y
  request_parameters = {
    "overwrite:path" = "/$request.path.proxy"
  }

  timeout_milliseconds = 29000
}

resource "aws_apigatewayv2_route" "api_v1" {
  api_id    = aws_apigatewayv2_api.this.id
  route_key = "ANY /api/v1/{proxy+}"
  target    = "integrations/${aws_apigatewayv2_integration.postgrest.id}"
}

# GET /api/v1/ is PostgREST's OpenAPI description (path "/").
resource "aws_apigatewayv2_integration" "openapi" {
  api_id             = aws_apigatewayv2_api.this.id
  integration_type   = "HTTP_PROXY"
  integration_method = "GET"
  integration_uri    = aws_service_discovery_service.postgrest.arn
  connection_type    = "VPC_LINK"
  connection_id      = aws_apigatewayv2_vpc_link.this.id

  request_parameters = {
    "overwrite:path" = "/"
  }
}

resource "aws_apigatewayv2_route" "openapi" {
  api_id    = aws_apigatewayv2_api.this.id
  route_key = "GET /api/v1/"
  target    = "integrations/${aws_apigatewayv2_integration.openapi.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId        = "$context.requestId"
      ip               = "$context.identity.sourceIp"
      requestTime      = "$context.requestTime"
      method           = "$context.httpMethod"
      path             = "$context.path"
      status           = "$context.status"
      latencyMs        = "$context.responseLatency"
      integrationError = "$context.integrationErrorMessage"
      responseLength   = "$context.responseLength"
    })
  }
}
