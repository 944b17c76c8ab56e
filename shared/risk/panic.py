"""The panic brake: daily loss, average order latency and win rate over rolling windows.

Each cause trips strictly beyond its threshold (DESIGN: loss > 3 %, latency > 500 ms,
win rate < 40 %); the comparisons are exact (Decimal), so a figure AT the threshold never
trips. The daily loss is the one PnL (`shared.ledger.nav`: change of NAV net of every cost,
not the market move of the holdings we started with) lost since the day opened, or since
the last resume (`RiskState.loss_reference`), as a percentage of the NAV at the day's open.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.risk.config import Panic
from shared.risk.state import RiskState

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Trip:
    cause: str   # daily_loss | latency | win_rate
    reason: str
    figures: dict[str, str]


def daily_loss(state: RiskState, total_pnl: Decimal, cfg: Panic) -> Trip | None:
    start = Decimal(state.start_equity or "0")
    if start <= 0:
        return None
    loss = state.loss_reference - total_pnl
    loss_pct = loss / start * HUNDRED
    limit = Decimal(str(cfg.max_daily_loss_pct))
    if loss_pct <= limit:
        return None
    return Trip("daily_loss", f"daily loss {loss_pct:.2f}% > {cfg.max_daily_loss_pct}%", {
        "start_equity": f"{start:.2f}", "total_pnl": f"{total_pnl:.2f}",
        "loss_usd": f"{loss:.2f}", "loss_pct": f"{loss_pct:.2f}"})


def latency(state: RiskState, cfg: Panic) -> Trip | None:
    window = state.latencies_ms[-cfg.latency_window:]
    if len(window) < cfg.latency_samples:
        return None
    total = sum((Decimal(str(x)) for x in window), Decimal(0))
    avg = total / len(window)
    if avg <= Decimal(str(cfg.max_avg_latency_ms)):
        return None
    return Trip("latency", f"average order latency {avg:.0f} ms > {cfg.max_avg_latency_ms:.0f} ms "
                f"over {len(window)} orders", {"avg_latency_ms": f"{avg:.1f}", "orders": str(len(window))})


def win_rate(state: RiskState, cfg: Panic) -> Trip | None:
    results = [Decimal(r) for r in state.recent_results[-cfg.win_rate_window:]]
    if len(results) < cfg.win_rate_min_trades:
        return None
    wins = sum(1 for r in results if r > 0)
    if Decimal(wins) >= Decimal(str(cfg.min_win_rate)) * len(results):
        return None
    rate = wins / len(results)
    return Trip("win_rate", f"win rate {rate:.0%} < {cfg.min_win_rate:.0%} over {len(results)} trades", {
        "win_rate": f"{rate:.3f}", "wins": str(wins), "trades": str(len(results))})


def evaluate(state: RiskState, total_pnl: Decimal, cfg: Panic) -> Trip | None:
    """The first cause that trips (daily loss, then latency, then win rate), or None."""
    return daily_loss(state, total_pnl, cfg) or latency(state, cfg) or win_rate(state, cfg)
