variable "name" {
  description = "Name prefix of every resource (coeqwal-<environment>)."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; /24 subnets are carved from it (public 0-1, private 10-11)."
  type        = string
}
