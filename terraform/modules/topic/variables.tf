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
