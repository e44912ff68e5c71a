# RDS PostgreSQL 15 (PostGIS is an extension of RDS PostgreSQL: the bootstrap
# task runs `create extension postgis`), private, encrypted, backed up daily
# with point-in-time restore, deletion-protected. The master password is
# managed (and rotated) by RDS in Secrets Manager; the two login roles the
# application uses get their own generated secrets.

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "PostgreSQL, reachable only from the ETL and API tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  count = length(var.client_security_groups)

  security_group_id            = aws_security_group.db.id
  referenced_security_group_id = var.client_security_groups[count.index]
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "PostgreSQL from an application security group"
}

locals {
  # Parameter group settings, name => value.
  parameters = {
    # TLS only.
    "rds.force_ssl" = "1"
    # Log statements slower than 5 s (the API's statement_timeout is 5 s).
    log_min_duration_statement = "5000"
    log_lock_waits             = "1"
    # dbt builds scan and aggregate whole scenarios: more memory per sort/hash.
    work_mem             = "65536"
    maintenance_work_mem = "524288"
    # No JIT: compiling a build's large queries costs more than it saves, and
    # the API's lookups gain nothing from it.
    jit = "0"
    # A generic plan locks every partition (one per scenario) of each
    # partitioned table it names: the lock table must hold the API pool's
    # requests at hundreds of scenarios (docs/scaling.md). Static.
    max_locks_per_transaction = "1024"
    # Static: applied at the next reboot.
    shared_preload_libraries = "pg_stat_statements"
  }
  static_parameters = ["shared_preload_libraries", "max_locks_per_transaction"]
}

resource "aws_db_parameter_group" "this" {
  name        = "${var.name}-postgres15"
  family      = "postgres15"
  description = "COEQWAL warehouse settings"

  dynamic "parameter" {
    for_each = local.parameters

    content {
      name         = parameter.key
      value        = parameter.value
      apply_method = contains(local.static_parameters, parameter.key) ? "pending-reboot" : "immediate"
    }
  }
}

resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name                             = var.db_name
  username                            = var.master_username
  manage_master_user_password         = true
  port                                = 5432
  parameter_group_name                = aws_db_parameter_group.this.name
  db_subnet_group_name                = aws_db_subnet_group.this.name
  vpc_security_group_ids              = [aws_security_group.db.id]
  publicly_accessible                 = false
  multi_az                            = var.multi_az
  ca_cert_identifier                  = "rds-ca-rsa2048-g1"
  auto_minor_version_upgrade          = true
  allow_major_version_upgrade         = false
  iam_database_authentication_enabled = false

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true

  backup_retention_period   = var.backup_retention_days
  backup_window             = "09:00-10:00"
  maintenance_window        = "sun:10:30-sun:11:30"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name}-final"

  performance_insights_enabled          = true
  performance_insights_retention_period = 7
  enabled_cloudwatch_logs_exports       = ["postgresql"]
}

# Optional read replicas (docs/scaling.md): asynchronous physical copies of the
# primary for the API's reads, none by default. Engine, version, master user,
# database and storage size come from the source; so does the DB subnet group
# (a same-region replica names none). Same parameter group and security group
# as the primary. A replica holds nothing the primary lacks: no backups, no
# final snapshot (RDS takes none of a replica), no deletion protection.
resource "aws_db_instance" "replica" {
  count = var.read_replica_count

  identifier          = "${var.name}-replica-${count.index + 1}"
  replicate_source_db = aws_db_instance.this.identifier
  instance_class      = coalesce(var.read_replica_instance_class, var.instance_class)

  port                                = 5432
  parameter_group_name                = aws_db_parameter_group.this.name
  vpc_security_group_ids              = [aws_security_group.db.id]
  publicly_accessible                 = false
  multi_az                            = false
  ca_cert_identifier                  = "rds-ca-rsa2048-g1"
  auto_minor_version_upgrade          = true
  iam_database_authentication_enabled = false

  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true

  backup_retention_period  = 0
  maintenance_window       = "sun:10:30-sun:11:30"
  delete_automated_backups = true
  deletion_protection      = false
  skip_final_snapshot      = true

  # The API's slow statements are logged where they run.
  performance_insights_enabled          = true
  performance_insights_retention_period = 7
  enabled_cloudwatch_logs_exports       = ["postgresql"]
}

# Application logins (created by infra/docker/bootstrap_roles.py): the owner
# role dbt and the loader run as, and PostgREST's `authenticator`. Each gets a
# generated alphanumeric password (so the URLs need no escaping) and a secret
# <name>/db/<login> holding username, password, host, port, dbname, url and
# read_url. read_url lists the replicas, then the primary, with
# target_session_attrs=read-only: a PostgREST pool on it reads from the first
# replica that answers while its LISTEN session (PostgREST forces read-write)
# lands on the primary, where the publish's NOTIFY is sent. Without replicas
# read_url is url.
locals {
  primary_host  = "${aws_db_instance.this.address}:${aws_db_instance.this.port}"
  replica_hosts = [for replica in aws_db_instance.replica : "${replica.address}:${replica.port}"]
  read_hosts    = join(",", concat(local.replica_hosts, [local.primary_host]))

  logins = {
    owner = {
      username    = var.owner_username
      description = "Warehouse owner role (dbt and the loader): username, password, url"
    }
    authenticator = {
      username    = "authenticator"
      description = "PostgREST login role: username, password, url and read_url (PGRST_DB_URI)"
    }
  }
}

resource "random_password" "login" {
  for_each = local.logins

  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "login" {
  for_each = local.logins

  name                    = "${var.name}/db/${each.key}"
  description             = each.value.description
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "login" {
  for_each = local.logins

  secret_id = aws_secretsmanager_secret.login[each.key].id
  secret_string = jsonencode({
    username = each.value.username
    password = random_password.login[each.key].result
    host     = aws_db_instance.this.address
    port     = aws_db_instance.this.port
    dbname   = var.db_name
    url      = "postgresql://${each.value.username}:${random_password.login[each.key].result}@${local.primary_host}/${var.db_name}?sslmode=require"
    read_url = (
      length(local.replica_hosts) > 0
      ? "postgresql://${each.value.username}:${random_password.login[each.key].result}@${local.read_hosts}/${var.db_name}?sslmode=require&target_session_attrs=read-only"
      : "postgresql://${each.value.username}:${random_password.login[each.key].result}@${local.primary_host}/${var.db_name}?sslmode=require"
    )
  })
}
