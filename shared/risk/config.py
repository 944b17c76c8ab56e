"""Typed risk configuration (`config/risk.yaml`), validated once at start-up."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.config.loader import load_yaml_model


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TradingWindow(_Frozen):
    start: time = time(0, 0)
    end: time = time(23, 59)

    def contains(self, moment: time) -> bool:
        moment = moment.replace(second=0, microsecond=0, tzinfo=None)
        if self.start <= self.end:
            return self.start <= moment <= self.end
        return moment >= self.start or moment <= self.end  # window across midnight


class Limits(_Frozen):
    max_order_usd: Decimal = Field(gt=0)
    max_position_usd: Decimal = Field(gt=0)
    max_gross_exposure_usd: Decimal = Field(gt=0)
    max_venue_exposure_usd: Decimal = Field(gt=0)
    max_open_orders: int = Field(ge=1)
    min_confidence: float = Field(ge=0, le=1)
    trading_window: TradingWindow = TradingWindow()
    max_daily_loss_pct: float = Field(gt=0, le=100)


class Sizing(_Frozen):
    base_order_usd: Decimal = Field(gt=0)
    kelly_fraction: float = Field(gt=0, le=1)
    kelly_min_trades: int = Field(ge=0)
    kelly_cap: float = Field(gt=0)
    high_drawdown_pct: float = Field(gt=0)
    high_drawdown_clip: float = Field(gt=0, le=1)


class Panic(_Frozen):
    max_daily_loss_pct: float = Field(gt=0)
    max_avg_latency_ms: float = Field(gt=0)
    latency_window: int = Field(ge=1)
    min_win_rate: float = Field(ge=0, le=1)
    win_rate_window: int = Field(ge=1)
    win_rate_min_trades: int = Field(ge=1)

    @model_validator(mode="after")
    def _window(self) -> Panic:
        if self.win_rate_min_trades > self.win_rate_window:
            raise ValueError("win_rate_min_trades cannot exceed win_rate_window")
        return self


class Portfolio(_Frozen):
    quote: str = "USDT"
    start_balances: dict[str, Decimal]


class RiskConfig(_Frozen):
    limits: Limits
    sizing: Sizing
    panic: Panic
    portfolio: Portfolio


def load_risk_config(path: str | Path = "config/risk.yaml") -> RiskConfig:
    return load_yaml_model(path, RiskConfig)
