output "instance_id" {
  description = "RDS instance identifier (CloudWatch dimension DBInstanceIdentifier)."
  value       = aws_db_instance.this.identifier
}

output "address" {
  description = "Host name of the instance."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "endpoint" {
  description = "host:port of the instance."
  value       = aws_db_instance.this.endpoint
}

output "replica_instance_ids" {
  description = "RDS identifiers of the read replicas (CloudWatch DBInstanceIdentifier, e.g. for ReplicaLag); empty without replicas."
  value       = aws_db_instance.replica[*].identifier
}

output "replica_addresses" {
  description = "Host names of the read replicas; empty without replicas."
  value       = aws_db_instance.replica[*].address
}

output "replica_endpoints" {
  description = "host:port of each read replica; empty without replicas."
  value       = aws_db_instance.replica[*].endpoint
}

output "db_name" {
  description = "Name of the warehouse database."
  value       = var.db_name
}

output "master_secret_arn" {
  description = "ARN of the RDS-managed master user secret (JSON: username, password)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "owner_secret_arn" {
  description = "ARN of the owner role's secret (JSON: username, password, host, port, dbname, url, read_url)."
  value       = aws_secretsmanager_secret.login["owner"].arn
}

output "authenticator_secret_arn" {
  description = "ARN of PostgREST's authenticator secret (JSON with `url` and `read_url`, either used as PGRST_DB_URI)."
  value       = aws_secretsmanager_secret.login["authenticator"].arn
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.db.id
}
