output "bucket_name" {
  description = "Name of the DSS upload bucket."
  value       = aws_s3_bucket.dss.id
}

output "bucket_arn" {
  description = "ARN of the DSS upload bucket (IAM policies are scoped to it and its upload prefix)."
  value       = aws_s3_bucket.dss.arn
}

output "upload_prefix" {
  description = "Key prefix whose uploads start the ETL task."
  value       = var.upload_prefix
}
