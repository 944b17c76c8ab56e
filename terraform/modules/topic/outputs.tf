output "id" {
  description = "projects/P/topics/NAME"
  value       = google_pubsub_topic.this.id
}

output "name" {
  value = google_pubsub_topic.this.name
}

output "dead_letter_topic_id" {
  value = google_pubsub_topic.dead_letter.id
}

output "dead_letter_topic_name" {
  value = google_pubsub_topic.dead_letter.name
}

output "dead_letter_subscription_name" {
  value = google_pubsub_subscription.dead_letter.name
}
