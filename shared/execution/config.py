"""Typed executor configuration (`config/executor.yaml`), validated once at start-up."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from shared.config.loader import load_yaml_model

DEFAULT_PATH = "config/executor.yaml"
_REPO_ROOT = Path(__file__).resolve().parents[2]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ArbitrageConfig(_Frozen):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    min_edge_bps: Decimal = Field(default=Decimal(5), ge=0, le=10_000)
    min_order_usd: Decimal = Field(default=Decimal(20), gt=0)
    # the arbitrage's own notional per opportunity (quote currency), sized further by depth and
    # inventory; not the strategies' order limit (config/risk.yaml limits.max_order_usd), which
    # the pre-trade gate does not apply to arbitrage. `max_order_usd` is its former name.
    max_notional_usd: Decimal = Field(default=Decimal(5000), gt=0,
                                      validation_alias=AliasChoices("max_notional_usd", "max_order_usd"))
    max_book_age_ms: int = Field(default=3000, gt=0)
    max_slippage_bps: Decimal = Field(default=Decimal(15), gt=0, le=1000)
    hedge_max_bps: Decimal = Field(default=Decimal(50), gt=0, le=2000)
    near_miss_floor_bps: Decimal = Field(default=Decimal(0), ge=0)
    leg_timeout_s: float = Field(default=5.0, gt=0, le=60)
    workers: int = Field(default=8, ge=1, le=64)

    @model_validator(mode="after")
    def _bounds(self) -> ArbitrageConfig:
        if self.min_order_usd > self.max_notional_usd:
            raise ValueError("min_order_usd cannot exceed max_notional_usd")
        return self


class AlgoConfig(_Frozen):
    market_max_usd: Decimal = Field(default=Decimal(500), gt=0)
    ioc_max_usd: Decimal = Field(default=Decimal(2500), gt=0)
    iceberg_max_usd: Decimal = Field(default=Decimal(10_000), gt=0)
    ioc_limit_bps: Decimal = Field(default=Decimal(10), gt=0, le=1000)
    iceberg_visible_usd: Decimal = Field(default=Decimal(1000), gt=0)
    twap_slices: int = Field(default=5, ge=2, le=100)
    twap_interval_s: float = Field(default=12, ge=0, le=3600)

    @model_validator(mode="after")
    def _ordered(self) -> AlgoConfig:
        if not self.market_max_usd <= self.ioc_max_usd <= self.iceberg_max_usd:
            raise ValueError("need market_max_usd <= ioc_max_usd <= iceberg_max_usd")
        return self


class BreakerConfig(_Frozen):
    failure_threshold: int = Field(default=5, ge=1)
    open_seconds: float = Field(default=60, gt=0)
    half_open_successes: int = Field(default=3, ge=1)


class RoutingConfig(_Frozen):
    max_reject_ratio: float = Field(default=0.02, ge=0, le=1)
    window: int = Field(default=200, ge=1)
    min_samples: int = Field(default=20, ge=1)
    window_s: float = Field(default=600, gt=0)    # answers older than this stop counting
    cooldown_s: float = Field(default=60, gt=0)   # a shunned venue is probed again after this


class PretradeConfig(_Frozen):
    refresh_seconds: float = Field(default=5, gt=0)
    latency_window: int = Field(default=50, ge=1)


class ExecutorConfig(_Frozen):
    arbitrage: ArbitrageConfig = ArbitrageConfig()
    algos: AlgoConfig = AlgoConfig()
    breaker: BreakerConfig = BreakerConfig()
    routing: RoutingConfig = RoutingConfig()
    pretrade: PretradeConfig = PretradeConfig()


def load_executor_config(path: str | Path = DEFAULT_PATH) -> ExecutorConfig:
    path = Path(path)
    if not path.is_absolute() and not path.exists() and (_REPO_ROOT / path).exists():
        path = _REPO_ROOT / path
    return load_yaml_model(path, ExecutorConfig)
