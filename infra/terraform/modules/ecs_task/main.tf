# What every ECS Fargate task of the warehouse needs around its task
# definition: the execution role the ECS agent uses (image pulls, logs, and the
# listed secrets only), the log group, and a security group with no inbound
# rule and open egress (callers add the inbound rules they need). The task
# definitions themselves stay in the calling modules.

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

# ECS tasks of this account and region only (confused-deputy guard).
data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:aws:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-${var.component}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The agent injects exactly these secrets into the containers, nothing else.
data "aws_iam_policy_document" "execution_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = var.secret_arns
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = var.secrets_policy_name
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}/${var.component}"
  retention_in_days = var.log_retention_days
}

resource "aws_security_group" "this" {
  name        = "${var.name}-${var.component}"
  description = var.security_group_description
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.this.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
  description       = var.egress_description
}
