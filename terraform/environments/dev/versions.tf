terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  # Pinned: provider upgrades are a reviewed change. 6.49.x has everything used here
  # (write-only secret_data_wo, Cloud Run GPU zonal redundancy, cpu_idle, startup boost).
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.49.2"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.49.2"
    }
  }

  # State bucket is given at init: terraform init -backend-config="bucket=<state bucket>"
  backend "gcs" {
    prefix = "tradewinds/dev"
  }
}
