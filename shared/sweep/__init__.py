"""The cold sweep: realised profit over a threshold → swept to an allow-listed cold wallet."""
