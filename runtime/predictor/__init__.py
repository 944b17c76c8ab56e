"""The LSTM predictor service (Cloud Run GPU or a Vertex AI custom container)."""
