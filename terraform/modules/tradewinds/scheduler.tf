# Cloud Scheduler jobs from topology.yaml `scheduler:` (cron in UTC): the hourly summary,
# the 15-minute rebalance check, the panic check, the daily reset, the nightly re-weight
# and optimisation. Each publishes its payload with the `type` attribute of its contract.

resource "google_cloud_scheduler_job" "job" {
  for_each    = local.scheduler_jobs
  project     = var.project_id
  region      = var.region
  name        = each.key
  description = "tradewinds ${each.key} -> ${each.value.topic}"
  schedule    = each.value.cron
  time_zone   = each.value.time_zone
  paused      = var.scheduler_paused

  pubsub_target {
    topic_name = module.topic[each.value.topic].id
    data       = base64encode(each.value.data)
    attributes = {
      type   = each.value.type
      source = "scheduler"
      job    = each.key
    }
  }

  retry_config {
    retry_count = 3
  }

  depends_on = [google_project_service.apis]
}
