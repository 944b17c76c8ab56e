variable "project_id" {
  type = string
}

variable "region" {
  type = string
}

variable "name" {
  description = "Function name (topology `functions:` key)."
  type        = string
}

variable "description" {
  type    = string
  default = ""
}

variable "entry_point" {
  description = "Top-level callable in the bundle's main.py."
  type        = string
}

variable "source_bucket" {
  type = string
}

variable "source_object" {
  description = "The bundle object, function-source-<sha256[:16]>.zip; a new name redeploys."
  type        = string
}

variable "service_account_email" {
  description = "Runtime identity of this function (one per function)."
  type        = string
}

variable "build_service_account_id" {
  description = "projects/P/serviceAccounts/EMAIL used by Cloud Build to build the function."
  type        = string
}

variable "memory" {
  type    = string
  default = "256Mi"
}

variable "timeout_seconds" {
  type    = number
  default = 60

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 540
    error_message = "Event-driven functions time out at 540 s at most."
  }
}

variable "min_instances" {
  type    = number
  default = 0
}

variable "max_instances" {
  type    = number
  default = 5

  validation {
    condition     = var.max_instances >= 1
    error_message = "max_instances must be at least 1."
  }
}

variable "secrets" {
  description = "Environment variable name => Secret Manager secret id (same project)."
  type        = map(string)
  default     = {}
}

variable "environment" {
  type    = map(string)
  default = {}
}

variable "ingress_settings" {
  description = "ALLOW_INTERNAL_ONLY admits Pub/Sub push from the same project."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress_settings)
    error_message = "Unknown ingress setting."
  }
}

variable "invoker_members" {
  description = "Named principals granted roles/run.invoker (never allUsers), keyed by a static label."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.invoker_members) : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "Functions are never public: name the principals that may invoke them."
  }
}

variable "labels" {
  type    = map(string)
  default = {}
}
