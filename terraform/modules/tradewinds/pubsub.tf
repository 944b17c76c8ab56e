# Topics, dead-letter topics and subscriptions, all generated from infra/topology.yaml.
#
#   topic               publisher (topology)              subscribers (topology)
#   market-bars         feed                              signal (push, ordered by symbol)
#   book-tops           feed                              monitor (pull)
#   signals             signal                            risk (push)
#   orders              risk                              executor (pull, exactly-once)
#   executions          executor                          risk, notification (push)
#   risk-decisions      risk                              audit (pull)
#   notifications       any                               notification (push)
#   optimizer-requests  risk, scheduler, cli, optimizer   optimizer (push)
#   optimizer-results   optimizer                         notification (push)
#   control             risk, scheduler, executor, telegram   signal, risk (push), executor (pull)
# Every topic also has "<topic>-dlq" with the pull subscription "<topic>-dlq-sub".
# Publishers are granted per topic from this table (pubsub_iam.tf), never on the project.

module "topic" {
  source            = "../topic"
  for_each          = local.topics
  project_id        = var.project_id
  name              = each.key
  message_retention = local.defaults.message_retention
  labels            = { system = "tradewinds", env = var.environment }
  # One DLQ publisher grant per topic; the executor's admin endpoint lists and requeues.
  pubsub_service_agent_email = google_project_service_identity.pubsub.email
  dead_letter_readers        = contains(keys(local.services), "executor") ? { executor = local.sa_member["run-executor"] } : {}
  depends_on                 = [google_project_service.apis]
}

module "push_subscription" {
  source                        = "../push_subscription"
  for_each                      = local.push_subscriptions
  project_id                    = var.project_id
  name                          = each.key
  topic_id                      = module.topic[each.value.topic].id
  dead_letter_topic_id          = module.topic[each.value.topic].dead_letter_topic_id
  push_endpoint                 = "${module.function[each.value.consumer].uri}/projects/${var.project_id}/topics/${module.topic[each.value.topic].name}"
  audience                      = module.function[each.value.consumer].uri
  invoker_service_account_email = google_service_account.this["push-${each.value.consumer}"].email
  pubsub_service_agent_email    = google_project_service_identity.pubsub.email
  grant_dead_letter_publisher   = false
  ack_deadline_seconds          = each.value.ack_deadline_seconds
  max_delivery_attempts         = each.value.max_delivery_attempts
  minimum_backoff               = each.value.minimum_backoff
  maximum_backoff               = each.value.maximum_backoff
  ordering                      = each.value.ordering
  filter                        = each.value.filter
  message_retention             = local.defaults.message_retention
  labels                        = { system = "tradewinds", env = var.environment, consumer = each.value.consumer }
  depends_on                    = [google_service_account_iam_member.push_token_creator]
}

module "pull_subscription" {
  source                      = "../pull_subscription"
  for_each                    = local.pull_subscriptions
  project_id                  = var.project_id
  name                        = each.key
  topic_id                    = module.topic[each.value.topic].id
  dead_letter_topic_id        = module.topic[each.value.topic].dead_letter_topic_id
  pubsub_service_agent_email  = google_project_service_identity.pubsub.email
  grant_dead_letter_publisher = false
  exactly_once                = each.value.exactly_once
  ordering                    = each.value.ordering
  filter                      = each.value.filter
  ack_deadline_seconds        = each.value.ack_deadline_seconds
  max_delivery_attempts       = each.value.max_delivery_attempts
  minimum_backoff             = each.value.minimum_backoff
  maximum_backoff             = each.value.maximum_backoff
  message_retention           = local.defaults.message_retention
  labels                      = { system = "tradewinds", env = var.environment, consumer = each.value.consumer }
  # A consumer that is a Cloud Run service pulls with its own identity; others (audit,
  # monitor) are read by operators with their own credentials.
  subscriber_members = contains(keys(local.services), each.value.consumer) ? { consumer = local.sa_member["run-${each.value.consumer}"] } : {}
}
