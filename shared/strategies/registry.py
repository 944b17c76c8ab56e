"""The built-in strategy plugins by name, and the live one-bar entry point.

A YAML file picks a plugin by `plugin:`; several instances (different symbols or params)
can share one plugin because plugins are stateless.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.contracts import Side
from shared.strategies.base import LONG, SHORT, BarArrays, Strategy
from shared.strategies.breakout import Breakout
from shared.strategies.mean_reversion import MeanReversion
from shared.strategies.momentum import Momentum
from shared.strategies.rsi import Rsi

PLUGINS: dict[str, Strategy] = {p.name: p for p in (Momentum(), MeanReversion(), Breakout(), Rsi())}

MIN_HISTORY = 200
"""Bars a live window should hold at least (recursive indicators need time to settle)."""


def get_plugin(name: str) -> Strategy:
    try:
        return PLUGINS[name]
    except KeyError:
        raise KeyError(f"unknown strategy plugin {name!r}; known: {sorted(PLUGINS)}") from None


def history_bars(plugin: Strategy | str, params: Mapping[str, float]) -> int:
    """How many bars to keep for `latest_vote` to match a full-history backtest."""
    plugin = get_plugin(plugin) if isinstance(plugin, str) else plugin
    warmup = plugin.warmup(params)
    settle = getattr(plugin, "settle_factor", 1) * warmup
    return max(MIN_HISTORY, warmup + 1, settle + 1)


def latest_vote(
    plugin: Strategy | str, bars: BarArrays, params: Mapping[str, float]
) -> tuple[Side | None, float]:
    """The vote of the last bar in `bars`: (side, confidence), or (None, 0.0) while the
    window is shorter than the warm-up or the strategy is flat. A plugin's optional
    `latest(bars, params)` computes the last bar only (exactly `votes(bars, params)[-1]`);
    without it the whole series is computed and its last element taken."""
    plugin = get_plugin(plugin) if isinstance(plugin, str) else plugin
    if len(bars) <= plugin.warmup(params):
        return None, 0.0
    fast = getattr(plugin, "latest", None)
    if fast is not None:
        side, confidence = fast(bars, params)
    else:
        series = plugin.votes(bars, params)
        side, confidence = int(series.side[-1]), float(series.confidence[-1])
    if side == LONG:
        return Side.BUY, confidence
    if side == SHORT:
        return Side.SELL, confidence
    return None, 0.0
