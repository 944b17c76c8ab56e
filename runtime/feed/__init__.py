"""The feed service: venues in; closed bars, book tops and outage notices out."""
