output "name" {
  value = google_cloudfunctions2_function.this.name
}

output "uri" {
  description = "HTTPS URL the push subscription posts to."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
}

output "entry_point" {
  value = var.entry_point
}
