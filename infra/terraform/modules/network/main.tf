# A VPC with two public subnets (NAT gateway, nothing else) and two private
# subnets (RDS, the ETL and PostgREST tasks, the API gateway's VPC link). The
# default VPC has public subnets only, and RDS must not sit in one.

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  azs = slice(data.aws_availability_zones.available.names, 0, 2)

  # One /24 subnet per tier and zone: public 0-1, private 10-11.
  first_netnum = { public = 0, private = 10 }

  subnets = merge([
    for tier, first in local.first_netnum : {
      for i, az in local.azs : "${tier}-${az}" => {
        tier       = tier
        az         = az
        cidr_block = cidrsubnet(var.vpc_cidr, 8, first + i)
      }
    }
  ]...)
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = var.name }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = { Name = var.name }
}

resource "aws_subnet" "this" {
  for_each = local.subnets

  vpc_id            = aws_vpc.this.id
  availability_zone = each.value.az
  cidr_block        = each.value.cidr_block

  tags = { Name = "${var.name}-${each.key}" }
}

resource "aws_eip" "nat" {
  domain = "vpc"

  tags = { Name = "${var.name}-nat" }
}

# One NAT gateway: the private tasks pull images and reach AWS APIs through it.
resource "aws_nat_gateway" "this" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.this["public-${local.azs[0]}"].id

  tags = { Name = var.name }

  depends_on = [aws_internet_gateway.this]
}

# The public subnets reach the internet through the internet gateway, the
# private ones through the NAT gateway.
resource "aws_route_table" "this" {
  for_each = toset(keys(local.first_netnum))

  vpc_id = aws_vpc.this.id

  route {
    cidr_block     = "0.0.0.0/0"
    gateway_id     = each.key == "public" ? aws_internet_gateway.this.id : null
    nat_gateway_id = each.key == "private" ? aws_nat_gateway.this.id : null
  }

  tags = { Name = "${var.name}-${each.key}" }
}

resource "aws_route_table_association" "this" {
  for_each = local.subnets

  subnet_id      = aws_subnet.this[each.key].id
  route_table_id = aws_route_table.this[each.value.tier].id
}

# S3 traffic (DSS files, up to ~230 MB each) stays off the NAT gateway.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.this["private"].id]

  tags = { Name = "${var.name}-s3" }
}

data "aws_region" "current" {}
