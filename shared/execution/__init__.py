"""Execution: the paper exchange, order lifecycle and (later) the arbitrage hot path."""
