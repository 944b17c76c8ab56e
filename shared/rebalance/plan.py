"""Rebalance plans from inventory drift (pure: balances in, a plan or None out).

For one asset held on n venues, the mean holding is m = sum/n and a venue's drift is
(holding - m) / m. When the richest or the poorest venue drifts BEYOND `threshold_pct`
(strictly more), the plan moves min(richest - m, m - poorest) from the richest to the poorest
venue, rounded down to the asset's step; it is dropped when smaller than `min_amount` or not
worth its withdrawal fee. Ties are broken by venue name, so a plan is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from shared.rebalance.config import AssetTransfer

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Plan:
    plan_id: str
    asset: str
    from_venue: str
    to_venue: str
    amount: Decimal           # leaves the sending venue
    fee: Decimal              # withdrawal fee, in the asset
    fee_usd: Decimal          # the fee at the current mark
    transfer_minutes: int
    drift_pct: Decimal        # the larger of the two venues' drifts
    created_at: datetime

    @property
    def received(self) -> Decimal:
        return self.amount - self.fee

    @property
    def arrives_at(self) -> datetime:
        return self.created_at + timedelta(minutes=self.transfer_minutes)

    def to_doc(self) -> dict:
        doc = {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}
        doc.update(created_at=self.created_at.isoformat(), arrives_at=self.arrives_at.isoformat(),
                   received=str(self.received))
        return doc


def drifts(holdings: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Each venue's drift from the cross-venue mean, in percent of the mean."""
    if not holdings:
        return {}
    mean = sum(holdings.values(), Decimal(0)) / len(holdings)
    if mean <= 0:
        return {v: Decimal(0) for v in holdings}
    return {v: (h - mean) / mean * HUNDRED for v, h in holdings.items()}


def plan_asset(asset: str, holdings: Mapping[str, Decimal], cfg: AssetTransfer, threshold_pct: float,
               mark_usd: Decimal, now: datetime) -> Plan | None:
    if len(holdings) < 2:
        return None
    mean = sum(holdings.values(), Decimal(0)) / len(holdings)
    if mean <= 0:
        return None
    venues = sorted(holdings)
    rich = max(venues, key=lambda v: holdings[v])   # first of equals, by name
    poor = min(venues, key=lambda v: holdings[v])
    drift = max(holdings[rich] - mean, mean - holdings[poor]) / mean * HUNDRED
    if drift <= Decimal(str(threshold_pct)):
        return None
    amount = min(holdings[rich] - mean, mean - holdings[poor]).quantize(cfg.step, rounding=ROUND_DOWN)
    if amount < cfg.min_amount or amount <= cfg.withdrawal_fee:
        return None
    return Plan(
        plan_id=f"rb-{asset}-{now:%Y%m%d%H%M}", asset=asset, from_venue=rich, to_venue=poor,
        amount=amount, fee=cfg.withdrawal_fee, fee_usd=cfg.withdrawal_fee * mark_usd,
        transfer_minutes=cfg.transfer_minutes, drift_pct=drift.quantize(Decimal("0.01")), created_at=now)
