variable "project_id" {
  type = string
}

variable "name" {
  description = "Subscription name from infra/topology.yaml (`subscriptions:` key)."
  type        = string
}

variable "topic_id" {
  type = string
}

variable "dead_letter_topic_id" {
  type = string
}

variable "grant_dead_letter_publisher" {
  description = "Grant the Pub/Sub service agent publisher on the DLQ topic here (false when the topic module already does)."
  type        = bool
  default     = true
}

variable "pubsub_service_agent_email" {
  type = string
}

variable "subscriber_members" {
  description = "IAM members allowed to pull (e.g. the executor's service account), keyed by a static label."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.subscriber_members) : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "Subscriptions are never public."
  }
}

variable "exactly_once" {
  type    = bool
  default = false
}

variable "ordering" {
  type    = bool
  default = false
}

variable "filter" {
  type    = string
  default = null
}

variable "ack_deadline_seconds" {
  type    = number
  default = 60

  validation {
    condition     = var.ack_deadline_seconds >= 10 && var.ack_deadline_seconds <= 600
    error_message = "ack_deadline_seconds must be within 10..600."
  }
}

variable "max_delivery_attempts" {
  type    = number
  default = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Pub/Sub allows max_delivery_attempts within 5..100."
  }
}

variable "minimum_backoff" {
  type    = string
  default = "1s"
}

variable "maximum_backoff" {
  type    = string
  default = "60s"
}

variable "message_retention" {
  type    = string
  default = "604800s"
}

variable "labels" {
  type    = map(string)
  default = {}
}
