variable "project_id" {
  description = "The production project."
  type        = string
}

variable "region" {
  type    = string
  default = "europe-west1"
}

variable "predictor_region" {
  description = "us-central1, europe-west1, europe-west4, asia-southeast1 or us-east4 (validated in the module)."
  type        = string
  default     = "europe-west1"
}

variable "predictor_backend" {
  description = "cloud_run (GPU service) or vertex (Vertex AI endpoint)."
  type        = string
  default     = "cloud_run"
}

variable "gpu_zonal_redundancy_disabled" {
  type    = bool
  default = false
}

variable "firestore_location" {
  type    = string
  default = "eur3"
}

variable "image_tag" {
  type    = string
  default = "latest"
}

variable "function_bundle" {
  description = "Path to build/function-source-<sha256[:16]>.zip (python -m infra.bundle)."
  type        = string
}

variable "invokers" {
  description = "Named principals allowed to call the services (operators, the Cloud Build service account)."
  type        = list(string)
  default     = []
}

variable "trading_mode" {
  type    = string
  default = "paper"
}

variable "secret_wo_versions" {
  type    = map(number)
  default = {}
}

variable "secret_values" {
  type      = map(string)
  default   = {}
  sensitive = true
  ephemeral = true
}
