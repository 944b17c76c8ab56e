# Artifact Registry for the service images, a bucket for bar history and model artifacts,
# and a bucket for the function source bundle (named by its content hash, so an unchanged
# bundle is the same object and the functions do not redeploy).

resource "google_artifact_registry_repository" "images" {
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
  project                     = var.project_id
  name                        = "${var.project_id}-tradewinds-fn-src"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  depends_on = [google_project_service.apis]
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
