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

variable "operator_publishers" {
  description = "Named principals that publish where topology.yaml says `cli` (e.g. manual optimizer requests)."
  type        = list(string)
  default     = []
}

variable "vertex_private_network" {
  description = "null = the shared Vertex AI endpoint (IAM only, VPC-SC-ready); projects/<number>/global/networks/<name> = a private endpoint (docs/deploy.md)."
  type        = string
  default     = null
}

variable "alert_email" {
  description = "E-mail address the alert policies notify (\"\" = none)."
  type        = string
  default     = ""
}

variable "alert_slack_channel" {
  description = "Slack channel the alerts go to through Cloud Monitoring's Slack app (\"\" = none)."
  type        = string
  default     = ""
}

variable "alert_slack_token" {
  description = "OAuth token of Cloud Monitoring's Slack app (kept in the state; see the module's variable)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "alert_notification_channels" {
  description = "Existing Cloud Monitoring notification channels the alerts also notify."
  type        = list(string)
  default     = []
}

variable "predictor_uptime_check" {
  description = "Check the GPU predictor's /health (the \"predictor down\" alert); each probe wakes the scale-to-zero GPU service."
  type        = bool
  default     = true
}
