# A push subscription feeding one Cloud Function (2nd gen) by its HTTPS URL.
#
# Eventarc-made trigger subscriptions cannot carry a dead-letter or retry policy from
# Terraform (provider issues #25069, #17697), so every function is fed by this module
# instead: OIDC-authenticated push, exponential retry, dead-lettering to "<topic>-dlq"
# after max_delivery_attempts, and the two grants dead-lettering needs from the Pub/Sub
# service agent (publisher on the DLQ topic, subscriber on this subscription).

resource "google_pubsub_subscription" "this" {
  project                    = var.project_id
  name                       = var.name
  topic                      = var.topic_id
  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = var.message_retention
  enable_message_ordering    = var.ordering
  filter                     = var.filter
  labels                     = var.labels

  push_config {
    push_endpoint = var.push_endpoint

    oidc_token {
      service_account_email = var.invoker_service_account_email
      audience              = coalesce(var.audience, var.push_endpoint)
    }
  }

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

# The service agent republishes a message to the DLQ topic after the last attempt ...
# (several subscriptions share one DLQ topic: a caller that grants this once per topic, as
# modules/topic does for the tradewinds stack, sets grant_dead_letter_publisher = false so
# removing one subscription cannot revoke the grant the others rely on).
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  count   = var.grant_dead_letter_publisher ? 1 : 0
  project = var.project_id
  topic   = var.dead_letter_topic_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.pubsub_service_agent_email}"
}

# ... and acknowledges it on the source subscription.
resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.this.name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.pubsub_service_agent_email}"
}
