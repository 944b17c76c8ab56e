"""Typed optimizer configuration (`config/optimizer.yaml`), validated once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.backtest.config import Slippage
from shared.config.loader import load_yaml_model
from shared.optimize.objective import Objective

DEFAULT_PATH = "config/optimizer.yaml"
_REPO_ROOT = Path(__file__).resolve().parents[2]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HistoryConfig(_Frozen):
    """Where the window's bars come from: `parquet` (ParquetBarHistory under `root`),
    `simulator` (MarketSimulator, seeded), or `auto` (Parquet when it covers at least
    `min_coverage` of the window, else the simulator)."""

    source: Literal["auto", "parquet", "simulator"] = "auto"
    root: str = "data/history"
    min_coverage: float = Field(default=0.9, gt=0, le=1)
    simulator_seed: int = 7
    simulator_update_s: float = Field(default=60.0, gt=0)


class SearchConfig(_Frozen):
    method: Literal["grid", "random", "bayesian"] = "bayesian"
    trials_per_fold: int = Field(default=60, ge=1, le=10_000)
    min_trials_per_fold: int = Field(default=8, ge=1)
    grid_points: int = Field(default=100, ge=1, le=100_000)
    seed: int = 42
    max_workers: int = Field(default=4, ge=1, le=64)  # bounded by the cores available


class WalkForwardConfig(_Frozen):
    folds: int = Field(default=4, ge=1, le=50)
    in_sample_ratio: float = Field(default=3.0, gt=0)
    min_out_of_sample_bars: int = Field(default=300, ge=10)


class GuardsConfig(_Frozen):
    min_trades: int = Field(default=10, ge=0)  # per in-sample backtest
    min_oos_trades: int = Field(default=5, ge=0)  # over all out-of-sample stretches
    collapse_ratio: float = Field(default=0.25, ge=0, le=1)
    min_improvement: float = Field(default=0.1, ge=0)  # objective units, out-of-sample


class BacktestSettings(_Frozen):
    fee_bps: float | None = Field(default=None, ge=0)  # None: the venue's taker fee
    slippage: Slippage = Slippage()
    sizing: Literal["live", "all_in"] = "live"
    initial_cash_usd: float = Field(default=20_000.0, gt=0)
    min_confidence: float = Field(default=0.0, ge=0, le=1)


class BudgetConfig(_Frozen):
    seconds: float = Field(default=540.0, gt=0)  # Cloud Functions event timeout
    safety: float = Field(default=0.7, gt=0, le=1)  # plan to use at most this share
    probe_bars: int = Field(default=20_000, ge=100)


class OptimizerConfig(_Frozen):
    cooldown_hours: float = Field(default=6.0, ge=0)
    venue: str = "binance"
    symbols: Literal["first", "all"] = "all"
    objective: Objective = "sharpe"
    auto_apply: bool = False  # and then only inside every param's safe_min..safe_max
    history: HistoryConfig = HistoryConfig()
    search: SearchConfig = SearchConfig()
    walk_forward: WalkForwardConfig = WalkForwardConfig()
    guards: GuardsConfig = GuardsConfig()
    backtest: BacktestSettings = BacktestSettings()
    budget: BudgetConfig = BudgetConfig()


def load_optimizer_config(path: str | Path = DEFAULT_PATH) -> OptimizerConfig:
    path = Path(path)
    if not path.is_absolute() and not path.exists() and (_REPO_ROOT / path).exists():
        path = _REPO_ROOT / path
    return load_yaml_model(path, OptimizerConfig)
