# COEQWAL warehouse on AWS: S3 uploads -> EventBridge -> ECS Fargate ETL task
# (ingest + dbt build) -> RDS PostgreSQL/PostGIS -> PostgREST on ECS Fargate ->
# API Gateway HTTP API (/api/v1/...). See docs/operations.md and each module's
# README.md for the choices and how to operate it.

locals {
  name = "coeqwal-${var.environment}"
}

module "network" {
  source = "./modules/network"

  name     = local.name
  vpc_cidr = var.vpc_cidr
}

module "storage" {
  source = "./modules/storage"

  bucket_name = var.dss_bucket_name
}

module "database" {
  source = "./modules/database"

  name                   = local.name
  vpc_id                 = module.network.vpc_id
  subnet_ids             = module.network.private_subnet_ids
  instance_class         = var.db_instance_class
  allocated_storage_gb   = var.db_allocated_storage_gb
  max_allocated_storage  = var.db_max_allocated_storage_gb
  backup_retention_days  = var.db_backup_retention_days
  multi_az               = var.db_multi_az
  client_security_groups = [module.etl.security_group_id, module.api.security_group_id]

  read_replica_count          = var.db_read_replica_count
  read_replica_instance_class = var.db_read_replica_instance_class
}

module "etl" {
  source = "./modules/etl"

  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  image                    = var.pipeline_image
  cpu                      = var.etl_cpu
  memory_mb                = var.etl_memory_mb
  bucket_name              = module.storage.bucket_name
  bucket_arn               = module.storage.bucket_arn
  upload_prefix            = module.storage.upload_prefix
  db_address               = module.database.address
  db_port                  = module.database.port
  db_name                  = module.database.db_name
  owner_secret_arn         = module.database.owner_secret_arn
  master_secret_arn        = module.database.master_secret_arn
  authenticator_secret_arn = module.database.authenticator_secret_arn
}

module "api" {
  source = "./modules/api"

  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  cluster_arn              = module.etl.cluster_arn
  image                    = var.postgrest_image
  desired_count            = var.api_desired_count
  authenticator_secret_arn = module.database.authenticator_secret_arn
  db_uri_secret_key        = var.api_reads_from_replica ? "read_url" : "url"
}

module "monitoring" {
  source = "./modules/monitoring"

  name                    = local.name
  alarm_email             = var.alarm_email
  ecs_cluster_arn         = module.etl.cluster_arn
  etl_task_family         = module.etl.task_family
  etl_log_group_name      = module.etl.log_group_name
  api_id                  = module.api.api_id
  api_stage_name          = module.api.stage_name
  api_5xx_rate_threshold  = var.api_5xx_rate_threshold
  db_instance_id          = module.database.instance_id
  db_allocated_storage_gb = var.db_allocated_storage_gb
}
