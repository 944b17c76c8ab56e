"""Rebalance plans from inventory drift (pure: balances in, a plan or a reason out).

For one asset held on n venues, the mean holding is m = sum/n and a venue's drift is
(holding - m) / m. Only when the richest or the poorest venue drifts BEYOND `threshold_pct`
(strictly more) is a transfer from the richest to the poorest venue considered. Ties are
broken by venue name, so a plan is deterministic. Whether it is worth its fee, and how much
it moves, is `shared.rebalance.value`'s decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from shared.rebalance.config import AssetTransfer

HUNDRED = Decimal(100)
ZERO = Decimal(0)


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
    value_usd: Decimal = ZERO   # expected capture the transfer enables over the horizon, net of
    why: str = ""               # what the sending venue loses; and how that was worked out

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


@dataclass(frozen=True)
class Drift:
    rich: str
    poor: str
    mean: Decimal
    pct: Decimal              # the larger of the two venues' drifts, percent of the mean


def drifts(holdings: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Each venue's drift from the cross-venue mean, in percent of the mean."""
    if not holdings:
        return {}
    mean = sum(holdings.values(), Decimal(0)) / len(holdings)
    if mean <= 0:
        return {v: Decimal(0) for v in holdings}
    return {v: (h - mean) / mean * HUNDRED for v, h in holdings.items()}


def find_drift(holdings: Mapping[str, Decimal], threshold_pct: float) -> Drift | None:
    """The richest and poorest venue when one of them drifted beyond the threshold."""
    if len(holdings) < 2:
        return None
    mean = sum(holdings.values(), Decimal(0)) / len(holdings)
    if mean <= 0:
        return None
    venues = sorted(holdings)
    rich = max(venues, key=lambda v: holdings[v])   # first of equals, by name
    poor = min(venues, key=lambda v: holdings[v])
    pct = max(holdings[rich] - mean, mean - holdings[poor]) / mean * HUNDRED
    if pct <= Decimal(str(threshold_pct)):
        return None
    return Drift(rich, poor, mean, pct)


def amortised_minimum(cfg: AssetTransfer, max_fee_pct: Decimal) -> Decimal:
    """The smallest amount worth a transfer: `min_amount`, and large enough that the fee is
    at most `max_fee_pct` % of it (rounded up to the step)."""
    by_fee = (cfg.withdrawal_fee * HUNDRED / max_fee_pct).quantize(cfg.step, rounding=ROUND_UP)
    return max(cfg.min_amount, by_fee)


def size(drift: Drift, holdings: Mapping[str, Decimal], cfg: AssetTransfer, max_fee_pct: Decimal,
         want: Decimal) -> tuple[Decimal, str]:
    """How much to move: what the receiving venue is wanted to get (`want`, fee included),
    at least the amortised minimum, at most what the richest venue holds above the mean
    (more would make it the poor one). (0, reason) when even that is too small."""
    spare = holdings[drift.rich] - drift.mean
    floor = amortised_minimum(cfg, max_fee_pct)
    amount = min(spare, max(want, floor)).quantize(cfg.step, rounding=ROUND_DOWN)
    if amount < floor or amount <= cfg.withdrawal_fee:
        return ZERO, (f"{drift.rich} can spare {spare.quantize(cfg.step, rounding=ROUND_DOWN)}, "
                      f"less than {floor} (min amount; fee <= {max_fee_pct}% of the amount)")
    return amount, ""
