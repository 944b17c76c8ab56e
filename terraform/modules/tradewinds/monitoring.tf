# Cloud Monitoring: notification channels, log-based metrics of the functions, uptime checks
# on /health of the Cloud Run services, the alert policies and the dashboard
# (dashboards/tradewinds.json). docs/metrics.md lists every metric and what it means.
#
# The services' own metrics are Prometheus series scraped from GET /metrics by the Managed
# Service for Prometheus sidecar and stored as prometheus.googleapis.com/<name>/<kind> on
# the prometheus_target resource (runtime/common/metrics.py `METRICS`). The functions print
# Cloud Logging JSON (shared/logs.py); the log-based metrics below count its lines.

locals {
  # The uptime checks: every Cloud Run service (the GPU predictor only when
  # var.predictor_uptime_check: each probe keeps a scale-to-zero GPU instance warm).
  uptime_services = {
    for name, svc in local.services : name => {
      region = svc.gpu == null ? var.region : var.predictor_region
    } if svc.gpu == null || var.predictor_uptime_check
  }

  function_names  = sort(keys(local.functions))
  function_log    = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=(${join(" OR ", [for n in local.function_names : "\"${n}\""])})"
  function_one_of = "one_of(${join(",", [for n in local.function_names : "\"${n}\""])})"

  prometheus = "resource.type = \"prometheus_target\" AND metric.type = \"prometheus.googleapis.com"

  notification_channels = concat(
    google_monitoring_notification_channel.email[*].id,
    google_monitoring_notification_channel.slack[*].id,
    var.alert_notification_channels,
  )

  # Log-based metrics: each counts the lines of one message the code prints (the test
  # tests/unit/test_monitoring_tf.py checks every message is printed in the source).
  log_metrics = {
    tradewinds_function_errors = {
      description = "Log lines with severity >= ERROR of the functions, per function (raw stderr text has no severity)."
      filter      = "${local.function_log} AND severity>=ERROR"
      labels      = { step = "EXTRACT(resource.labels.service_name)" }
    }
    tradewinds_function_dead_letters = {
      description = "Messages a function dead-lettered at once (PermanentError), per function and message type."
      filter      = "${local.function_log} AND jsonPayload.message=\"permanent error: dead-lettered\""
      labels      = { step = "EXTRACT(jsonPayload.step)", type = "EXTRACT(jsonPayload.type)" }
    }
    tradewinds_stale_events_dropped = {
      description = "Events a function dropped as older than TW_MAX_EVENT_AGE_S."
      filter      = "${local.function_log} AND jsonPayload.message=\"dropping stale event\""
      labels      = { step = "EXTRACT(jsonPayload.step)" }
    }
    tradewinds_duplicate_deliveries = {
      description = "Redeliveries of a message its consumer had already handled (Pub/Sub delivers at least once)."
      filter      = "resource.type=\"cloud_run_revision\" AND jsonPayload.message=~\"^duplicate delivery\""
      labels      = { consumer = "EXTRACT(jsonPayload.consumer)" }
    }
    tradewinds_nacked_deliveries = {
      description = "Deliveries the executor's Pub/Sub subscriber nacked for redelivery, per subscription."
      filter      = "resource.type=\"cloud_run_revision\" AND jsonPayload.message=\"delivery failed, nack for redelivery\""
      labels      = { subscription = "EXTRACT(jsonPayload.subscription)" }
    }
  }

  # Threshold alerts on one series each: metric type, aligner, reducer, group-by, comparison.
  threshold_alerts = {
    halted = {
      name      = "Trading halted"
      metric    = "${local.prometheus}/tradewinds_halted/gauge\""
      aligner   = "ALIGN_MAX"
      threshold = 0
      duration  = "0s"
      group_by  = []
      doc       = "The panic brake or an operator halted trading (state/risk). See `/v1/pnl`, Telegram /status, and resume with POST /v1/resume once understood."
    }
    dlq = {
      name      = "Dead letters waiting"
      metric    = "${local.prometheus}/tradewinds_dlq_depth/gauge\""
      aligner   = "ALIGN_MAX"
      threshold = 0
      duration  = "0s"
      group_by  = []
      doc       = "A message could not be handled and waits in a dead-letter queue. List it with GET /v1/dlq; requeue with POST /v1/dlq/requeue once the cause is fixed."
    }
    feed_stale = {
      name      = "Feed stale for more than 60 s"
      metric    = "${local.prometheus}/tradewinds_feed_update_age_seconds/gauge\""
      aligner   = "ALIGN_MAX"
      threshold = 60
      duration  = "0s"
      group_by  = ["metric.label.venue"]
      doc       = "No market data from a venue for over 60 s. The feed reconnects by itself with backoff; check the venue's status and the feed's /health."
    }
    order_latency = {
      name      = "Average order latency above 500 ms"
      metric    = "${local.prometheus}/tradewinds_order_latency_avg_ms/gauge\""
      aligner   = "ALIGN_MAX"
      threshold = 500
      duration  = "60s"
      group_by  = []
      doc       = "The panic brake's rolling average order latency is above 500 ms (it halts trading at that level)."
    }
  }
}

data "google_project" "this" {
  project_id = var.project_id
}

# -- notification channels ---------------------------------------------------------------
# E-mail and Slack are Cloud Monitoring channel types. Telegram is not: alerts reach
# Telegram through the system's own notification step, not through Cloud Monitoring.
resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  project      = var.project_id
  display_name = "tradewinds ${var.environment} e-mail"
  type         = "email"
  labels       = { email_address = var.alert_email }
  depends_on   = [google_project_service.apis]
}

