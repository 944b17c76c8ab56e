"""Typed cold-sweep config (`sweep:` in config/risk.yaml)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColdWallet(_Frozen):
    address: str = Field(min_length=1)
    tag: str | None = None
    network: str | None = None


class SweepConfig(_Frozen):
    enabled: bool = True
    profit_gbp: Decimal = Field(default=Decimal(5000), gt=0)   # sweep at realised profit >= this...
    nav_pct: float = Field(default=30.0, gt=0, le=100)         # ...or >= this share of NAV
    gbp_mark: str = "GBP/USDT"            # mark used for GBP when one is known...
    gbp_mark_max_age_hours: float = Field(default=24.0, gt=0)  # ...and no older than this
    gbp_usdt_rate: Decimal = Field(default=Decimal("1.27"), gt=0)  # otherwise this rate
    asset: str = "USDT"                   # what is swept
    cold_wallet: ColdWallet | None = None
    allow_list: tuple[str, ...] = ()      # the only destinations a sweep may go to
    live_enabled: bool = False            # live withdrawals need this explicit switch
