"""Code the Cloud Run services (feed, executor, predictor) share: their /metrics."""
