# One message topic from infra/topology.yaml, its dead-letter topic "<name>-dlq" and the
# pull subscription "<name>-dlq-sub" that keeps dead letters (a DLQ without a
# subscription loses them). The CLI and the admin endpoint list and requeue from it.

resource "google_pubsub_topic" "this" {
  project                    = var.project_id
  name                       = var.name
  message_retention_duration = var.message_retention
  labels                     = merge(var.labels, { role = "topic" })
}

resource "google_pubsub_topic" "dead_letter" {
  project                    = var.project_id
  name                       = "${var.name}-dlq"
  message_retention_duration = var.message_retention
  labels                     = merge(var.labels, { role = "dead-letter" })
}

resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project_id
  name                       = "${var.name}-dlq-sub"
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention
  retain_acked_messages      = false
  labels                     = merge(var.labels, { role = "dead-letter" })

  # Dead letters wait for an operator; the subscription must never expire.
  expiration_policy {
    ttl = ""
  }
}
