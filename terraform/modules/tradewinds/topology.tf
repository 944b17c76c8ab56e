# The message plane comes from infra/topology.yaml, the same file the local stack and the
# emulators read, so code, local stack and cloud cannot drift apart. Nothing in this
# directory names a topic, subscription or scheduler job: they are all derived here.
#
# Defaults are merged exactly like infra/topology.py does (a subscription's own keys win,
# then `defaults:`), and tests/unit/test_terraform.py mirrors this derivation in Python.

locals {
  topology = yamldecode(file("${path.module}/../../../infra/topology.yaml"))
  defaults = local.topology.defaults

  # topics: every topic, plus "<name>-dlq" and "<name>-dlq-sub" made by modules/topic.
  topics = local.topology.topics

  subscriptions = {
    for name, sub in local.topology.subscriptions : name => {
      topic                 = sub.topic
      consumer              = sub.consumer
      delivery              = sub.delivery
      ordering              = try(sub.ordering, false)
      exactly_once          = try(sub.exactly_once, false)
      filter                = try(sub.filter, null)
      ack_deadline_seconds  = try(sub.ack_deadline_seconds, local.defaults.ack_deadline_seconds)
      max_delivery_attempts = try(sub.max_delivery_attempts, local.defaults.max_delivery_attempts)
      minimum_backoff       = try(sub.retry.minimum_backoff, local.defaults.retry.minimum_backoff)
      maximum_backoff       = try(sub.retry.maximum_backoff, local.defaults.retry.maximum_backoff)
    }
  }
  push_subscriptions = { for name, sub in local.subscriptions : name => sub if sub.delivery == "push" }
  pull_subscriptions = { for name, sub in local.subscriptions : name => sub if sub.delivery == "pull" }

  # Cloud Scheduler publishes the bare body; the `type` attribute names its contract and
  # the envelope is added on receipt.
  scheduler_jobs = {
    for name, job in local.topology.scheduler : name => {
      cron      = job.cron
      topic     = job.topic
      type      = job.type
      data      = jsonencode(job.payload)
      time_zone = try(job.time_zone, "Etc/UTC")
    }
  }

  functions = {
    for name, fn in local.topology.functions : name => {
      entry_point     = fn.entry_point
      memory          = try(fn.memory, "256Mi")
      timeout_seconds = try(fn.timeout_seconds, 60)
      min_instances   = try(fn.min_instances, 0)
      max_instances   = try(fn.max_instances, 5)
      secrets         = try(fn.secrets, [])
    }
  }

  # The GPU service (predictor) is left out when the model is served by Vertex AI.
  services = {
    for name, svc in local.topology.services : name => {
      min_instances = try(svc.min_instances, 0)
      max_instances = try(svc.max_instances, 1)
      cpu           = try(svc.cpu, "1")
      memory        = try(svc.memory, "512Mi")
      gpu           = try(svc.gpu, null)
      secrets       = try(svc.secrets, [])
    } if !(try(svc.gpu, null) != null && var.predictor_backend == "vertex")
  }

  # Secrets: the union of every `secrets:` list; accessor granted per secret per identity.
  secret_ids = toset(flatten(concat(
    [for fn in local.functions : fn.secrets],
    [for svc in local.topology.services : try(svc.secrets, [])],
  )))
  secret_access = merge(
    { for pair in flatten([for name, fn in local.functions : [for s in fn.secrets : { key = "fn-${name}/${s}", identity = "fn-${name}", secret = s }]]) : pair.key => pair },
    { for pair in flatten([for name, svc in local.services : [for s in svc.secrets : { key = "run-${name}/${s}", identity = "run-${name}", secret = s }]]) : pair.key => pair },
  )

  # Environment variable that carries a secret: "telegram-bot-token" -> TELEGRAM_BOT_TOKEN.
  secret_env = { for s in local.secret_ids : s => upper(replace(s, "-", "_")) }
}
