output "service_urls" {
  value = module.tradewinds.service_urls
}

output "function_uris" {
  value = module.tradewinds.function_uris
}

output "function_entry_points" {
  value = module.tradewinds.function_entry_points
}

output "topic_names" {
  value = module.tradewinds.topic_names
}

output "dead_letter_topics" {
  value = module.tradewinds.dead_letter_topics
}

output "push_subscriptions" {
  value = module.tradewinds.push_subscriptions
}

output "pull_subscriptions" {
  value = module.tradewinds.pull_subscriptions
}

output "scheduler_jobs" {
  value = module.tradewinds.scheduler_jobs
}

output "predictor" {
  value = module.tradewinds.predictor
}

output "telegram_webhook_url" {
  value = module.tradewinds.telegram_webhook_url
}

output "data_bucket" {
  value = module.tradewinds.data_bucket
}

output "image_registry" {
  value = module.tradewinds.image_registry
}

output "service_accounts" {
  value = module.tradewinds.service_accounts
}
