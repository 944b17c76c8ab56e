# Secret Manager: one secret per id named in any `secrets:` list of topology.yaml
# (exchange-keys, telegram-bot-token, telegram-webhook-secret, slack-webhook-url,
# admin-token). Values normally arrive with `gcloud secrets versions add` (docs/deploy.md);
# a version can also be seeded from Terraform with write-only data, which never reaches
# the state or the plan.

resource "google_secret_manager_secret" "this" {
  for_each  = local.secret_ids
  project   = var.project_id
  secret_id = each.value
  labels    = { system = "tradewinds", env = var.environment }

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "seed" {
  for_each               = var.secret_wo_versions
  secret                 = google_secret_manager_secret.this[each.key].id
  secret_data_wo         = var.secret_values[each.key]
  secret_data_wo_version = each.value
}

# secretAccessor per secret per identity, exactly the pairs topology.yaml lists.
resource "google_secret_manager_secret_iam_member" "access" {
  for_each  = local.secret_access
  project   = var.project_id
  secret_id = google_secret_manager_secret.this[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.sa_member[each.value.identity]
}
