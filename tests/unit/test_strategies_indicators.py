"""Rolling indicators against straightforward loop references."""

from __future__ import annotations

import numpy as np
import pytest

from shared.strategies import indicators as ind

pytestmark = pytest.mark.timeout(30)


def series(n: int = 500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 30_000 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))


@pytest.mark.parametrize("n", [1, 2, 5, 20, 64])
def test_sma_std_max_min_match_naive_windows(n):
    x = series(3000)  # crosses several blocks of the restarted cumulative sums
    x[100:140] = x[100]  # a flat stretch: its windows must read exactly 0
    arrays = (ind.sma(x, n), ind.rolling_std(x, n), ind.rolling_max(x, n), ind.rolling_min(x, n))
    for t in range(len(x)):
        got = tuple(a[t] for a in arrays)
        if t < n - 1:
            assert all(np.isnan(g) for g in got)
            continue
        w = x[t - n + 1: t + 1]
        assert got[0] == pytest.approx(w.mean(), rel=1e-12)
        assert got[1] == pytest.approx(w.std(), rel=1e-9, abs=1e-10 * w.mean())  # absolute error: ~1e-12 of the price
        if w.max() == w.min():
            assert got[1] == 0.0
        assert got[2] == w.max() and got[3] == w.min()


def test_prior_window_excludes_the_current_value():
    x = np.array([1.0, 5.0, 2.0, 3.0, 9.0, 0.0])
    assert np.isnan(ind.rolling_max_prior(x, 2)[:2]).all()
    assert ind.rolling_max_prior(x, 2)[2:].tolist() == [5.0, 5.0, 3.0, 9.0]
    assert ind.rolling_min_prior(x, 3)[3:].tolist() == [1.0, 2.0, 2.0]


def test_rate_of_change():
    x = np.array([100.0, 101.0, 102.0, 110.0])
    roc = ind.rate_of_change(x, 2)
    assert np.isnan(roc[:2]).all() and roc[2:] == pytest.approx([0.02, 110 / 101 - 1])


@pytest.mark.parametrize("n", [3, 14, 50])
def test_ema_matches_the_recursion_over_many_blocks(n):
    x = series(20_000, seed=2)  # alpha 1/3 → blocks of ~850 bars: crosses many blocks
    for alpha in (None, 1.0 / n):
        a = 2.0 / (n + 1) if alpha is None else alpha
        ref = np.full(len(x), np.nan)
        ref[n - 1] = x[:n].mean()
        for t in range(n, len(x)):
            ref[t] = (1 - a) * ref[t - 1] + a * x[t]
        got = ind.ema(x, n, alpha)
        assert np.isnan(got[: n - 1]).all()
        np.testing.assert_allclose(got[n - 1:], ref[n - 1:], rtol=1e-10)


def test_rsi_matches_wilder_reference():
    x = series(400, seed=4)
    n = 14
    d = np.diff(x)
    g, l = np.maximum(d, 0), np.maximum(-d, 0)
    ag, al = g[:n].mean(), l[:n].mean()
    ref = [100 * ag / (ag + al)]
    for t in range(n, len(d)):
        ag = (ag * (n - 1) + g[t]) / n
        al = (al * (n - 1) + l[t]) / n
        ref.append(100 * ag / (ag + al))
    got = ind.rsi(x, n)
    assert np.isnan(got[:n]).all()
    np.testing.assert_allclose(got[n:], ref, rtol=1e-9)
    assert ind.rsi(np.arange(1.0, 30.0), n)[-1] == 100.0
    assert ind.rsi(np.full(30, 7.0), n)[-1] == 50.0


def test_windows_must_be_positive_and_short_input_is_all_nan():
    with pytest.raises(ValueError):
        ind.sma(series(10), 0)
    assert np.isnan(ind.rolling_max(series(3), 5)).all()
    assert np.isnan(ind.rsi(series(3), 5)).all()
    assert len(ind.sma(np.array([]), 3)) == 0
