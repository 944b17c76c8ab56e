output "service_urls" {
  description = "Cloud Run service URLs (IAM-only; call with an identity token)."
  value       = { for name, svc in module.service : name => svc.uri }
}

output "function_uris" {
  description = "Cloud Function URLs the push subscriptions post to."
  value       = { for name, fn in module.function : name => fn.uri }
}

output "function_entry_points" {
  value = { for name, fn in module.function : name => fn.entry_point }
}

output "topic_names" {
  value = { for name, topic in module.topic : name => topic.name }
}

output "dead_letter_topics" {
  value = { for name, topic in module.topic : name => topic.dead_letter_topic_name }
}

output "dead_letter_subscriptions" {
  value = { for name, topic in module.topic : name => topic.dead_letter_subscription_name }
}

output "push_subscriptions" {
  value = { for name, sub in module.push_subscription : name => sub.name }
}

output "pull_subscriptions" {
  value = { for name, sub in module.pull_subscription : name => sub.name }
}

output "scheduler_jobs" {
  value = { for name, job in google_cloud_scheduler_job.job : name => job.schedule }
}

output "predictor" {
  description = "Predictor URL (cloud_run) or Vertex AI endpoint id (vertex)."
  value       = var.predictor_backend == "vertex" ? google_vertex_ai_endpoint.predictor[0].id : try(module.service[local.gpu_service].uri, null)
}

output "telegram_webhook_url" {
  description = "Register with setWebhook(url=..., secret_token=<telegram-webhook-secret>)."
  value       = var.telegram_webhook_gateway ? "https://${google_api_gateway_gateway.telegram[0].default_hostname}${var.telegram_webhook_path}" : null
}

output "data_bucket" {
  value = google_storage_bucket.data.name
}

output "sources_bucket" {
  value = google_storage_bucket.sources.name
}

output "function_bundle_object" {
  value = google_storage_bucket_object.function_bundle.name
}

output "image_registry" {
  value = local.image_registry
}

output "service_accounts" {
  value = { for key, sa in google_service_account.this : key => sa.email }
}

output "secrets" {
  value = sort(tolist(local.secret_ids))
}
