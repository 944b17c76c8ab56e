"""Typed rebalancer config (`rebalance:` in config/risk.yaml)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AssetTransfer(_Frozen):
    """What moving one asset between venues costs and takes."""

    withdrawal_fee: Decimal = Field(ge=0)     # in the asset, charged by the sending venue
    transfer_minutes: int = Field(ge=0)       # until the receiving venue credits it
    min_amount: Decimal = Field(gt=0)         # smaller drifts are not worth a transfer
    step: Decimal = Decimal("0.00000001")     # amounts are rounded down to this


class RebalanceConfig(_Frozen):
    # A venue's holding may differ from the cross-venue mean by this share of the mean.
    threshold_pct: float = Field(default=30.0, gt=0)
    # The arbitrage capture of the last `horizon_hours` is the evidence of what inventory is
    # worth; the next horizon is assumed to repeat it.
    horizon_hours: float = Field(default=24.0, gt=0)
    # A transfer goes only when its expected value is at least this multiple of its fee (k).
    value_to_fee: Decimal = Field(default=Decimal(2), gt=1)
    # Transfers are sized so that the fee is at most this share of the amount moved.
    max_fee_pct: Decimal = Field(default=Decimal(1), gt=0, le=100)
    assets: dict[str, AssetTransfer] = {}
