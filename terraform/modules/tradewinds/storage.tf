# Artifact Registry for the service images, a bucket for bar history and model artifacts,
# and a bucket for the function source bundle (named by its content hash, so an unchanged
# bundle is the same object and the functions do not redeploy).

resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption by default; customer-managed keys are an opt-in described in docs/deploy.md ("Customer-managed keys").
  project       = var.project_id
  location      = var.region
  repository_id = "tradewinds"
  format        = "DOCKER"
  description   = "feed, executor and predictor images"

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket" "data" {
  project                     = var.project_id
  name                        = "${var.project_id}-tradewinds-data"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.protect_data

  # Model artifacts are versioned objects: a bad upload can be rolled back.
  versioning {
    enabled = true
  }

  # Every read and write of bar history and models is logged (usage logs, hourly).
  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = "data/"
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 5
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket" "sources" {
  #checkov:skip=CKV_GCP_78:Objects are named by the SHA-256 of their content (function-source-<hash>.zip) and never overwritten; versioning would only keep copies of identical bytes.
  project                     = var.project_id
  name                        = "${var.project_id}-tradewinds-fn-src"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  # The bundle runs with the functions' identities: who uploaded or read it is logged.
  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = "fn-src/"
  }

  depends_on = [google_project_service.apis]
}

# Usage (access) logs of the data and source buckets. Cloud Storage writes them as
# group:cloud-storage-analytics@google.com, which needs objectCreator here and nothing else.
resource "google_storage_bucket" "access_logs" {
  #checkov:skip=CKV_GCP_62:This is the access-log bucket; logging its own access would log the log writes, a loop. Reads of it are in Cloud Audit Logs (Data Access) when enabled.
  #checkov:skip=CKV_GCP_78:Log objects are written once by Cloud Storage and expire by the lifecycle rule; versioning would keep deleted logs past the retention chosen in var.access_log_retention_days.
  project                     = var.project_id
  name                        = "${var.project_id}-tradewinds-access-logs"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.protect_data

  lifecycle_rule {
    condition {
      age = var.access_log_retention_days
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "access_log_writer" {
  bucket = google_storage_bucket.access_logs.name
  role   = "roles/storage.objectCreator"
  member = "group:cloud-storage-analytics@google.com"
}

resource "google_storage_bucket_object" "function_bundle" {
  bucket = google_storage_bucket.sources.name
  name   = basename(var.function_bundle)
  source = var.function_bundle
}

locals {
  image_registry = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
  images         = { for name in keys(local.topology.services) : name => "${local.image_registry}/${name}:${var.image_tag}" }
}
