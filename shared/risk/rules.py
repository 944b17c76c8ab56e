"""Pre-trade risk rules. Every failing rule adds a reason; all reasons are kept.

Boundaries (exact, Decimal): a limit is a maximum that may be reached, not exceeded
(order, position, gross, venue exposure: `> limit` denies); confidence AT the minimum passes;
the trading window is inclusive at both ends (minute resolution, UTC); open orders deny when
the count already equals the limit (the new order would exceed it); the daily-loss rule denies
once the realised loss today reaches the limit (no further trades after hitting it).
A halt denies anything that adds exposure; orders that reduce exposure still pass the other
checks that apply to them (confidence, window, order size)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.contracts import Side
from shared.risk.config import Limits


@dataclass(frozen=True)
class Exposure:
    """What risk knows about the book when it decides (all in USD)."""

    position_usd: Decimal      # this symbol, all venues
    gross_usd: Decimal         # all symbols, all venues
    venue_usd: Decimal         # this venue, all symbols
    open_orders: int
    daily_pnl_usd: Decimal     # realised today, net of fees
    start_equity_usd: Decimal


@dataclass(frozen=True)
class Proposal:
    side: Side
    notional_usd: Decimal
    confidence: float
    reduces_exposure: bool
    at: datetime


def check(p: Proposal, x: Exposure, limits: Limits, halted: bool) -> list[str]:
    reasons: list[str] = []
    if halted and not p.reduces_exposure:
        reasons.append("halted: only orders that reduce exposure are allowed")
    if p.confidence < limits.min_confidence:
        reasons.append(f"min_confidence: {p.confidence:.3f} < {limits.min_confidence}")
    if not limits.trading_window.contains(p.at.time()):
        w = limits.trading_window
        reasons.append(f"trading_window: {p.at.time():%H:%M} outside {w.start:%H:%M}-{w.end:%H:%M} UTC")
    if p.reduces_exposure:
        return reasons  # closing a position is never refused for its size
    if p.notional_usd > limits.max_order_usd:
        reasons.append(f"max_order_usd: {p.notional_usd:.2f} > {limits.max_order_usd}")
    if x.position_usd + p.notional_usd > limits.max_position_usd:
        reasons.append(
            f"max_position_usd: {x.position_usd + p.notional_usd:.2f} > {limits.max_position_usd}")
    if x.gross_usd + p.notional_usd > limits.max_gross_exposure_usd:
        reasons.append(
            f"max_gross_exposure_usd: {x.gross_usd + p.notional_usd:.2f} > {limits.max_gross_exposure_usd}")
    if x.venue_usd + p.notional_usd > limits.max_venue_exposure_usd:
        reasons.append(
            f"max_venue_exposure_usd: {x.venue_usd + p.notional_usd:.2f} > {limits.max_venue_exposure_usd}")
    if x.open_orders >= limits.max_open_orders:
        reasons.append(f"max_open_orders: {x.open_orders} >= {limits.max_open_orders}")
    if x.start_equity_usd > 0:
        loss_pct = -x.daily_pnl_usd / x.start_equity_usd * 100
        if loss_pct >= Decimal(str(limits.max_daily_loss_pct)):
            reasons.append(f"max_daily_loss: {loss_pct:.2f}% >= {limits.max_daily_loss_pct}%")
    return reasons
