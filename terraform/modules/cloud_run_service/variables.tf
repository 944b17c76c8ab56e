variable "project_id" {
  type = string
}

variable "region" {
  type = string
}

variable "name" {
  description = "Service name (topology `services:` key)."
  type        = string
}

variable "description" {
  type    = string
  default = ""
}

variable "image" {
  description = "Full image reference in Artifact Registry."
  type        = string
}

variable "command" {
  description = "Overrides the image ENTRYPOINT (empty: keep the image's)."
  type        = list(string)
  default     = []
}

variable "args" {
  description = "Arguments for the command (empty: the image's CMD)."
  type        = list(string)
  default     = []
}

variable "service_account_email" {
  description = "Runtime identity of this service (one per service)."
  type        = string
}

variable "cpu" {
  type    = string
  default = "1"
}

variable "memory" {
  type    = string
  default = "512Mi"
}

variable "min_instances" {
  type    = number
  default = 0
}

variable "max_instances" {
  type    = number
  default = 1
}

variable "cpu_idle" {
  description = "false = CPU always allocated (instance-based billing), needed by always-on and GPU services."
  type        = bool
  default     = false
}

variable "startup_cpu_boost" {
  type    = bool
  default = true
}

variable "concurrency" {
  type    = number
  default = 80
}

variable "request_timeout_seconds" {
  type    = number
  default = 300
}

variable "port" {
  type    = number
  default = 8080
}

variable "health_path" {
  type    = string
  default = "/health"

  validation {
    condition     = !endswith(var.health_path, "z")
    error_message = "Cloud Run reserves paths ending in \"z\" (such as /healthz); use /health."
  }
}

variable "startup_failure_threshold" {
  description = "Startup probe attempts, 5 s apart (a GPU model load needs more)."
  type        = number
  default     = 24
}

variable "gpu" {
  description = "Accelerator for node_selector, e.g. \"nvidia-l4\"; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.gpu == null || var.gpu == "nvidia-l4"
    error_message = "Cloud Run offers the NVIDIA L4 (nvidia-l4)."
  }
}

variable "gpu_zonal_redundancy_disabled" {
  description = "true = cheaper best-effort GPU capacity without zonal failover."
  type        = bool
  default     = false
}

variable "environment" {
  type    = map(string)
  default = {}
}

variable "secrets" {
  description = "Environment variable name => Secret Manager secret id (same project)."
  type        = map(string)
  default     = {}
}

variable "ingress" {
  type    = string
  default = "INGRESS_TRAFFIC_ALL"

  validation {
    condition     = contains(["INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"], var.ingress)
    error_message = "Unknown ingress setting."
  }
}

variable "invoker_members" {
  description = "Named principals granted roles/run.invoker, keyed by a static label. Never allUsers."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.invoker_members) : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "Trading endpoints are never public: name the principals that may invoke them."
  }
}

variable "deletion_protection" {
  type    = bool
  default = true
}

variable "labels" {
  type    = map(string)
  default = {}
}

variable "gcs_volume" {
  description = "Mount a bucket with Cloud Storage FUSE (the predictor reads model artifacts from it)."
  type = object({
    bucket     = string
    mount_path = string
    read_only  = bool
  })
  default = null
}

variable "metrics_sidecar_image" {
  description = "Managed Service for Prometheus sidecar image (run-gmp-sidecar) scraping the app's /metrics; null: no sidecar."
  type        = string
  default     = null
}
