# One message topic from infra/topology.yaml, its dead-letter topic "<name>-dlq" and the
# pull subscription "<name>-dlq-sub" that keeps dead letters (a DLQ without a
# subscription loses them). The CLI and the admin endpoint list and requeue from it.

resource "google_pubsub_topic" "this" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption by default; customer-managed keys are an opt-in described in docs/deploy.md ("Customer-managed keys").
  project                    = var.project_id
  name                       = var.name
  message_retention_duration = var.message_retention
  labels                     = merge(var.labels, { role = "topic" })
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption by default; customer-managed keys are an opt-in described in docs/deploy.md ("Customer-managed keys").
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

# Dead-lettering: the Pub/Sub service agent publishes to this DLQ for every subscription
# on the topic (granted once here; each subscription grants subscriber on itself).
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  count   = var.pubsub_service_agent_email == null ? 0 : 1
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.pubsub_service_agent_email}"
}

# Operators and the executor's admin endpoint list and requeue dead letters.
resource "google_pubsub_subscription_iam_member" "dead_letter_readers" {
  for_each     = var.dead_letter_readers
  project      = var.project_id
  subscription = google_pubsub_subscription.dead_letter.name
  role         = "roles/pubsub.subscriber"
  member       = each.value
}
