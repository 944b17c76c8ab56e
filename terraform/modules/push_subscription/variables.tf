variable "project_id" {
  type = string
}

variable "name" {
  description = "Subscription name from infra/topology.yaml (`subscriptions:` key)."
  type        = string
}

variable "topic_id" {
  description = "Source topic, projects/P/topics/T."
  type        = string
}

variable "dead_letter_topic_id" {
  description = "The source topic's \"<topic>-dlq\", projects/P/topics/T-dlq."
  type        = string
}

variable "push_endpoint" {
  description = "HTTPS URL the messages are pushed to: the consuming function's URL with /projects/P/topics/T appended, so the functions-framework names the source topic in the CloudEvent (a message of the wrong type for its topic is then dead-lettered)."
  type        = string

  validation {
    condition     = startswith(var.push_endpoint, "https://")
    error_message = "Push endpoints must be HTTPS."
  }
}

variable "audience" {
  description = "OIDC audience of the push token: the receiving service's URL (default: push_endpoint)."
  type        = string
  default     = null
}

variable "invoker_service_account_email" {
  description = "Service account whose OIDC token Pub/Sub attaches; it holds run.invoker on the function."
  type        = string
}

variable "grant_dead_letter_publisher" {
  description = "Grant the Pub/Sub service agent publisher on the DLQ topic here (false when the topic module already does)."
  type        = bool
  default     = true
}

variable "pubsub_service_agent_email" {
  description = "service-PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com"
  type        = string
}

variable "ack_deadline_seconds" {
  description = "Also the push request timeout; keep it >= the function timeout."
  type        = number
  default     = 60

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

variable "ordering" {
  type    = bool
  default = false
}

variable "filter" {
  description = "Attribute filter; immutable once created. null for none."
  type        = string
  default     = null
}

variable "message_retention" {
  type    = string
  default = "604800s"
}

variable "labels" {
  type    = map(string)
  default = {}
}
