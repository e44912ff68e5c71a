output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "Private subnets (two zones): RDS, ECS tasks, the API's VPC link."
  value       = [for az in local.azs : aws_subnet.this["private-${az}"].id]
}

output "public_subnet_ids" {
  description = "Public subnets (two zones), holding only the NAT gateway."
  value       = [for az in local.azs : aws_subnet.this["public-${az}"].id]
}
