output "id" {
  value = google_pubsub_subscription.this.id
}

output "name" {
  value = google_pubsub_subscription.this.name
}
