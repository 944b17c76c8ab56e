"""When a cold sweep is due, and how much (pure).

Realised profit here is the ledger's running realised PnL (net of trading fees) minus
transfer fees and minus what was already swept: the profit still sitting on the venues.
A sweep is due when it is >= `profit_gbp` converted to the quote currency at the current
GBP rate, or >= `nav_pct` of the NAV. The GBP rate is the `gbp_mark` (GBP/USDT, or the
inverse of a USDT/GBP mark) when one is known and no older than `gbp_mark_max_age_hours`,
else the configured `gbp_usdt_rate`; which one was used is recorded with the figures.
What is swept is that whole unswept realised profit: the capital stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation

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
    gbp_rate_source: str = ""

    def figures(self) -> dict[str, str]:
        return {"profit": f"{self.profit:.2f}", "gbp_threshold": f"{self.gbp_threshold:.2f}",
                "gbp_rate": str(self.gbp_rate), "gbp_rate_source": self.gbp_rate_source,
                "nav": f"{self.nav:.2f}", "nav_threshold": f"{self.nav_threshold:.2f}", "reason": self.reason}


@dataclass(frozen=True)
class GbpRate:
    rate: Decimal     # quote currency per GBP
    source: str       # "mark GBP/USDT ..." or "config gbp_usdt_rate ..."


def _inverse(symbol: str) -> str:
    base, _, quote = symbol.partition("/")
    return f"{quote}/{base}"


def _fresh(doc: Mapping | None, now: datetime | None, max_age: timedelta) -> Decimal | None:
    """The price of a stored mark ({price, at}) unless it is missing, bad or too old."""
    if not doc:
        return None
    try:
        price, at = Decimal(str(doc["price"])), datetime.fromisoformat(str(doc["at"]))
    except (KeyError, ValueError, InvalidOperation):
        return None
    try:
        stale = now is not None and now - at > max_age
    except TypeError:  # a timestamp without a zone: cannot tell its age
        return None
    return None if price <= 0 or stale else price


def gbp_rate(marks: Mapping[str, Decimal], cfg: SweepConfig, stored: Mapping[str, Mapping] | None = None,
             now: datetime | None = None) -> GbpRate:
    """The GBP rate: a GBP mark from `marks`, else a fresh stored mark doc (`stored`: symbol →
    {price, at}), direct or inverse; else the configured rate. Says which it used."""
    direct, inverse = cfg.gbp_mark, _inverse(cfg.gbp_mark)
    if marks.get(direct, 0) > 0:
        return GbpRate(marks[direct], f"mark {direct}")
    if marks.get(inverse, 0) > 0:
        return GbpRate(1 / marks[inverse], f"mark {inverse} (inverted)")
    max_age = timedelta(hours=cfg.gbp_mark_max_age_hours)
    for symbol, invert in ((direct, False), (inverse, True)):
        doc = (stored or {}).get(symbol)
        price = _fresh(doc, now, max_age)
        if price is not None:
            return GbpRate(1 / price if invert else price,
                           f"mark {symbol} at {doc['at']}" + (" (inverted)" if invert else ""))
    return GbpRate(cfg.gbp_usdt_rate, f"config gbp_usdt_rate (no {direct} mark within "
                                      f"{cfg.gbp_mark_max_age_hours:g} h)")


def due(profit: Decimal, nav: Decimal, rate: Decimal, cfg: SweepConfig, source: str = "") -> SweepDue | None:
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
                    nav_threshold, rate, nav, source)


def allowed(address: str, allow_list: tuple[str, ...]) -> bool:
    """Exact match only: a cold wallet address is never normalised or guessed."""
    return address in allow_list
