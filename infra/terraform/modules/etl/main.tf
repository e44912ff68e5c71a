# The ETL runner: an ECS Fargate task started by EventBridge for every DSS
# upload (S3 "Object Created" -> rule -> ecs:RunTask). It runs the pipeline
# image's infra/docker/etl_task.sh: `coeqwal ingest dss` for the uploaded file,
# then `coeqwal build`. Why Fargate and not Lambda: README.md of this module.

data "aws_region" "current" {}

locals {
  image          = var.image != "" ? var.image : "${aws_ecr_repository.pipeline.repository_url}:latest"
  container_name = "pipeline"
  upload_objects = "${var.bucket_arn}/${var.upload_prefix}*"
}

resource "aws_ecr_repository" "pipeline" {
  name                 = "${var.name}-pipeline"
  image_tag_mutability = "MUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_lifecycle_policy" "pipeline" {
  repository = aws_ecr_repository.pipeline.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 20 most recent images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 20
      }
      action = { type = "expire" }
    }]
  })
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

# --- Execution role (ECS agent), log group, security group: modules/ecs_task --

# The execution role reads only the three database secrets (the agent injects
# them), log group /ecs/<name>/etl (ETL and bootstrap), task security group.
module "ecs_task" {
  source = "../ecs_task"

  name      = var.name
  component = "etl"
  secret_arns = [
    var.owner_secret_arn,
    var.master_secret_arn,
    var.authenticator_secret_arn,
  ]
  secrets_policy_name        = "read-db-secrets"
  log_retention_days         = var.log_retention_days
  vpc_id                     = var.vpc_id
  security_group_description = "ETL and bootstrap tasks: no inbound; outbound to RDS, S3 and AWS APIs"
  egress_description         = "RDS, S3 (gateway endpoint), ECR, Secrets Manager, CloudWatch Logs"
}

# --- Task role (the code) -----------------------------------------------------

resource "aws_iam_role" "task" {
  name               = "${var.name}-etl-task"
  assume_role_policy = module.ecs_task.assume_role_policy_json
}

# The loader reads DSS files under the upload prefix, and nothing else.
data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [local.upload_objects]
  }

  statement {
    sid       = "ListUploads"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.upload_prefix}*"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "read-dss-uploads"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# --- Task definitions ----------------------------------------------------------

resource "aws_ecs_task_definition" "etl" {
  family                   = "${var.name}-etl"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory_mb
  execution_role_arn       = module.ecs_task.execution_role_arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # A full-size DSS file is ~230 MB; the reader's temporary files sit beside it.
  ephemeral_storage {
    size_in_gib = var.ephemeral_storage_gb
  }

  container_definitions = jsonencode([{
    name       = local.container_name
    image      = local.image
    essential  = true
    entryPoint = ["/app/infra/docker/etl_task.sh"]
    environment = [
      { name = "AWS_REGION", value = data.aws_region.current.name },
      { name = "DBT_TARGET_PATH", value = "/app/target" },
      # libpq (psycopg2, dbt) reads it; RDS forces TLS (rds.force_ssl).
      { name = "PGSSLMODE", value = "require" },
    ]
    secrets = [
      { name = "COEQWAL_DATABASE_URL", valueFrom = "${var.owner_secret_arn}:url::" },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options   = merge(module.ecs_task.log_options, { awslogs-stream-prefix = "etl" })
    }
  }])
}

# One-off: database, owner role, PostGIS, PostgREST roles and their passwords
# (infra/docker/bootstrap_roles.py, idempotent; re-run after rotating them).
resource "aws_ecs_task_definition" "bootstrap" {
  family                   = "${var.name}-bootstrap"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = module.ecs_task.execution_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([{
    name       = "bootstrap"
    image      = local.image
    essential  = true
    entryPoint = ["python", "/app/infra/docker/bootstrap_roles.py"]
    command    = []
    environment = [
      { name = "PGHOST", value = var.db_address },
      { name = "PGPORT", value = tostring(var.db_port) },
      { name = "PGDATABASE", value = "postgres" },
      { name = "PGSSLMODE", value = "require" },
      { name = "COEQWAL_DB_NAME", value = var.db_name },
    ]
    secrets = [
      { name = "PGUSER", valueFrom = "${var.master_secret_arn}:username::" },
      { name = "PGPASSWORD", valueFrom = "${var.master_secret_arn}:password::" },
      { name = "COEQWAL_OWNER_USER", valueFrom = "${var.owner_secret_arn}:username::" },
      { name = "COEQWAL_OWNER_PASSWORD", valueFrom = "${var.owner_secret_arn}:password::" },
      { name = "AUTHENTICATOR_PASSWORD", valueFrom = "${var.authenticator_secret_arn}:password::" },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options   = merge(module.ecs_task.log_options, { awslogs-stream-prefix = "bootstrap" })
    }
  }])
}

