"""Is a transfer worth its fee? (pure: holdings, evidence and config in; a plan or a skip out)

A drift beyond the threshold only proposes a transfer from the richest venue F to the poorest
venue T. It goes ahead only when its expected value over the horizon beats k x its fee:

- A holding's value is the capture it enables: rate x min(holding, used), where `used` is the
  arbitrage notional that drew on this asset on this venue over the last horizon (done, or
  missed for lack of it) and `rate` what each USD of it earned (`shared.rebalance.evidence`).
  Inventory beyond what the flow used earns nothing more.
- The transfer's value = what T gains with `amount - fee` more, minus what F loses with
  `amount` less (all at the current mark, USD).
- Size: T's shortfall (used - holding, plus the fee), at least the amortised minimum (fee at
  most `max_fee_pct` % of the amount, and `min_amount`), at most what F holds above the mean.
- Go when value >= `value_to_fee` x fee (k > 1: the past horizon is only an estimate of the
  next one). Without evidence, no value can be shown and nothing moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shared.rebalance.config import AssetTransfer, RebalanceConfig
from shared.rebalance.evidence import CaptureEvidence
from shared.rebalance.plan import Plan, find_drift, size

ZERO = Decimal(0)
CENT = Decimal("0.01")
BPS = Decimal(10_000)


@dataclass(frozen=True)
class Skip:
    """A drift that was not worth a transfer, and why."""

    asset: str
    from_venue: str
    to_venue: str
    reason: str
    figures: dict[str, str] = field(default_factory=dict)


def decide(asset: str, holdings: Mapping[str, Decimal], acfg: AssetTransfer, cfg: RebalanceConfig,
           mark_usd: Decimal, evidence: CaptureEvidence | None, now: datetime) -> Plan | Skip | None:
    """None when no venue drifted beyond the threshold; else a Plan to carry out or a Skip."""
    drift = find_drift(holdings, cfg.threshold_pct)
    if drift is None:
        return None
    skip = lambda reason, **figures: Skip(asset, drift.rich, drift.poor, reason,
                                          {"drift_pct": f"{drift.pct:.2f}", **figures})
    if evidence is None:
        return skip("no arbitrage capture evidence: the transfer's value cannot be shown")
    if mark_usd <= 0:
        return skip("no price for the asset")
    to_use, from_use = evidence.of(drift.poor, asset), evidence.of(drift.rich, asset)
    h_to, h_from = holdings[drift.poor] * mark_usd, holdings[drift.rich] * mark_usd
    shortfall_usd = max(to_use.used_usd - h_to, ZERO)
    amount, why = size(drift, holdings, acfg, cfg.max_fee_pct, shortfall_usd / mark_usd + acfg.withdrawal_fee)
    if not amount:
        return skip(why)
    received_usd, amount_usd = (amount - acfg.withdrawal_fee) * mark_usd, amount * mark_usd
    gain = to_use.value(h_to + received_usd) - to_use.value(h_to)
    loss = from_use.value(h_from) - from_use.value(h_from - amount_usd)
    value, fee_usd = gain - loss, acfg.withdrawal_fee * mark_usd
    figures = {"amount": str(amount), "value_usd": f"{value:.2f}", "fee_usd": f"{fee_usd:.2f}",
               "gain_usd": f"{gain:.2f}", "loss_usd": f"{loss:.2f}",
               "to_used_usd": f"{to_use.used_usd:.2f}", "to_capture_bps": f"{to_use.rate * BPS:.2f}",
               "from_used_usd": f"{from_use.used_usd:.2f}", "from_capture_bps": f"{from_use.rate * BPS:.2f}"}
    if value < cfg.value_to_fee * fee_usd:
        return skip(f"expected value {value:.2f} USD < {cfg.value_to_fee} x fee {fee_usd:.2f} USD", **figures)
    explain = (f"{drift.poor} drew {to_use.used_usd:.0f} USD of {asset} in {evidence.horizon_hours:g} h at "
               f"{to_use.rate * BPS:.1f} bps; gain {gain:.2f} - loss on {drift.rich} {loss:.2f}")
    return Plan(plan_id=f"rb-{asset}-{now:%Y%m%d%H%M}", asset=asset, from_venue=drift.rich,
                to_venue=drift.poor, amount=amount, fee=acfg.withdrawal_fee, fee_usd=fee_usd,
                transfer_minutes=acfg.transfer_minutes, drift_pct=drift.pct.quantize(CENT), created_at=now,
                value_usd=value.quantize(CENT), why=explain)
