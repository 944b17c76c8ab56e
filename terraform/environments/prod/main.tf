# Production: everything protected (Firestore delete protection + ABANDON, buckets kept,
# services with deletion_protection), GPU zonal redundancy on.
module "tradewinds" {
  source = "../../modules/tradewinds"

  project_id                    = var.project_id
  environment                   = "prod"
  region                        = var.region
  predictor_region              = var.predictor_region
  predictor_backend             = var.predictor_backend
  gpu_zonal_redundancy_disabled = var.gpu_zonal_redundancy_disabled
  firestore_location            = var.firestore_location
  image_tag                     = var.image_tag
  function_bundle               = var.function_bundle
  invokers                      = var.invokers
  operator_publishers           = var.operator_publishers
  vertex_private_network        = var.vertex_private_network
  trading_mode                  = var.trading_mode
  protect_data                  = true
  secret_wo_versions            = var.secret_wo_versions
  secret_values                 = var.secret_values
  alert_email                   = var.alert_email
  alert_slack_channel           = var.alert_slack_channel
  alert_slack_token             = var.alert_slack_token
  alert_notification_channels   = var.alert_notification_channels
  predictor_uptime_check        = var.predictor_uptime_check
}
