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
    assets: dict[str, AssetTransfer] = {}
