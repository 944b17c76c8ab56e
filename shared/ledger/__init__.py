"""Portfolio ledger: positions, balances, realised/unrealised PnL, fees, NAV (Decimal)."""
