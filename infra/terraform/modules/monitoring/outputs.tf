output "alarm_topic_arn" {
  description = "SNS topic of every alarm."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value = [
    aws_cloudwatch_metric_alarm.etl_errors.alarm_name,
    aws_cloudwatch_metric_alarm.api_5xx_rate.alarm_name,
    aws_cloudwatch_metric_alarm.rds_cpu.alarm_name,
    aws_cloudwatch_metric_alarm.rds_free_storage.alarm_name,
  ]
}

output "etl_failure_rule_name" {
  description = "EventBridge rule that reports failed ETL tasks to the topic."
  value       = aws_cloudwatch_event_rule.etl_failed.name
}
