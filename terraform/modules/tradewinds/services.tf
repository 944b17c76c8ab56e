# Cloud Run: feed and executor always on (min instances from topology, CPU always
# allocated, startup boost, probes on /health); the predictor on an NVIDIA L4 in
# var.predictor_region, or a Vertex AI endpoint instead (predictor_backend = "vertex").

locals {
  service_invokers = {
    for name in keys(local.services) : name => merge(
      local.invokers,
      # the signal step scores bars with the GPU predictor
      name == local.gpu_service && contains(keys(local.functions), "signal") ? { signal = local.sa_member["fn-signal"] } : {},
      # API Gateway forwards only the Telegram webhook path to the executor
      name == "executor" && var.telegram_webhook_gateway ? { telegram = local.sa_member["gw-telegram"] } : {},
    )
  }
}

module "service" {
  source      = "../cloud_run_service"
  for_each    = local.services
  project_id  = var.project_id
  region      = each.value.gpu == null ? var.region : var.predictor_region
  name        = each.key
  description = "tradewinds ${each.key}"
  image       = local.images[each.key]
  # Live trading needs an explicit flag on top of TRADEWINDS_MODE=live (runtime/executor).
  command                       = each.key == "executor" && var.trading_mode == "live" ? ["python", "-m", "runtime.executor"] : []
  args                          = each.key == "executor" && var.trading_mode == "live" ? ["--i-understand-live"] : []
  service_account_email         = google_service_account.this["run-${each.key}"].email
  cpu                           = each.value.cpu
  memory                        = each.value.memory
  min_instances                 = each.value.min_instances
  max_instances                 = each.value.max_instances
  cpu_idle                      = false
  startup_cpu_boost             = true
  concurrency                   = each.value.gpu == null ? 80 : 4
  gpu                           = each.value.gpu
  gpu_zonal_redundancy_disabled = var.gpu_zonal_redundancy_disabled
  startup_failure_threshold     = each.value.gpu == null ? 24 : 48
  secrets                       = { for s in each.value.secrets : local.secret_env[s] => s }
  environment = merge(
    local.common_env,
    { TRADEWINDS_SERVICE = each.key },
    each.value.gpu == null ? {} : { TRADEWINDS_MODEL_DIR = "/mnt/data/models/lstm" },
  )
  # The predictor loads the model uploaded to gs://<data bucket>/models/lstm/.
  gcs_volume      = each.value.gpu == null ? null : { bucket = google_storage_bucket.data.name, mount_path = "/mnt/data", read_only = true }
  invoker_members = local.service_invokers[each.key]
  # the GPU predictor's sizing rule counts every container: it reports through its uptime check
  metrics_sidecar_image = each.value.gpu == null ? var.metrics_sidecar_image : null
  deletion_protection   = var.protect_data
  labels                = { system = "tradewinds", env = var.environment, service = each.key }

  depends_on = [
    google_project_iam_member.this,
    google_secret_manager_secret_iam_member.access,
    google_storage_bucket_iam_member.data,
  ]
}

# Vertex AI alternative: the endpoint is made here; the model is uploaded and deployed to
# it with `gcloud ai models upload` / `gcloud ai endpoints deploy-model` (docs/deploy.md).
# var.vertex_private_network makes it a private endpoint, reachable only from that VPC.
# The default (null) is the shared endpoint: IAM-only (roles/aiplatform.user, fn-signal
# alone) and able to sit inside a VPC Service Controls perimeter (docs/deploy.md). checkov's
# CKV2_GCP_33 sees `network` set and passes either way.
resource "google_vertex_ai_endpoint" "predictor" {
  #checkov:skip=CKV2_GCP_24:Google-managed encryption by default; customer-managed keys (encryption_spec) are an opt-in described in docs/deploy.md ("Customer-managed keys").
  count        = var.predictor_backend == "vertex" ? 1 : 0
  project      = var.project_id
  name         = var.vertex_endpoint_id
  display_name = "tradewinds-predictor-${var.environment}"
  description  = "LSTM scorer for the signal step"
  location     = var.predictor_region
  region       = var.predictor_region
  network      = var.vertex_private_network
  labels       = { system = "tradewinds", env = var.environment }
  depends_on   = [google_project_service.apis]
}
