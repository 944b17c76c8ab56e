"""Generated multi-venue bar series for tests, benches and offline training (numpy only).

`lead_lag`: a leading venue follows a latent fair price and the reference venue catches up
with it over a few bars, so the cross-venue spread predicts the reference's next moves (the
structure a working model must find). `random_walk`: every venue moves by a shared random
increment plus its own noise, independent of the past: nothing is predictable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from shared.ml.features import VenueSeries

Structure = Literal["lead_lag", "random_walk"]


def generate(
    n_bars: int,
    venues: Sequence[str],
    seed: int,
    structure: Structure = "lead_lag",
    sigma: float = 0.0015,
    catch_up: float = 0.25,
    start_ts: int = 1_735_689_600,  # 2025-01-01T00:00:00Z
    bar_seconds: int = 60,
    price: float = 60_000.0,
) -> dict[str, VenueSeries]:
    """Close and volume arrays per venue on a shared 1-bar grid (venue 0 is the reference)."""
    if n_bars < 2 or not venues:
        raise ValueError("need at least 2 bars and one venue")
    rng = np.random.default_rng(seed)
    n_venues = len(venues)
    log_p = np.empty((n_bars, n_venues))
    if structure == "lead_lag":
        fair = np.cumsum(rng.normal(0.0, sigma, n_bars))
        log_p[:, 1:] = fair[:, None] + rng.normal(0.0, sigma * 0.1, (n_bars, n_venues - 1))
        ref = np.empty(n_bars)
        ref[0] = fair[0]
        noise = rng.normal(0.0, sigma * 0.3, n_bars)
        for t in range(1, n_bars):
            ref[t] = ref[t - 1] + catch_up * (fair[t] - ref[t - 1]) + noise[t]
        log_p[:, 0] = ref
    elif structure == "random_walk":
        common = rng.normal(0.0, sigma, (n_bars, 1))
        own = rng.normal(0.0, sigma * 0.3, (n_bars, n_venues))
        log_p[:] = np.cumsum(common + own, axis=0)
    else:
        raise ValueError(f"unknown structure {structure!r}")
    close = price * np.exp(log_p)
    volume = rng.lognormal(mean=3.0, sigma=0.5, size=(n_bars, n_venues))
    times = start_ts + bar_seconds * np.arange(n_bars, dtype=np.int64)
    return {
        v: VenueSeries(times=times.copy(), close=close[:, j], volume=volume[:, j])
        for j, v in enumerate(venues)
    }
