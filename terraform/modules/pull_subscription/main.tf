# A pull subscription for a Cloud Run consumer (the executor's orders and control) or an
# operator tool. Exactly-once delivery exists only for pull subscriptions, within one
# region, and is switched on from topology.yaml (`exactly_once: true`).

resource "google_pubsub_subscription" "this" {
  project                      = var.project_id
  name                         = var.name
  topic                        = var.topic_id
  ack_deadline_seconds         = var.ack_deadline_seconds
  message_retention_duration   = var.message_retention
  enable_message_ordering      = var.ordering
  enable_exactly_once_delivery = var.exactly_once
  filter                       = var.filter
  labels                       = var.labels

  retry_policy {
    minimum_backoff = var.minimum_backoff
    maximum_backoff = var.maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = var.dead_letter_topic_id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  count   = var.grant_dead_letter_publisher ? 1 : 0
  project = var.project_id
  topic   = var.dead_letter_topic_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.pubsub_service_agent_email}"
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.this.name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.pubsub_service_agent_email}"
}

# The consumer's identity may pull and ack here (and nowhere else).
resource "google_pubsub_subscription_iam_member" "consumer" {
  for_each     = var.subscriber_members
  project      = var.project_id
  subscription = google_pubsub_subscription.this.name
  role         = "roles/pubsub.subscriber"
  member       = each.value
}
