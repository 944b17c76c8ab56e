# Who may publish where: topic-level roles/pubsub.publisher, derived from the `publisher:`
# of every topic and the `consumer:` of every subscription in infra/topology.yaml. No
# identity holds publisher on the project. tests/unit/test_terraform_iam.py derives the same
# bindings from topology.yaml in Python and asserts exactly these exist.
#
# A `publisher:` is a comma-separated list of tokens; the first word of a token names who:
#   a function name ("risk")       -> fn-<name>
#   a service name ("executor api") -> run-<name> (the rest of the token is a comment)
#   telegram                        -> run-executor: the executor serves the Telegram webhook
#                                      (runtime/executor/telegram.py)
#   scheduler                       -> Cloud Scheduler's service agent, which publishes with
#                                      its own Google-managed role: nothing to grant here
#   cli                             -> var.operator_publishers (people, CI), empty by default
#   *                               -> every identity that publishes to some other topic
#                                      (the steps that report: notifications)
# An unknown token fails the plan (the precondition below), so a typo cannot silently drop
# or widen a grant.
#
# Two more kinds of binding, both per topic:
#   dead letters - a consumer that meets a permanent error publishes the message to
#                  "<topic>-dlq" itself (functions/entry.py, the Pub/Sub bus): every consumer
#                  identity of a topic may publish to that topic's DLQ, and nowhere else;
#   requeue      - the executor's /v1/dlq requeue republishes a dead letter to its source
#                  topic, so with var.dead_letter_requeue it may publish to every topic.
#                  false keeps it to the topics topology.yaml names (requeue then fails with
#                  PERMISSION_DENIED and an operator requeues with their own credentials).
# Subscriber rights are per subscription, beside the subscriptions (modules/*_subscription,
# modules/topic for the DLQ subscriptions).

locals {
  publisher_aliases = { telegram = "executor" }
  publisher_special = ["scheduler", "cli", "*"]

  # Step name -> identity, for every function and every service of the topology.
  step_identity = merge(
    { for name in keys(local.functions) : name => "fn-${name}" },
    { for name in keys(local.topology.services) : name => "run-${name}" },
  )

  publisher_tokens = {
    for topic, spec in local.topics : topic => [
      for token in split(",", try(spec.publisher, "")) : split(" ", trimspace(token))[0] if trimspace(token) != ""
    ]
  }
  unknown_publishers = distinct(flatten([
    for topic, tokens in local.publisher_tokens : [
      for token in tokens : "${topic}: ${token}"
      if !contains(concat(keys(local.step_identity), keys(local.publisher_aliases), local.publisher_special), token)
    ]
  ]))

  named_publishers = {
    for topic, tokens in local.publisher_tokens : topic => distinct(compact([
      for token in tokens : lookup(local.step_identity, lookup(local.publisher_aliases, token, token), "")
    ]))
  }
  reporting_identities = sort(distinct(flatten(values(local.named_publishers))))
  topic_publishers = {
    for topic, tokens in local.publisher_tokens : topic => (
      contains(tokens, "*") ? local.reporting_identities : local.named_publishers[topic]
    )
  }

  # Consumers that run as one of our identities (operators read audit/monitor themselves).
  consumer_identities = {
    for topic in keys(local.topics) : topic => sort(distinct([
      for sub in values(local.subscriptions) : local.step_identity[sub.consumer]
      if sub.topic == topic && contains(keys(local.step_identity), sub.consumer)
    ]))
  }
  requeuer = var.dead_letter_requeue && contains(keys(local.services), "executor") ? ["run-executor"] : []

  topic_publisher_grants = merge(
    { for pair in flatten([for topic, ids in local.topic_publishers : [for id in ids : { topic = topic, identity = id }]]) :
    "${pair.topic}/${pair.identity}" => merge(pair, { dead_letter = false }) },
    { for pair in flatten([for topic in keys(local.topics) : [for id in local.requeuer : { topic = topic, identity = id }]]) :
    "${pair.topic}/${pair.identity}" => merge(pair, { dead_letter = false }) },
    { for pair in flatten([for topic, ids in local.consumer_identities : [for id in ids : { topic = topic, identity = id }]]) :
    "${pair.topic}-dlq/${pair.identity}" => merge(pair, { dead_letter = true }) },
  )
  operator_publisher_grants = {
    for pair in flatten([
      for topic, tokens in local.publisher_tokens : [for member in var.operator_publishers : { topic = topic, member = member }]
      if contains(tokens, "cli")
    ]) : "${pair.topic}/${pair.member}" => pair
  }
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.topic_publisher_grants
  project  = var.project_id
  topic    = each.value.dead_letter ? module.topic[each.value.topic].dead_letter_topic_id : module.topic[each.value.topic].id
  role     = "roles/pubsub.publisher"
  member   = local.sa_member[each.value.identity]

  lifecycle {
    precondition {
      condition     = length(local.unknown_publishers) == 0
      error_message = "infra/topology.yaml names publishers that are neither a function, a service, ${join(", ", keys(local.publisher_aliases))} nor ${join(", ", local.publisher_special)}: ${join("; ", local.unknown_publishers)}."
    }
  }
}

resource "google_pubsub_topic_iam_member" "operator" {
  for_each = local.operator_publisher_grants
  project  = var.project_id
  topic    = module.topic[each.value.topic].id
  role     = "roles/pubsub.publisher"
  member   = each.value.member
}
