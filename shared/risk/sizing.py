"""Position sizing by fractional Kelly from the recent win rate and payoff.

size = equity x f x kelly, where kelly = p - (1-p)/b from recent closed trades and
f = `kelly_fraction`, capped at `base_order_usd x kelly_cap`; with too few trades the base
size is used.

After `kelly_min_trades` closed trades a Kelly fraction <= 0 means no edge: the size is 0 and
the explanation says the strategy stands aside, with the win rate and payoff behind it. The
ensemble gate (shared/signals/standing.py) applies the same Kelly figure per voter to its
out-of-sample paper trades, so a voter without edge is set aside, visibly, before sizing.

When the drawdown is ABOVE `high_drawdown_pct` (strictly), the bet is clipped: f falls to
`high_drawdown_clip` (0.25) and the cap and the base size fall with it in the same proportion
(clip / kelly_fraction: 0.25 / 0.5 = half), so the clip cuts the size even where the USD cap
binds (as it does with the shipped config, whose NAV x 0.5 x kelly is far above the cap).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from shared.risk.config import Sizing

CENT = Decimal("0.01")


def kelly_figures(results: Sequence[Decimal | float]) -> tuple[float, float, float] | None:
    """(kelly, p, payoff): full-Kelly fraction p - (1-p)/b from trade results, p the share of
    winners among decisive trades and b the mean win over the mean loss; None when undefined
    (no win or no loss)."""
    wins = [float(r) for r in results if r > 0]
    losses = [-float(r) for r in results if r < 0]
    if not wins or not losses:
        return None
    p = len(wins) / (len(wins) + len(losses))
    payoff = (sum(wins) / len(wins)) / (sum(losses) / len(losses))
    return p - (1 - p) / payoff, p, payoff


def kelly_fraction(results: Sequence[Decimal]) -> float | None:
    """Full-Kelly fraction p - (1-p)/b from closed-trade results; None when undefined."""
    figures = kelly_figures(results)
    return figures[0] if figures else None


def order_size_usd(
    results: Sequence[Decimal], equity: Decimal, drawdown_pct: float, cfg: Sizing
) -> tuple[Decimal, str]:
    """The order size in USD and a short explanation for the audit trail."""
    in_drawdown = drawdown_pct > cfg.high_drawdown_pct
    fraction = min(cfg.kelly_fraction, cfg.high_drawdown_clip) if in_drawdown else cfg.kelly_fraction
    scale = Decimal(str(fraction)) / Decimal(str(cfg.kelly_fraction))  # 1 unless clipped
    cap = cfg.base_order_usd * Decimal(str(cfg.kelly_cap)) * scale
    note = f" (drawdown {drawdown_pct:.2f}% -> fraction {fraction}, cap {cap:.2f})" if in_drawdown else ""
    figures = kelly_figures(results) if len(results) >= cfg.kelly_min_trades else None
    if figures is None:
        size = min(cap, cfg.base_order_usd * scale)
        return size.quantize(CENT), f"base size, too few decisive trades for Kelly{note}"
    full, p, payoff = figures
    if full <= 0:
        return Decimal(0), (f"kelly={full:.3f} <= 0 after {len(results)} trades (win rate {p:.2f}, payoff "
                            f"{payoff:.2f}): no edge, standing aside until it turns positive{note}")
    size = min(cap, equity * Decimal(str(round(fraction * full, 6))))
    return size.quantize(CENT), f"kelly={full:.3f} x {fraction}{note}"
