"""Typed backtest settings: costs (taker fee, volume-based slippage) and position sizing.

Money in a backtest is float in the pair's quote currency (a backtest is research, not a
ledger); `quote_usd` converts the live sizing rules, which are written in USD, into the
quote (1 for USDT pairs, the BTC price for ETH/BTC).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.risk.config import Sizing

MINUTES_PER_YEAR = 525_600


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Slippage(_Frozen):
    """Fill price moves against us by half the spread plus a square-root market impact:

    slip_bps = min(max_bps, half_spread_bps + impact_bps * sqrt(qty / volume_of_signal_bar))

    The signal bar's volume is used (known when the order is sent); a bar with no volume
    reads as `max_bps`.
    """

    half_spread_bps: float = Field(default=0.5, ge=0)
    impact_bps: float = Field(default=10.0, ge=0)
    max_bps: float = Field(default=50.0, ge=0)

    @classmethod
    def none(cls) -> Slippage:
        return cls(half_spread_bps=0.0, impact_bps=0.0, max_bps=0.0)


class LiveSizing(_Frozen):
    """`shared.risk.sizing.order_size_usd` in the backtest: fractional Kelly on the last
    `results_window` closed trades, clipped in drawdown (peak equity is tracked at signal
    and fill times, as the risk step does), capped by `max_order_usd` and by the cash."""

    sizing: Sizing
    max_order_usd: float = Field(gt=0)
    results_window: int = Field(default=50, ge=1)


class BacktestConfig(_Frozen):
    """One backtest's rules. Long-only spot, as live: a BUY signal opens when flat, a SELL
    signal closes; a repeated side emits nothing; fills at the NEXT bar's open."""

    initial_cash: float = Field(default=10_000.0, gt=0)
    fee_bps: float = Field(default=10.0, ge=0, le=1000)  # taker
    slippage: Slippage = Slippage()
    sizing: Literal["live", "all_in"] = "all_in"
    live: LiveSizing | None = None
    quote_usd: float = Field(default=1.0, gt=0)
    min_confidence: float = Field(default=0.0, ge=0, le=1)
    close_at_end: bool = False  # True: close at the last bar's close (fee paid)
    bars_per_year: float = Field(default=MINUTES_PER_YEAR, gt=0)

    @property
    def fee_rate(self) -> float:
        return self.fee_bps / 10_000.0
