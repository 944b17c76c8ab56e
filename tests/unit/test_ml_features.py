"""Features from multi-venue bars: values, alignment, warm-up, and no look-ahead."""

from __future__ import annotations

import numpy as np
import pytest

from shared.ml.config import FeatureSpec
from shared.ml.features import align, compute_features, latest_window, series_from_bars
from shared.ml.synthetic import generate
from tests.ml_fixtures import VENUES, bars_of, series_from_arrays

SPEC = FeatureSpec(venues=VENUES, window=8, vol_window=4, volume_window=6)


def _random_arrays(n: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, 3)), axis=0))
    volume = rng.lognormal(2, 0.5, (n, 3))
    return close, volume


def test_feature_values_match_their_definitions():
    close, volume = _random_arrays()
    f = compute_features(align(series_from_arrays(close, volume), VENUES), SPEC)
    names = SPEC.feature_names
    assert f.shape == (60, SPEC.n_features) == (60, 11)
    t = 30
    r = np.log(close[t] / close[t - 1])
    np.testing.assert_allclose(f[t, names.index("beta.log_return")], r[1])
    past_r = np.log(close[t - 3:t + 1, 0] / close[t - 4:t, 0])
    np.testing.assert_allclose(f[t, names.index("alpha.realised_vol")],
                               np.sqrt(np.mean(past_r**2)))
    lv = np.log1p(volume[:, 2])
    base = lv[t - 6:t]
    np.testing.assert_allclose(f[t, names.index("gamma.volume_z")],
                               (lv[t] - base.mean()) / base.std())
    np.testing.assert_allclose(f[t, names.index("gamma-alpha.spread")],
                               np.log(close[t, 2] / close[t, 0]))


def test_warm_up_rows_are_nan_and_the_rest_finite():
    close, volume = _random_arrays()
    f = compute_features(align(series_from_arrays(close, volume), VENUES), SPEC)
    assert np.isnan(f[: SPEC.warmup]).all()
    assert np.isfinite(f[SPEC.warmup:]).all()


def test_flat_volume_gives_zero_z_score_not_nan():
    close, volume = _random_arrays()
    volume[:] = 5.0
    f = compute_features(align(series_from_arrays(close, volume), VENUES), SPEC)
    assert (f[SPEC.warmup:, SPEC.feature_names.index("alpha.volume_z")] == 0).all()


def test_features_never_look_ahead():
    """Row t is the same whether or not later bars exist."""
    close, volume = _random_arrays(80)
    full = compute_features(align(series_from_arrays(close, volume), VENUES), SPEC)
    cut = compute_features(align(series_from_arrays(close[:50], volume[:50]), VENUES), SPEC)
    np.testing.assert_array_equal(full[:50], cut)


def test_bars_are_grouped_by_venue_and_aligned_on_common_times():
    series = generate(40, VENUES, seed=1)
    bars = bars_of(series)
    dropped = bars[45]  # one beta bar missing: that minute leaves every venue
    assert dropped.venue == "beta"
    grouped = series_from_bars([b for b in bars if b is not dropped] + bars_of(
        generate(40, ("alpha",), seed=2), symbol="ETH/USDT"), symbol="BTC/USDT")
    assert set(grouped) == set(VENUES)
    aligned = align(grouped, VENUES)
    assert len(aligned.times) == 39
    assert int(dropped.open_time.timestamp()) not in aligned.times
    np.testing.assert_allclose(aligned.close[:, 0], np.round(series["alpha"].close, 2)[
        series["alpha"].times != int(dropped.open_time.timestamp())])


def test_missing_venue_is_a_clear_error():
    series = generate(40, VENUES[:2], seed=1)
    with pytest.raises(ValueError, match="gamma"):
        align(series, VENUES)


def test_latest_window_is_the_tail_of_the_full_feature_matrix():
    close, volume = _random_arrays(70)
    series = series_from_arrays(close, volume)
    full = compute_features(align(series, VENUES), SPEC)
    w = latest_window(series, SPEC)
    assert w.shape == (SPEC.window, SPEC.n_features)
    np.testing.assert_allclose(w, full[-SPEC.window:])
    short = series_from_arrays(close[:10], volume[:10])
    with pytest.raises(ValueError, match="need 14 aligned bars"):
        latest_window(short, SPEC)