# --- Trigger: S3 Object Created (under the upload prefix, *.dss) -> RunTask ----

resource "aws_cloudwatch_event_rule" "upload" {
  name        = "${var.name}-dss-upload"
  description = "A DSS file was uploaded under ${var.upload_prefix}: load it and build"
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [var.bucket_name] }
      object = {
        key = [{ wildcard = "${var.upload_prefix}*/*.dss" }, { wildcard = "${var.upload_prefix}*/*.DSS" }]
      }
    }
  })
}

data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "events" {
  name               = "${var.name}-etl-trigger"
  assume_role_policy = data.aws_iam_policy_document.events_assume.json
}

# EventBridge may start the ETL task definition on this cluster, and pass its
# two roles to it: nothing else.
data "aws_iam_policy_document" "events" {
  statement {
    actions   = ["ecs:RunTask"]
    resources = ["${aws_ecs_task_definition.etl.arn_without_revision}:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.this.arn]
    }
  }

  statement {
    actions   = ["iam:PassRole"]
    resources = [module.ecs_task.execution_role_arn, aws_iam_role.task.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "events" {
  name   = "run-etl-task"
  role   = aws_iam_role.events.id
  policy = data.aws_iam_policy_document.events.json
}

resource "aws_cloudwatch_event_target" "etl" {
  rule     = aws_cloudwatch_event_rule.upload.name
  arn      = aws_ecs_cluster.this.arn
  role_arn = aws_iam_role.events.arn

  ecs_target {
    task_definition_arn = aws_ecs_task_definition.etl.arn_without_revision
    task_count          = 1
    launch_type         = "FARGATE"
    platform_version    = "LATEST"
    propagate_tags      = "TASK_DEFINITION"

    network_configuration {
      subnets          = var.subnet_ids
      security_groups  = [module.ecs_task.security_group_id]
      assign_public_ip = false
    }
  }

  # The object becomes the task's DSS_BUCKET / DSS_KEY.
  input_transformer {
    input_paths = {
      bucket = "$.detail.bucket.name"
      key    = "$.detail.object.key"
    }
    input_template = <<-JSON
      {"containerOverrides": [{"name": "${local.container_name}", "environment": [{"name": "DSS_BUCKET", "value": <bucket>}, {"name": "DSS_KEY", "value": <key>}]}]}
    JSON
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }
}

# --- Nightly audit: the ETL task with COEQWAL_TASK=audit runs `coeqwal audit` ----
# (every data test on every scenario; a failure exits 1 like a failed load,
# which the monitoring module's ETL-failure alarm reports).

resource "aws_cloudwatch_event_rule" "audit" {
  name                = "${var.name}-audit"
  description         = "Every data test on every scenario of the warehouse (coeqwal audit)"
  schedule_expression = var.audit_schedule
}

resource "aws_cloudwatch_event_target" "audit" {
  rule     = aws_cloudwatch_event_rule.audit.name
  arn      = aws_ecs_cluster.this.arn
  role_arn = aws_iam_role.events.arn

  ecs_target {
    task_definition_arn = aws_ecs_task_definition.etl.arn_without_revision
    task_count          = 1
    launch_type         = "FARGATE"
    platform_version    = "LATEST"
    propagate_tags      = "TASK_DEFINITION"

    network_configuration {
      subnets          = var.subnet_ids
      security_groups  = [module.ecs_task.security_group_id]
      assign_public_ip = false
    }
  }

  input = jsonencode({
    containerOverrides = [{
      name        = local.container_name
      environment = [{ name = "COEQWAL_TASK", value = "audit" }]
    }]
  })
}
