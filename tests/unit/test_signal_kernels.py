"""The replay's compiled kernels (shared/strategies/kernels.py) give the numpy path's floats,
bit for bit: numpy's pairwise summation order, the regime's measures, the window moments,
Wilder's RSI and every shipped strategy's one-bar vote, over random and degenerate windows.
Each comparison also proves the kernel answered (a kernel that always declined would fall
back to numpy and make the equality empty)."""

import math
from pathlib import Path

import numpy as np
import pytest

from shared.signals import regime
from shared.strategies import PLUGINS, BarArrays, kernels, load_strategies
from shared.strategies.indicators_last import _filter_blocks, rsi_last, window_moments_last
from shared.strategies.mean_reversion import _MIN_REL_STD

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [(s.plugin, s.values()) for s in load_strategies(ROOT / "config" / "strategies")]


@pytest.fixture
def compiled():
    kern = kernels._compiled()
    if kern is None:
        pytest.skip("numba is not importable")
    was = kernels._ON
    yield kern
    kernels._ON = was


def both(fn, *args):
    """fn(*args) on the numpy path and with the kernels on."""
    kernels._ON = False
    slow = fn(*args)
    kernels._ON = True
    try:
        return slow, fn(*args)
    finally:
        kernels._ON = False


def same(a, b) -> bool:
    """Equal floats, NaN equal to NaN, and the same sign of zero."""
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b


def windows(seed: int, n: int = 240):
    """A 1-minute-like walk with volatility bursts, a tick-sized series with flat stretches,
    a jumpy one and prices of very different magnitudes."""
    rng = np.random.default_rng(seed)
    kind = seed % 4
    if kind == 0:
        vol = 0.0008 * np.where(rng.random(n) < 0.05, 6.0, 1.0)
        close = 30_000 * np.exp(np.cumsum(rng.normal(0, vol)))
    elif kind == 1:
        close = 0.05 + 0.00001 * np.cumsum(rng.integers(-1, 2, n) * (rng.random(n) < 0.3))
    elif kind == 2:
        close = 100.0 * np.exp(np.cumsum(np.where(rng.random(n) < 0.02, rng.normal(0, 0.05, n), 0.0)))
    else:
        close = 10.0 ** rng.uniform(-6, 6) * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    spread = np.abs(rng.normal(0, 0.0005, n)) * close
    return BarArrays(close, close + spread, close - spread * rng.random(n), close, rng.random(n) * 10)


def test_pairwise_sum_is_numpys_add_reduce_order(compiled):
    rng = np.random.default_rng(3)
    differ_from_sequential = 0
    for _ in range(3000):
        n = int(rng.integers(0, 129))
        a = rng.normal(0, 1, n) * 10.0 ** rng.integers(-8, 8, n)
        lo = int(rng.integers(0, 5))
        padded = np.concatenate([rng.normal(size=lo), a])
        expected = float(np.add.reduce(a))
        assert kernels.pairwise_sum(padded, lo, n) == expected
        differ_from_sequential += sum(a.tolist()) != expected
    assert differ_from_sequential > 100  # the order matters on these sums: the test can tell
    assert math.isnan(kernels.pairwise_sum(np.ones(200), 0, 129))  # numpy halves longer runs: declined


def test_regime_measures_equal_the_numpy_path(compiled):
    answered = 0
    for seed in range(160):
        bars = windows(seed, 60 + seed % 200)
        slow, fast = both(regime.read, bars)
        assert same(tuple(slow.__dict__.values()), tuple(fast.__dict__.values())), (seed, slow, fast)
        answered += compiled.regime_measures(bars.high, bars.low, bars.close, 14, 120, 5)[0]
    assert answered == 160
    labels = {regime.read(windows(s)).label for s in range(160)}
    assert labels == {regime.TREND, regime.RANGE, regime.HIGH_VOL}  # every branch was compared


