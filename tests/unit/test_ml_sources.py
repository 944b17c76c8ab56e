"""Training data sources: stored Parquet bars and the generator (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shared.errors import ConfigError
from shared.ml.config import FeatureSpec
from shared.ml.sources import load_series
from shared.ml.synthetic import generate
from tests.ml_fixtures import VENUES, bars_of

SPEC = FeatureSpec(symbol="BTC/USDT", venues=VENUES, window=8, vol_window=4, volume_window=6)


def _write_bars(directory, bars) -> None:
    table = pa.table({
        "venue": [b.venue for b in bars],
        "symbol": [b.symbol for b in bars],
        "timeframe": [b.timeframe for b in bars],
        "open_time": pa.array([b.open_time for b in bars], pa.timestamp("us", tz="UTC")),
        "close": pa.array([b.close for b in bars], pa.decimal128(18, 2)),
        "volume": pa.array([float(b.volume) for b in bars]),
    })
    pq.write_table(table, directory / "bars.parquet")


def test_parquet_bars_load_per_venue_for_the_last_days(tmp_path):
    series = generate(3 * 1440, VENUES, seed=4)
    bars = bars_of(series) + bars_of(generate(100, ("alpha",), seed=5), symbol="ETH/USDT")
    _write_bars(tmp_path, bars + bars[:50])  # duplicates are dropped
    loaded = load_series(str(tmp_path), days=1, seed=0, spec=SPEC)
    assert set(loaded) == set(VENUES)
    alpha = loaded["alpha"]
    assert len(alpha.times) == 1440
    assert alpha.times[-1] == series["alpha"].times[-1]
    np.testing.assert_allclose(alpha.close, np.round(series["alpha"].close[-1440:], 2))


def test_parquet_without_the_needed_columns_or_symbol_is_a_config_error(tmp_path):
    pq.write_table(pa.table({"venue": ["a"], "close": [1.0]}), tmp_path / "x.parquet")
    with pytest.raises(ConfigError, match="lack columns"):
        load_series(str(tmp_path), 1, 0, SPEC)
    with pytest.raises(ConfigError, match="not 'sim'"):
        load_series(str(tmp_path / "missing"), 1, 0, SPEC)


def test_synthetic_source_and_bad_names():
    s = load_series("synthetic:random_walk", days=0.5, seed=1, spec=SPEC)
    assert set(s) == set(VENUES) and len(s["alpha"].times) == 720
    with pytest.raises(ConfigError, match="structure"):
        load_series("synthetic:chaos", 1, 1, SPEC)
    with pytest.raises(ConfigError, match="positive"):
        load_series("synthetic", 0, 1, SPEC)
