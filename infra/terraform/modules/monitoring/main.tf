# Alarms, all to one SNS topic:
# - ETL failures, two ways: EventBridge "ECS Task State Change" for a stopped
#   ETL task with a non-zero exit (or one that never started), and a metric
#   filter on the ETL log group counting the CLI's one-line errors
#   ("coeqwal: ..."), which also catches a bootstrap run's failure;
# - the API's 5xx share over 5 minutes (API Gateway metrics);
# - RDS CPU and free storage.
# Inside the warehouse, ops.* and /api/v1/pipeline_status say which load or
# build failed and why.

data "aws_caller_identity" "current" {}

# Not KMS-encrypted: the AWS-managed SNS key does not let EventBridge or
# CloudWatch publish, and alarm messages carry no data or secrets.
resource "aws_sns_topic" "alarms" {
  name = "${var.name}-alarms"
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == "" ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# Who may publish: CloudWatch alarms of this account, and the ETL failure rule.
locals {
  topic_publishers = {
    CloudWatchAlarms = {
      service  = "cloudwatch.amazonaws.com"
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      value    = data.aws_caller_identity.current.account_id
    }
    EtlTaskFailures = {
      service  = "events.amazonaws.com"
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      value    = aws_cloudwatch_event_rule.etl_failed.arn
    }
  }
}

data "aws_iam_policy_document" "alarms_topic" {
  dynamic "statement" {
    for_each = local.topic_publishers

    content {
      sid       = statement.key
      actions   = ["sns:Publish"]
      resources = [aws_sns_topic.alarms.arn]

      principals {
        type        = "Service"
        identifiers = [statement.value.service]
      }

      condition {
        test     = statement.value.test
        variable = statement.value.variable
        values   = [statement.value.value]
      }
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

# --- ETL ---------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "etl_failed" {
  name        = "${var.name}-etl-failed"
  description = "An ETL task stopped with a non-zero exit code"
  event_pattern = jsonencode({
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Task State Change"]
    detail = {
      clusterArn = [var.ecs_cluster_arn]
      group      = ["family:${var.etl_task_family}"]
      lastStatus = ["STOPPED"]
      containers = {
        exitCode = [{ "anything-but" = 0 }]
      }
    }
  })
}

resource "aws_cloudwatch_event_target" "etl_failed" {
  rule = aws_cloudwatch_event_rule.etl_failed.name
  arn  = aws_sns_topic.alarms.arn

  input_transformer {
    input_paths = {
      task   = "$.detail.taskArn"
      reason = "$.detail.stoppedReason"
    }
    input_template = "\"COEQWAL ETL task <task> failed (<reason>). See /api/v1/pipeline_status and the log group ${var.etl_log_group_name}.\""
  }
}

resource "aws_cloudwatch_log_metric_filter" "etl_errors" {
  name           = "${var.name}-etl-errors"
  log_group_name = var.etl_log_group_name
  pattern        = "\"coeqwal: \" -\"coeqwal: warning\""

  metric_transformation {
    name          = "EtlErrors"
    namespace     = "COEQWAL"
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "etl_errors" {
  alarm_name          = "${var.name}-etl-errors"
  alarm_description   = "The ETL (ingest or dbt build) or bootstrap task printed a one-line error; see its log group and /api/v1/pipeline_status."
  namespace           = "COEQWAL"
  metric_name         = "EtlErrors"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# --- API ----------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "api_5xx_rate" {
  alarm_name          = "${var.name}-api-5xx-rate"
  alarm_description   = "More than ${var.api_5xx_rate_threshold * 100}% of API responses were 5xx over 5 minutes (PostgREST down, database unreachable or timeouts)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_5xx_rate_threshold
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "rate"
    expression  = "IF(requests >= 20, errors / requests, 0)"
    label       = "5xx share"
    return_data = true
  }

  metric_query {
    id = "errors"

    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "5xx"
      period      = 300
      stat        = "Sum"
      dimensions = {
        ApiId = var.api_id
        Stage = var.api_stage_name
      }
    }
  }

  metric_query {
    id = "requests"

    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "Count"
      period      = 300
      stat        = "Sum"
      dimensions = {
        ApiId = var.api_id
        Stage = var.api_stage_name
      }
    }
  }
}

# --- RDS ----------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "rds_cpu" {
  alarm_name          = "${var.name}-rds-cpu"
  alarm_description   = "RDS CPU above ${var.rds_cpu_threshold_percent}% for 30 minutes (a build runs ~5 minutes; longer means queries are piling up)."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 6
  threshold           = var.rds_cpu_threshold_percent
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  dimensions = {
    DBInstanceIdentifier = var.db_instance_id
  }
}

resource "aws_cloudwatch_metric_alarm" "rds_free_storage" {
  alarm_name          = "${var.name}-rds-free-storage"
  alarm_description   = "RDS free storage below ${var.rds_free_storage_percent}% of the allocated storage."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.db_allocated_storage_gb * 1073741824 * var.rds_free_storage_percent / 100
  comparison_operator = "LessThanThreshold"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  dimensions = {
    DBInstanceIdentifier = var.db_instance_id
  }
}
