# Cloud Functions signal, risk, notification and optimizer: one bundle, one function per
# entry in topology.yaml `functions:`, each fed by its push subscriptions.

locals {
  gpu_service = one([for name, svc in local.topology.services : name if try(svc.gpu, null) != null])

  common_env = {
    TRADEWINDS_ENV               = var.environment
    TRADEWINDS_MODE              = var.trading_mode
    TRADEWINDS_BACKEND           = "gcp"
    GOOGLE_CLOUD_PROJECT         = var.project_id
    TRADEWINDS_DATA_BUCKET       = google_storage_bucket.data.name
    TRADEWINDS_PREDICTOR_BACKEND = var.predictor_backend
  }

  predictor_env = var.predictor_backend == "vertex" ? {
    TRADEWINDS_VERTEX_ENDPOINT = google_vertex_ai_endpoint.predictor[0].id
    } : {
    TRADEWINDS_PREDICTOR_URL = try(module.service[local.gpu_service].uri, "")
  }
}

module "function" {
  source                   = "../cloud_function"
  for_each                 = local.functions
  project_id               = var.project_id
  region                   = var.region
  name                     = each.key
  description              = "tradewinds ${each.key} step (entry point ${each.value.entry_point})"
  entry_point              = each.value.entry_point
  source_bucket            = google_storage_bucket.sources.name
  source_object            = google_storage_bucket_object.function_bundle.name
  service_account_email    = google_service_account.this["fn-${each.key}"].email
  build_service_account_id = google_service_account.this["fn-build"].id
  memory                   = each.value.memory
  timeout_seconds          = each.value.timeout_seconds
  min_instances            = each.value.min_instances
  max_instances            = each.value.max_instances
  secrets                  = { for s in each.value.secrets : local.secret_env[s] => s }
  environment              = merge(local.common_env, local.predictor_env, { TRADEWINDS_FUNCTION = each.key })
  ingress_settings         = var.function_ingress
  invoker_members          = { push = local.sa_member["push-${each.key}"] }
  labels                   = { system = "tradewinds", env = var.environment, step = each.key }

  depends_on = [
    google_project_iam_member.this,
    google_secret_manager_secret_iam_member.access,
  ]
}