@pytest.mark.parametrize("n", [2, 5, 10, 20, 50, 120, 200, 240])
def test_window_moments_equal_the_numpy_path(compiled, n):
    for seed in range(40):
        x = windows(seed, 240 if seed % 3 else 700).close
        for end in (n, n + 1, len(x) // 2, len(x) - 1, len(x)):
            if end < n:
                continue
            slow, fast = both(window_moments_last, x[:end], n)
            assert same(slow, fast), (n, seed, end, slow, fast)
            block = max(2 * n, 256)
            assert compiled.moments_last(np.ascontiguousarray(x[:end]), n, block)[0]


@pytest.mark.parametrize("n", [2, 3, 7, 14, 30, 60, 120])
def test_rsi_equals_the_numpy_path(compiled, n):
    for seed in range(40):
        close = windows(seed, 240).close
        for end in (n + 1, n + 2, 100, 239, 240):
            if end <= n:
                continue
            slow, fast = both(rsi_last, close[:end], n)
            assert same(slow, fast), (n, seed, end, slow, fast)
            blocks = _filter_blocks(1.0 / n, n - 1, end - 1)
            grow = blocks[0][2] if blocks else np.empty(0)
            assert compiled.rsi_filtered(np.ascontiguousarray(close[:end]), n, 1.0 / n, grow)[0]


def test_degenerate_windows_fall_back_to_the_same_answer(compiled):
    base = windows(0)
    flat = BarArrays.from_close(np.full(240, 2500.0))
    nan = base.close.copy()
    nan[100] = np.nan
    inf = base.close.copy()
    inf[-1] = np.inf
    huge = np.full(240, 1e308)
    huge[::2] = -1e308
    for close in (flat.close, nan, inf, huge):
        bars = BarArrays(close, close, close, close, np.ones(240))
        for fn, args in ((regime.read, (bars,)), (rsi_last, (close, 14)), (window_moments_last, (close, 20))):
            slow, fast = both(fn, *args)
            slow = tuple(slow.__dict__.values()) if isinstance(slow, regime.RegimeReading) else slow
            fast = tuple(fast.__dict__.values()) if isinstance(fast, regime.RegimeReading) else fast
            assert same(slow, fast), (fn.__name__, slow, fast)
    assert not compiled.rsi_filtered(nan, 14, 1 / 14, _filter_blocks(1 / 14, 13, 239)[0][2])[0]
    assert not compiled.regime_measures(inf, inf, inf, 14, 120, 5)[0]


@pytest.mark.parametrize(("lookback", "buffer"), [(1, 0.0), (5, 0.0), (30, 0.0004), (120, 0.0004), (239, 0.01)])
def test_breakout_channel_equals_the_numpy_path(compiled, lookback, buffer):
    impl, params = PLUGINS["breakout"], {"lookback": float(lookback), "buffer": buffer}
    voted = 0
    for seed in range(80):
        bars = windows(seed)
        for end in range(lookback + 1, 241, 7):
            window = bars[:end]
            slow, fast = both(impl.latest, window, params)
            assert slow == fast, (lookback, buffer, seed, end, slow, fast)
            assert compiled.breakout_last(window.high, window.low, window.close, lookback, buffer)[0]
            voted += slow[0] != 0
    assert voted > 0 or buffer >= 0.01  # a 1 % buffer on a 239-bar channel: no break in these walks
    flat = BarArrays.from_close(np.full(240, 7.0))
    assert both(impl.latest, flat, params)[0] == both(impl.latest, flat, params)[1]
    zero = BarArrays.from_close(np.zeros(240))
    assert not compiled.breakout_last(zero.high, zero.low, zero.close, lookback, buffer)[0]


@pytest.mark.parametrize(("plugin", "params"), [
    ("momentum", {"lookback": 1.0, "threshold": 0.0005}), ("momentum", {"lookback": 120.0, "threshold": 0.007}),
    ("momentum", {"lookback": 239.0, "threshold": 0.05}), ("mean_reversion", {"window": 2.0, "entry": 0.5}),
    ("mean_reversion", {"window": 30.0, "entry": 2.2}), ("mean_reversion", {"window": 240.0, "entry": 1.5})])
def test_momentum_and_mean_reversion_equal_the_numpy_path(compiled, plugin, params):
    impl = PLUGINS[plugin]
    voted = answered = 0
    for seed in range(80):
        bars = windows(seed, 240 if seed % 5 else 600)
        for end in range(impl.warmup(params) + 1, len(bars) + 1, 11):
            window = bars[:end]
            slow, fast = both(impl.latest, window, params)
            assert slow == fast, (plugin, params, seed, end, slow, fast)
            voted += slow[0] != 0
            if plugin == "momentum":
                answered += compiled.momentum_last(window.close, int(params["lookback"]), params["threshold"])[0]
            else:
                n = int(params["window"])
                answered += compiled.mean_reversion_last(window.close, n, max(2 * n, 256), params["entry"], _MIN_REL_STD)[0]
    assert voted > 0 and answered > 500


def test_every_shipped_vote_is_the_same_with_the_kernels(compiled):
    compared = voted = 0
    for plugin, params in SHIPPED:
        impl = PLUGINS[plugin]
        for seed in range(60):
            bars = windows(seed)
            for end in (200, 221, 240):
                slow, fast = both(impl.latest, bars[:end], params)
                assert slow == fast, (plugin, seed, end, slow, fast)
                compared += 1
                voted += slow[0] != 0
    assert compared == len(SHIPPED) * 180 and voted > 50


def test_off_unless_enabled_and_tw_numba_keeps_it_off(compiled, monkeypatch):
    kernels._ON = False
    assert kernels.active() is None
    monkeypatch.setenv("TW_NUMBA", "0")
    assert kernels.enable() is False and kernels.active() is None
    monkeypatch.setenv("TW_NUMBA", "1")
    assert kernels.enable() is True and kernels.active() is compiled


@pytest.mark.parametrize(("er_bars", "er_step"), [(0, 5), (120, -5), (-3, 1), (7, 0)])
def test_regime_settings_the_kernel_does_not_cover_get_numpys_answer(compiled, er_bars, er_step):
    """er_bars 0 slices the whole window (close[-0:]), a negative step walks it the other way,
    a step of 0 is numpy's ValueError: the kernel declines them all, so the answer (or the
    error) is the numpy path's."""
    bars = windows(5)
    t = regime.RegimeThresholds(er_bars=er_bars, er_step=er_step)
    assert not compiled.regime_measures(bars.high, bars.low, bars.close, t.atr_period, er_bars, er_step)[0]
    if er_step == 0:
        for on in (False, True):
            kernels._ON = on
            with pytest.raises(ValueError):
                regime.read(bars, t)
        kernels._ON = False
        return
    slow, fast = both(regime.read, bars, t)
    assert slow.label is not None and same(tuple(slow.__dict__.values()), tuple(fast.__dict__.values()))
    # worked by hand for er_bars 0: the whole window, sampled every step from the last
    if er_bars == 0:
        pts = bars.close[::-1][::er_step][::-1]
        assert slow.efficiency == abs(pts[-1] - pts[0]) / np.abs(np.diff(pts)).sum()


def test_a_window_without_a_finite_atr_has_no_regime(compiled):
    """A NaN in the first bars poisons Wilder's ATR from its seed on: no regime (it used to
    raise IndexError), on both paths."""
    close = windows(2).close.copy()
    close[3] = np.nan
    bars = BarArrays(close, close, close, close, np.ones(240))
    for on in (False, True):
        kernels._ON = on
        reading = regime.read(bars)
        assert reading.label is None and reading.efficiency == 0.0
    kernels._ON = False
