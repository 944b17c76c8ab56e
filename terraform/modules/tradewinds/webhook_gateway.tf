# Telegram must reach the executor's webhook from the internet, but the executor (which
# serves the trading endpoints) never grants allUsers. API Gateway exposes that ONE path:
# it calls the executor with its own identity (tw-gw-telegram, a named run.invoker), and
# the executor checks X-Telegram-Bot-Api-Secret-Token against the telegram-webhook-secret
# secret registered with setWebhook(secret_token=...). Every other path is 404 at the
# gateway. API Gateway resources are in the google-beta provider.

locals {
  telegram_openapi = var.telegram_webhook_gateway ? yamlencode({
    swagger  = "2.0"
    info     = { title = "tradewinds-telegram-${var.environment}", version = "1.0.0" }
    schemes  = ["https"]
    produces = ["application/json"]
    paths = {
      (var.telegram_webhook_path) = {
        post = {
          operationId = "telegramWebhook"
          x-google-backend = {
            address          = "${module.service["executor"].uri}${var.telegram_webhook_path}"
            jwt_audience     = module.service["executor"].uri
            path_translation = "CONSTANT_ADDRESS"
            deadline         = 30
          }
          responses = { "200" = { description = "update accepted" } }
        }
      }
    }
  }) : ""
}

resource "google_api_gateway_api" "telegram" {
  count      = var.telegram_webhook_gateway ? 1 : 0
  provider   = google-beta
  project    = var.project_id
  api_id     = "tradewinds-telegram"
  depends_on = [google_project_service.apis]
}

# The API's generated managed service must be enabled before the gateway serves it.
resource "google_project_service" "telegram_api" {
  count              = var.telegram_webhook_gateway ? 1 : 0
  project            = var.project_id
  service            = google_api_gateway_api.telegram[0].managed_service
  disable_on_destroy = false
}

resource "google_api_gateway_api_config" "telegram" {
  count                = var.telegram_webhook_gateway ? 1 : 0
  provider             = google-beta
  project              = var.project_id
  api                  = google_api_gateway_api.telegram[0].api_id
  api_config_id_prefix = "telegram-"

  openapi_documents {
    document {
      path     = "openapi.yaml"
      contents = base64encode(local.telegram_openapi)
    }
  }

  gateway_config {
    backend_config {
      google_service_account = google_service_account.this["gw-telegram"].email
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_api_gateway_gateway" "telegram" {
  count      = var.telegram_webhook_gateway ? 1 : 0
  provider   = google-beta
  project    = var.project_id
  region     = var.region
  gateway_id = "tradewinds-telegram"
  api_config = google_api_gateway_api_config.telegram[0].id
  depends_on = [google_project_service.telegram_api]
}
