"""When a cold sweep is due, and how much (pure).

Realised profit here is the ledger's running realised PnL (net of trading fees) minus
transfer fees and minus what was already swept: the profit still sitting on the venues.
A sweep is due when it is >= `profit_gbp` converted to the quote currency at the current
GBP rate (a GBP/USDT mark when one is known, else the configured rate), or >= `nav_pct`
of the NAV. What is swept is that whole unswept realised profit: the capital stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from shared.sweep.config import SweepConfig

CENT = Decimal("0.01")


@dataclass(frozen=True)
class SweepDue:
    amount: Decimal          # in the swept asset (the quote currency)
    reason: str              # profit_gbp | nav_pct
    profit: Decimal
    gbp_threshold: Decimal   # profit_gbp x rate
    nav_threshold: Decimal
    gbp_rate: Decimal
    nav: Decimal

    def figures(self) -> dict[str, str]:
        return {"profit": f"{self.profit:.2f}", "gbp_threshold": f"{self.gbp_threshold:.2f}",
                "gbp_rate": str(self.gbp_rate), "nav": f"{self.nav:.2f}",
                "nav_threshold": f"{self.nav_threshold:.2f}", "reason": self.reason}


def gbp_rate(marks: Mapping[str, Decimal], cfg: SweepConfig) -> Decimal:
    return marks.get(cfg.gbp_mark) or cfg.gbp_usdt_rate


def due(profit: Decimal, nav: Decimal, rate: Decimal, cfg: SweepConfig) -> SweepDue | None:
    gbp_threshold = cfg.profit_gbp * rate
    nav_threshold = nav * Decimal(str(cfg.nav_pct)) / 100
    if profit <= 0:
        return None
    if profit >= gbp_threshold:
        reason = "profit_gbp"
    elif nav > 0 and profit >= nav_threshold:
        reason = "nav_pct"
    else:
        return None
    return SweepDue(profit.quantize(CENT, rounding=ROUND_DOWN), reason, profit, gbp_threshold,
                    nav_threshold, rate, nav)


def allowed(address: str, allow_list: tuple[str, ...]) -> bool:
    """Exact match only: a cold wallet address is never normalised or guessed."""
    return address in allow_list