# The Slack OAuth token is kept in the Terraform state (in its private bucket). To keep it
# out, connect Slack in the console instead and pass the channel in alert_notification_channels.
resource "google_monitoring_notification_channel" "slack" {
  count        = var.alert_slack_channel == "" ? 0 : 1
  project      = var.project_id
  display_name = "tradewinds ${var.environment} Slack"
  type         = "slack"
  labels       = { channel_name = var.alert_slack_channel }

  sensitive_labels {
    auth_token = var.alert_slack_token
  }

  depends_on = [google_project_service.apis]
}

# -- log-based metrics of the functions ------------------------------------------------
resource "google_logging_metric" "this" {
  for_each         = local.log_metrics
  project          = var.project_id
  name             = each.key
  description      = each.value.description
  filter           = each.value.filter
  label_extractors = each.value.labels

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.key
        value_type = "STRING"
      }
    }
  }

  depends_on = [google_project_service.apis]
}

# -- uptime checks on /health ------------------------------------------------------------
# The services are IAM-only: the check sends an OIDC identity token of the Monitoring
# service agent (service_agent_authentication), whose audience is the service URL, and
# that agent is granted roles/run.invoker on each checked service below.
resource "google_monitoring_uptime_check_config" "health" {
  for_each     = local.uptime_services
  project      = var.project_id
  display_name = "tradewinds ${var.environment} ${each.key} /health"
  timeout      = "10s"
  period       = var.uptime_check_period

  http_check {
    path         = "/health"
    port         = 443
    use_ssl      = true
    validate_ssl = true

    service_agent_authentication {
      type = "OIDC_TOKEN"
    }
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = trimsuffix(trimprefix(module.service[each.key].uri, "https://"), "/")
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_cloud_run_v2_service_iam_member" "uptime" {
  for_each = local.uptime_services
  project  = var.project_id
  location = each.value.region
  name     = module.service[each.key].name
  role     = "roles/run.invoker"
  # The Monitoring service agent exists once an uptime check with service-agent
  # authentication has been created.
  member     = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-monitoring-notification.iam.gserviceaccount.com"
  depends_on = [google_monitoring_uptime_check_config.health]
}

# -- alert policies ------------------------------------------------------------------------
resource "google_monitoring_alert_policy" "threshold" {
  for_each              = local.threshold_alerts
  project               = var.project_id
  display_name          = "tradewinds ${var.environment}: ${each.value.name}"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "CRITICAL"

  conditions {
    display_name = each.value.name

    condition_threshold {
      filter          = each.value.metric
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = each.value.duration

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = each.value.aligner
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = each.value.group_by
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    content   = each.value.doc
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "hot_path_p99" {
  project               = var.project_id
  display_name          = "tradewinds ${var.environment}: hot path p99 above 1 ms"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "WARNING"

  conditions {
    display_name = "p99 of book update to decision over 5 min > 1 ms"

    condition_threshold {
      filter          = "${local.prometheus}/tradewinds_hot_path_decision_seconds/histogram\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0.001
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_99"
      }
    }
  }

  documentation {
    content   = "The executor's decision (scan, breaker, slippage and pre-trade checks) takes over 1 ms at the 99th percentile (DESIGN budget). Look for CPU starvation or a large book cache."
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "function_errors" {
  project               = var.project_id
  display_name          = "tradewinds ${var.environment}: function error rate"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "ERROR"

  conditions {
    display_name = "share of 5xx answers of a function over 5 min"

    condition_threshold {
      filter             = "resource.type = \"cloud_run_revision\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.label.response_code_class = \"5xx\" AND resource.label.service_name = ${local.function_one_of}"
      denominator_filter = "resource.type = \"cloud_run_revision\" AND metric.type = \"run.googleapis.com/request_count\" AND resource.label.service_name = ${local.function_one_of}"
      comparison         = "COMPARISON_GT"
      threshold_value    = var.function_error_ratio
      duration           = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }

      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
    }
  }

  conditions {
    display_name = "error log lines of a function over 5 min"

    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/tradewinds_function_errors\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.function_errors_per_5min
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.step"]
      }
    }
  }

  documentation {
    content   = "A function answers Pub/Sub pushes with errors (they are redelivered, then dead-lettered) or logs errors. Read its logs: `resource.labels.service_name=<step> severity>=ERROR`."
    mime_type = "text/markdown"
  }

  depends_on = [google_logging_metric.this]
}

# One "down" policy per uptime check (the predictor's is the "predictor down" alert).
resource "google_monitoring_alert_policy" "down" {
  for_each              = local.uptime_services
  project               = var.project_id
  display_name          = "tradewinds ${var.environment}: ${each.key} down"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "CRITICAL"

  conditions {
    display_name = "${each.key} /health failing"

    condition_threshold {
      filter          = "resource.type = \"uptime_url\" AND metric.type = \"monitoring.googleapis.com/uptime_check/check_passed\" AND metric.label.check_id = \"${google_monitoring_uptime_check_config.health[each.key].uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "600s"

      aggregations {
        alignment_period     = "1200s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.*"]
      }
    }
  }

  documentation {
    content   = "${each.key}'s /health fails from more than one checker region (503 = a check is failing; see the JSON body) or cannot be reached."
    mime_type = "text/markdown"
  }
}

# -- the dashboard ---------------------------------------------------------------------------
resource "google_monitoring_dashboard" "tradewinds" {
  project        = var.project_id
  dashboard_json = templatefile("${path.module}/dashboards/tradewinds.json", { environment = var.environment })
  depends_on     = [google_logging_metric.this]
}
