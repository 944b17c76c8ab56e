variable "project_id" {
  description = "One project per environment (Firestore has one (default) database per project)."
  type        = string
}

variable "environment" {
  type = string

  validation {
    condition     = contains(["prod", "dev"], var.environment)
    error_message = "environment is prod or dev."
  }
}

variable "region" {
  description = "Region of the functions, the always-on services, Scheduler, Artifact Registry and buckets."
  type        = string
  default     = "europe-west1"
}

variable "predictor_region" {
  description = "Region of the GPU predictor (Cloud Run L4 GPUs exist in a few regions only) or of the Vertex AI endpoint."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = contains(["us-central1", "europe-west1", "europe-west4", "asia-southeast1", "us-east4"], var.predictor_region)
    error_message = "Cloud Run L4 GPUs are offered in us-central1, europe-west1, europe-west4, asia-southeast1 and us-east4."
  }
}

variable "gpu_zonal_redundancy_disabled" {
  description = "true = cheaper best-effort GPU capacity without zonal failover (fine for dev)."
  type        = bool
  default     = false
}

variable "predictor_backend" {
  description = "Where the LSTM is served: a GPU Cloud Run service or a Vertex AI endpoint."
  type        = string
  default     = "cloud_run"

  validation {
    condition     = contains(["cloud_run", "vertex"], var.predictor_backend)
    error_message = "predictor_backend is \"cloud_run\" or \"vertex\"."
  }
}

variable "vertex_endpoint_id" {
  description = "Numeric id (no leading zero, <= 10 digits) of the Vertex AI endpoint when predictor_backend = \"vertex\"."
  type        = string
  default     = "1000000001"

  validation {
    condition     = can(regex("^[1-9][0-9]{0,9}$", var.vertex_endpoint_id))
    error_message = "Vertex AI endpoint ids are numeric, without a leading zero, at most 10 digits."
  }
}

variable "firestore_location" {
  description = "Firestore location (region such as europe-west1, or multi-region eur3 / nam5)."
  type        = string
  default     = "eur3"
}

variable "image_tag" {
  description = "Tag of the feed, executor and predictor images in Artifact Registry (Cloud Build uses $SHORT_SHA)."
  type        = string
  default     = "latest"
}

variable "function_bundle" {
  description = "Path to function-source-<sha256[:16]>.zip built by `python -m infra.bundle`."
  type        = string

  validation {
    condition     = can(regex("function-source-[0-9a-f]{16}\\.zip$", var.function_bundle))
    error_message = "function_bundle must be a function-source-<sha256[:16]>.zip made by infra/bundle.py."
  }
}

variable "invokers" {
  description = "Named principals allowed to call the HTTPS services (operators, the Cloud Build smoke test). Never allUsers."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.invokers : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "Trading endpoints are never public: list named principals (user:, group:, serviceAccount:)."
  }
}

variable "trading_mode" {
  description = "paper (default) or live; live also needs exchange keys in Secret Manager."
  type        = string
  default     = "paper"

  validation {
    condition     = contains(["paper", "live"], var.trading_mode)
    error_message = "trading_mode is paper or live."
  }
}

variable "protect_data" {
  description = "Delete protection on Firestore, buckets and services (true in prod)."
  type        = bool
  default     = true
}

variable "function_ingress" {
  description = "Ingress of the functions; ALLOW_INTERNAL_ONLY admits Pub/Sub push from this project."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"
}

variable "telegram_webhook_gateway" {
  description = "Expose only the Telegram webhook path of the executor through API Gateway (the executor stays IAM-only)."
  type        = bool
  default     = true
}

variable "telegram_webhook_path" {
  description = "Executor route that receives Telegram updates (checked against X-Telegram-Bot-Api-Secret-Token)."
  type        = string
  default     = "/telegram/webhook"
}

variable "scheduler_paused" {
  type    = bool
  default = false
}

variable "secret_wo_versions" {
  description = "Secrets to seed from Terraform => write-only version counter (bump to push a new value). Usually empty: use `gcloud secrets versions add`."
  type        = map(number)
  default     = {}
}

variable "secret_values" {
  description = "Values for secret_wo_versions; ephemeral, never stored in state or plan."
  type        = map(string)
  default     = {}
  sensitive   = true
  ephemeral   = true
}

