# One service account per function and service, one per push subscription consumer (the
# OIDC identity Pub/Sub signs with), and one that builds the function bundle. Each gets
# only the roles written below and the per-topic publisher grants of pubsub_iam.tf;
# tests/unit/test_terraform.py holds the allow-list, test_terraform_iam.py the topic grants.

locals {
  identities = merge(
    { for name in keys(local.functions) : "fn-${name}" => "Cloud Function ${name}" },
    { for name in keys(local.topology.services) : "run-${name}" => "Cloud Run service ${name}" },
    { for name in keys(local.functions) : "push-${name}" => "Pub/Sub push identity for ${name}" },
    { "fn-build" = "Cloud Build identity that builds the function bundle" },
    var.telegram_webhook_gateway ? { "gw-telegram" = "API Gateway backend identity for the Telegram webhook" } : {},
  )

  # Project-level roles, the whole list. Resource-level grants (secrets, buckets, topics,
  # subscriptions, invokers) are made beside the resources they open; publishing is granted
  # per topic from topology.yaml (pubsub_iam.tf), never on the project.
  project_roles = {
    "fn-signal"       = ["roles/datastore.user"]
    "fn-risk"         = ["roles/datastore.user"]
    "fn-notification" = ["roles/datastore.user"]
    "fn-optimizer"    = ["roles/datastore.user"]
    "run-feed"        = ["roles/datastore.user", "roles/monitoring.metricWriter"]
    "run-executor"    = ["roles/datastore.user", "roles/monitoring.metricWriter"]
    "run-predictor"   = ["roles/monitoring.metricWriter"]
    "fn-build"        = ["roles/cloudbuild.builds.builder"]
  }

  # With predictor_backend = "vertex" the signal function calls the endpoint.
  vertex_roles = {
    "fn-signal" = ["roles/aiplatform.user"]
  }

  # Bar history and model artifacts.
  data_bucket_roles = {
    "run-feed"      = "roles/storage.objectUser"
    "fn-optimizer"  = "roles/storage.objectViewer"
    "run-predictor" = "roles/storage.objectViewer"
  }

  granted_roles = concat(
    [for identity, roles in local.project_roles : { identity = identity, roles = roles }],
    var.predictor_backend == "vertex" ? [for identity, roles in local.vertex_roles : { identity = identity, roles = roles }] : [],
  )
  project_grants = {
    for pair in flatten([
      for entry in local.granted_roles : [
        for role in entry.roles : { key = "${entry.identity}/${role}", identity = entry.identity, role = role }
      ] if contains(keys(local.identities), entry.identity)
    ]) : pair.key => pair
  }

  sa_member = { for key, sa in google_service_account.this : key => "serviceAccount:${sa.email}" }
  invokers  = { for member in var.invokers : member => member }
}

resource "google_service_account" "this" {
  for_each     = local.identities
  project      = var.project_id
  account_id   = "tw-${each.key}"
  display_name = "tradewinds ${each.key}"
  description  = each.value
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "this" {
  for_each = local.project_grants
  project  = var.project_id
  role     = each.value.role
  member   = local.sa_member[each.value.identity]
}

resource "google_storage_bucket_iam_member" "data" {
  for_each = { for identity, role in local.data_bucket_roles : identity => role if contains(keys(local.identities), identity) }
  bucket   = google_storage_bucket.data.name
  role     = each.value
  member   = local.sa_member[each.key]
}

# The Pub/Sub service agent: dead-lettering grants (modules/*_subscription) and minting the
# OIDC tokens of the push identities.
resource "google_project_service_identity" "pubsub" {
  provider   = google-beta
  project    = var.project_id
  service    = "pubsub.googleapis.com"
  depends_on = [google_project_service.apis]
}

resource "google_service_account_iam_member" "push_token_creator" {
  for_each           = { for name in keys(local.functions) : name => "push-${name}" }
  service_account_id = google_service_account.this[each.value].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_project_service_identity.pubsub.email}"
}
