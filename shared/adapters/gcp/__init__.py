"""Google Cloud adapters of the ports. Only modules here import google.cloud."""