variable "operator_publishers" {
  description = "Principals (user:, group:, serviceAccount:) that publish as `cli` in topology.yaml, e.g. manual optimizer requests; granted publisher on those topics only. Never public."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.operator_publishers : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "Publishing to the bus is never public: list named principals."
  }
}

variable "dead_letter_requeue" {
  description = "Let the executor's /v1/dlq requeue republish dead letters (publisher on every topic). false = publisher only where topology.yaml says; operators requeue with their own credentials."
  type        = bool
  default     = true
}

variable "access_log_retention_days" {
  description = "Days the data and source buckets' access (usage) logs are kept in the access-log bucket."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "Keep access logs for at least one day."
  }
}

variable "vertex_private_network" {
  description = "predictor_backend = \"vertex\" only. null: the shared aiplatform.googleapis.com endpoint, callable only with IAM and able to sit inside a VPC Service Controls perimeter that restricts aiplatform.googleapis.com. A VPC network (projects/<number>/global/networks/<name>, with Private Services Access set up) makes it a private endpoint reachable only from that VPC; the signal function then needs VPC egress (docs/deploy.md)."
  type        = string
  default     = null

  validation {
    condition     = var.vertex_private_network == null || can(regex("^projects/[0-9]+/global/networks/[a-z]([-a-z0-9]*[a-z0-9])?$", var.vertex_private_network))
    error_message = "vertex_private_network is projects/<project NUMBER>/global/networks/<network name>."
  }
}

# Customer-managed encryption keys (CMEK) are an option, not the default: every resource
# here is encrypted at rest with Google-managed keys. A key in Cloud KMS adds key-level
# access control, audit and crypto-shredding at the cost of a key ring per region, the
# service agents' cryptoKeyEncrypterDecrypter grants and an outage if the key is disabled.
# docs/deploy.md ("Customer-managed keys") lists the arguments to set per resource.

# -- monitoring (monitoring.tf) ------------------------------------------------------------
variable "alert_email" {
  description = "E-mail address the alert policies notify (\"\" = no e-mail channel)."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email is an e-mail address or \"\"."
  }
}

variable "alert_slack_channel" {
  description = "Slack channel (\"#alerts\") the alert policies notify through Cloud Monitoring's Slack app (\"\" = none)."
  type        = string
  default     = ""
}

variable "alert_slack_token" {
  description = "OAuth token of Cloud Monitoring's Slack app for alert_slack_channel; kept in the Terraform state. To keep it out, connect Slack in the console and list the channel in alert_notification_channels."
  type        = string
  default     = ""
  sensitive   = true
}

variable "alert_notification_channels" {
  description = "Existing notification channels (projects/<p>/notificationChannels/<id>) the alert policies also notify."
  type        = list(string)
  default     = []
}

variable "uptime_check_period" {
  description = "How often the /health uptime checks run."
  type        = string
  default     = "300s"

  validation {
    condition     = contains(["60s", "300s", "600s", "900s"], var.uptime_check_period)
    error_message = "Cloud Monitoring runs uptime checks every 60s, 300s, 600s or 900s."
  }
}

variable "predictor_uptime_check" {
  description = "Check the GPU predictor's /health (the \"predictor down\" alert). Each probe starts the scale-to-zero GPU service when it is idle: at a 300s period it rarely scales to zero."
  type        = bool
  default     = true
}

variable "function_error_ratio" {
  description = "Share of a function's answers that may be 5xx over 5 minutes before the function-error alert fires."
  type        = number
  default     = 0.05

  validation {
    condition     = var.function_error_ratio > 0 && var.function_error_ratio < 1
    error_message = "function_error_ratio is a share between 0 and 1."
  }
}

variable "function_errors_per_5min" {
  description = "Error log lines of one function in 5 minutes above which the function-error alert fires."
  type        = number
  default     = 5
}

variable "metrics_sidecar_image" {
  description = "The Cloud Run Managed Service for Prometheus sidecar (pinned), added to feed and executor; null disables it."
  type        = string
  default     = "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.0.0" # the tag in Google's Cloud Run GMP guide at launch: pin the current one you verified
}
