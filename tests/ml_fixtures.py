"""Helpers of the ML tests: small bar series, a fast config, a tiny trained artifact."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

from shared.contracts import Bar
from shared.ml.config import FeatureSpec, MlConfig, ModelSpec, SplitSpec, TargetSpec
from shared.ml.features import VenueSeries

VENUES = ("alpha", "beta", "gamma")
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def fast_config(max_epochs: int = 8, target: str = "long_beats_fees", units: int = 16) -> MlConfig:
    """Small enough that TF trains in a few seconds on 2 cores."""
    return MlConfig(
        features=FeatureSpec(symbol="BTC/USDT", venues=VENUES, window=16, vol_window=8,
                             volume_window=16),
        target=TargetSpec(kind=target, horizon=5, round_trip_fee_bps=20),
        split=SplitSpec(train=0.6, val=0.2),
        model=ModelSpec(units=units, dropout=0.0, learning_rate=0.005, batch_size=128,
                        max_epochs=max_epochs, patience=3, seed=11),
    )


def bars_of(series: dict[str, VenueSeries], symbol: str = "BTC/USDT") -> list[Bar]:
    """Contract Bars from arrays (open = previous close, high/low around them)."""
    bars = []
    for venue, s in series.items():
        prev = s.close[0]
        for t, close, volume in zip(s.times, s.close, s.volume, strict=True):
            o, c = Decimal(f"{prev:.2f}"), Decimal(f"{close:.2f}")
            bars.append(Bar(venue=venue, symbol=symbol, open_time=datetime.fromtimestamp(int(t), UTC),
                            open=o, high=max(o, c) + 1, low=min(o, c) - 1, close=c,
                            volume=Decimal(f"{volume:.4f}")))
            prev = close
    return bars


def series_from_arrays(close: np.ndarray, volume: np.ndarray, start: int = 1_735_689_600
                       ) -> dict[str, VenueSeries]:
    """close/volume [T, venues] → per-venue series on a 60 s grid."""
    times = start + 60 * np.arange(close.shape[0], dtype=np.int64)
    return {v: VenueSeries(times=times, close=close[:, j], volume=volume[:, j])
            for j, v in enumerate(VENUES[: close.shape[1]])}


def train_tiny_artifact(out: Path, days: float = 1.0, max_epochs: int = 2, seed: int = 5):
    """A quickly trained artifact (skill not required) for service tests; imports TF."""
    from shared.ml.pipeline import train_artifact
    from shared.ml.synthetic import generate

    cfg = fast_config(max_epochs=max_epochs, units=8)
    series = generate(int(days * 1440), VENUES, seed)
    return train_artifact(series, cfg, out, created_at=T0, source="synthetic", seed=seed,
                          days=days)
