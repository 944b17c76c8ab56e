variable "project_id" {
  description = "Project that owns the topic."
  type        = string
}

variable "name" {
  description = "Topic name from infra/topology.yaml (`topics:` key)."
  type        = string
}

variable "message_retention" {
  description = "Retention of published messages, a duration such as \"604800s\"."
  type        = string
  default     = "604800s"
}

variable "labels" {
  description = "Labels for every resource (publisher and description are documented in topology.yaml)."
  type        = map(string)
  default     = {}
}

variable "pubsub_service_agent_email" {
  description = "service-PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com; null to skip the DLQ publisher grant."
  type        = string
  default     = null
}

variable "dead_letter_readers" {
  description = "IAM members that may pull \"<name>-dlq-sub\", keyed by a static label. Never public."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.dead_letter_readers) : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "Dead letters are never public."
  }
}
