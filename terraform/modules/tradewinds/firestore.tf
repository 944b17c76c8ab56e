# Firestore (default) database in native mode with point-in-time recovery and delete
# protection, the TTL policy that expires idempotency claims, and the composite indexes
# our queries need.

resource "google_firestore_database" "default" {
  project                           = var.project_id
  name                              = "(default)"
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.protect_data ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  # ABANDON: `terraform destroy` leaves the database (and the ledger) standing.
  deletion_policy = var.protect_data ? "ABANDON" : "DELETE"
  depends_on      = [google_project_service.apis]
}

# processed/{consumer}:{message_id} holds idempotency claims and outbox/{...} the messages a
# step published; handlers write `expires_at` (a timestamp) and Firestore deletes the
# document after it (typically within 24 h). notify_dedupe keeps de-duplication windows.
resource "google_firestore_field" "ttl" {
  for_each   = toset(["processed", "outbox", "notify_dedupe", "notifications_recent"])
  project    = var.project_id
  database   = google_firestore_database.default.name
  collection = each.key
  field      = "expires_at"

  ttl_config {}

  # A TTL field needs no single-field index; leaving it unindexed avoids hotspots.
  index_config {}
}


# Composite indexes (equality on the first field, range/order on the second):
#   executions    strategy ==, executed_at desc   -> recent fills of one strategy (PnL, optimizer trigger)
#   audit         kind ==,     at desc            -> audit trail by kind (risk denials, halts, resumes)
#   optimizer_jobs strategy ==, created_at desc   -> latest optimisation runs of one strategy
#   orders        status ==,   updated_at desc    -> open/stuck orders for reconciliation
#   trades        strategy ==, closed_at desc     -> rolling win rate and consecutive losers
#   near_misses   reason ==,   at desc            -> the rebalancer's evidence of inventory shortfalls
locals {
  firestore_indexes = {
    "executions-strategy-executed_at"    = { collection = "executions", fields = [["strategy", "ASCENDING"], ["executed_at", "DESCENDING"]] }
    "audit-kind-at"                      = { collection = "audit", fields = [["kind", "ASCENDING"], ["at", "DESCENDING"]] }
    "optimizer_jobs-strategy-created_at" = { collection = "optimizer_jobs", fields = [["strategy", "ASCENDING"], ["created_at", "DESCENDING"]] }
    "orders-status-updated_at"           = { collection = "orders", fields = [["status", "ASCENDING"], ["updated_at", "DESCENDING"]] }
    "trades-strategy-closed_at"          = { collection = "trades", fields = [["strategy", "ASCENDING"], ["closed_at", "DESCENDING"]] }
    "near_misses-reason-at"              = { collection = "near_misses", fields = [["reason", "ASCENDING"], ["at", "DESCENDING"]] }
  }
}

resource "google_firestore_index" "this" {
  for_each   = local.firestore_indexes
  project    = var.project_id
  database   = google_firestore_database.default.name
  collection = each.value.collection

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value[0]
      order      = fields.value[1]
    }
  }
}
