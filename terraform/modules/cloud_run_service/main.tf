# One Cloud Run service (feed, executor or predictor). The hot-path services run with
# CPU always allocated (cpu_idle = false, instance-based billing) and min instances >= 1 so
# websockets and in-process state survive between requests; startup and liveness probes
# hit GET /health (Cloud Run reserves paths ending in "z" such as /healthz). A GPU service
# gets one NVIDIA L4 through node_selector and needs >= 4 CPU and >= 16 GiB.

locals {
  memory_gib = (
    endswith(var.memory, "Gi") ? tonumber(trimsuffix(var.memory, "Gi")) :
    endswith(var.memory, "Mi") ? tonumber(trimsuffix(var.memory, "Mi")) / 1024 : 0
  )
  limits = merge(
    { cpu = var.cpu, memory = var.memory },
    var.gpu == null ? {} : { "nvidia.com/gpu" = "1" },
  )
}

resource "google_cloud_run_v2_service" "this" {
  project             = var.project_id
  name                = var.name
  location            = var.region
  description         = var.description
  ingress             = var.ingress
  deletion_protection = var.deletion_protection
  labels              = var.labels

  template {
    service_account                  = var.service_account_email
    timeout                          = "${var.request_timeout_seconds}s"
    max_instance_request_concurrency = var.concurrency
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    gpu_zonal_redundancy_disabled    = var.gpu == null ? null : var.gpu_zonal_redundancy_disabled

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    dynamic "volumes" {
      for_each = var.gcs_volume == null ? [] : [var.gcs_volume]
      content {
        name = "gcs"
        gcs {
          bucket    = volumes.value.bucket
          read_only = volumes.value.read_only
        }
      }
    }

    dynamic "node_selector" {
      for_each = var.gpu == null ? [] : [var.gpu]
      content {
        accelerator = node_selector.value
      }
    }

    containers {
      name    = "app"
      image   = var.image
      command = length(var.command) > 0 ? var.command : null
      args    = length(var.args) > 0 ? var.args : null

      ports {
        container_port = var.port
      }

      resources {
        limits            = local.limits
        cpu_idle          = var.cpu_idle
        startup_cpu_boost = var.startup_cpu_boost
      }

      dynamic "volume_mounts" {
        for_each = var.gcs_volume == null ? [] : [var.gcs_volume]
        content {
          name       = "gcs"
          mount_path = volume_mounts.value.mount_path
        }
      }

      dynamic "env" {
        for_each = var.environment
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = var.secrets
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }

      startup_probe {
        initial_delay_seconds = 0
        period_seconds        = 5
        timeout_seconds       = 3
        failure_threshold     = var.startup_failure_threshold
        http_get {
          path = var.health_path
          port = var.port
        }
      }

      liveness_probe {
        period_seconds    = 30
        timeout_seconds   = 5
        failure_threshold = 3
        http_get {
          path = var.health_path
          port = var.port
        }
      }
    }

    # Google Cloud Managed Service for Prometheus: the sidecar scrapes the app's /metrics on
    # localhost and writes them to Cloud Monitoring (prometheus.googleapis.com/...)
    dynamic "containers" {
      for_each = var.metrics_sidecar_image == null ? [] : [var.metrics_sidecar_image]
      content {
        name       = "metrics"
        image      = containers.value
        depends_on = ["app"]
        resources {
          limits = { cpu = "500m", memory = "256Mi" }
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.gpu == null || (tonumber(var.cpu) >= 4 && local.memory_gib >= 16)
      error_message = "Cloud Run GPU (NVIDIA L4) needs at least 4 CPU and 16Gi of memory."
    }
    precondition {
      condition     = var.gpu == null || !var.cpu_idle
      error_message = "GPU services use instance-based billing: set cpu_idle = false."
    }
  }
}

# Trading endpoints are never public: roles/run.invoker for named principals only.
resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = var.invoker_members
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.this.name
  role     = "roles/run.invoker"
  member   = each.value
}
