"""The panic brake: daily loss, average order latency and win rate over rolling windows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.risk.config import Panic
from shared.risk.state import RiskState


@dataclass(frozen=True)
class Trip:
    cause: str   # daily_loss | latency | win_rate
    reason: str
    figures: dict[str, str]


def evaluate(state: RiskState, equity: Decimal, cfg: Panic) -> Trip | None:
    start = Decimal(state.start_equity or "0")
    if start > 0:
        loss_pct = float((start - equity) / start * 100)
        if loss_pct > cfg.max_daily_loss_pct:
            return Trip("daily_loss", f"daily loss {loss_pct:.2f}% > {cfg.max_daily_loss_pct}%", {
                "start_equity": f"{start:.2f}", "equity": f"{equity:.2f}", "loss_pct": f"{loss_pct:.2f}"})
    lat = state.latencies_ms[-cfg.latency_window:]
    if len(lat) >= cfg.latency_window:
        avg = sum(lat) / len(lat)
        if avg > cfg.max_avg_latency_ms:
            return Trip("latency", f"average order latency {avg:.0f} ms > {cfg.max_avg_latency_ms:.0f} ms", {
                "avg_latency_ms": f"{avg:.1f}", "window": str(len(lat))})
    results = [Decimal(r) for r in state.recent_results[-cfg.win_rate_window:]]
    if len(results) >= cfg.win_rate_min_trades:
        rate = sum(1 for r in results if r > 0) / len(results)
        if rate < cfg.min_win_rate:
            return Trip("win_rate", f"win rate {rate:.0%} < {cfg.min_win_rate:.0%} over {len(results)} trades", {
                "win_rate": f"{rate:.3f}", "trades": str(len(results))})
    return None
