"""Typed risk configuration (`config/risk.yaml`), validated once at start-up."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.config.loader import load_yaml_model
from shared.rebalance.config import RebalanceConfig
from shared.sweep.config import SweepConfig


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
    latency_min_samples: int | None = Field(default=None, ge=1)  # None: a full window
    min_win_rate: float = Field(ge=0, le=1)
    win_rate_window: int = Field(ge=1)
    win_rate_min_trades: int = Field(ge=1)

    @model_validator(mode="after")
    def _window(self) -> Panic:
        if self.win_rate_min_trades > self.win_rate_window:
            raise ValueError("win_rate_min_trades cannot exceed win_rate_window")
        if self.latency_min_samples and self.latency_min_samples > self.latency_window:
            raise ValueError("latency_min_samples cannot exceed latency_window")
        return self

    @property
    def latency_samples(self) -> int:
        return self.latency_min_samples or self.latency_window


class Portfolio(_Frozen):
    quote: str = "USDT"
    start_balances: dict[str, Decimal]


class OptimizerTriggers(_Frozen):
    """Loss triggers per strategy (from its closed trades) → an OptimizerRequest."""

    max_drawdown_pct: float = Field(default=1.0, gt=0)  # of the day's start equity
    consecutive_losers: int = Field(default=3, ge=1)
    sharpe_floor: float = 0.0           # per-trade Sharpe (mean/stdev of net trade PnL)
    sharpe_window: int = Field(default=20, ge=2)
    sharpe_min_trades: int = Field(default=10, ge=2)
    cooldown_minutes: int = Field(default=360, ge=0)
    window_days: float = Field(default=7, gt=0)     # history the optimizer is asked to search

    @model_validator(mode="after")
    def _sharpe(self) -> OptimizerTriggers:
        if self.sharpe_min_trades > self.sharpe_window:
            raise ValueError("sharpe_min_trades cannot exceed sharpe_window")
        return self


class RiskConfig(_Frozen):
    limits: Limits
    sizing: Sizing
    panic: Panic
    portfolio: Portfolio
    optimizer_triggers: OptimizerTriggers = OptimizerTriggers()
    rebalance: RebalanceConfig = RebalanceConfig()
    sweep: SweepConfig = SweepConfig()


def load_risk_config(path: str | Path = "config/risk.yaml") -> RiskConfig:
    return load_yaml_model(path, RiskConfig)
