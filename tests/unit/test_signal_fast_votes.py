"""The live one-bar fast paths (`latest` of every shipped plugin, `window_moments_last`,
`rsi_last`) equal the vectorised series at its last bar exactly, float for float: the signal
step votes as the backtester does."""

from pathlib import Path

import numpy as np
import pytest

from shared.contracts import Side
from shared.strategies import PLUGINS, BarArrays, latest_vote, load_strategies
from shared.strategies.indicators import _window_moments, rsi
from shared.strategies.indicators_last import rsi_last, window_moments_last

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [(s.name, s.plugin, s.values()) for s in load_strategies(ROOT / "config" / "strategies")]
EDGES = [  # the smallest and some large settings of each plugin
    ("momentum", {"lookback": 1, "threshold": 0.0005}), ("momentum", {"lookback": 240, "threshold": 0.002}),
    ("breakout", {"lookback": 1, "buffer": 0.0}), ("breakout", {"lookback": 5, "buffer": 0.0}),
    ("breakout", {"lookback": 9, "buffer": 0.001}), ("breakout", {"lookback": 200, "buffer": 0.0}),
    ("mean_reversion", {"window": 2, "entry": 0.5}), ("mean_reversion", {"window": 10, "entry": 1.5}),
    ("mean_reversion", {"window": 200, "entry": 2.0}),
    ("rsi", {"period": 2, "oversold": 30, "overbought": 70}), ("rsi", {"period": 60, "oversold": 40, "overbought": 60}),
]
CASES = [(name, plugin, params) for name, plugin, params in SHIPPED] + [(p, p, params) for p, params in EDGES]


def _series(seed: int, n: int, kind: str) -> BarArrays:
    rng = np.random.default_rng(seed)
    if kind == "walk":  # a 1-minute-like random walk with bursts of volatility
        vol = 0.0008 * np.where(rng.random(n) < 0.05, 6.0, 1.0)
        close = 30_000 * np.exp(np.cumsum(rng.normal(0, vol)))
    elif kind == "ticks":  # few distinct prices: ties, flat stretches, constant windows
        close = 0.05 + 0.00001 * np.cumsum(rng.integers(-1, 2, n) * (rng.random(n) < 0.3))
    elif kind == "jumps":  # flat, then jumps far past any band
        close = 100.0 * np.exp(np.cumsum(np.where(rng.random(n) < 0.02, rng.normal(0, 0.05, n), 0.0)))
    else:  # constant
        close = np.full(n, 2500.0)
    spread = np.abs(rng.normal(0, 0.0005, n)) * close
    return BarArrays(close, close + spread, close - spread * rng.random(n), close, rng.random(n) * 10)


def _slow(plugin, bars, params):
    series = plugin.votes(bars, params)
    return int(series.side[-1]), float(series.confidence[-1])


@pytest.mark.parametrize(("name", "plugin", "params"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_latest_equals_the_last_vote_of_the_series_exactly(name, plugin, params):
    impl = PLUGINS[plugin]
    warmup = impl.warmup(params)
    compared = voted = 0
    for seed, kind in enumerate(("walk", "walk", "ticks", "jumps", "constant")):
        bars = _series(seed, 700, kind)
        for end in range(warmup + 1, 700, 3):  # every third window end, the live length (240) included
            window = bars[max(0, end - 240): end] if seed == 0 else bars[:end]
            if len(window) <= warmup:
                continue
            fast, slow = impl.latest(window, params), _slow(impl, window, params)
            assert fast == slow, (name, kind, end, fast, slow)
            assert type(fast[0]) is int and type(fast[1]) is float
            compared += 1
            voted += fast[0] != 0
    assert compared > 500 and voted > 10  # the comparisons saw votes, not only flat bars


def test_latest_vote_uses_the_fast_path_and_keeps_its_answers():
    bars = _series(11, 240, "jumps")
    for name, plugin, params in SHIPPED:
        impl = PLUGINS[plugin]
        side, confidence = _slow(impl, bars, params)
        expected = (Side.BUY if side == 1 else Side.SELL if side == -1 else None, confidence)
        assert latest_vote(plugin, bars, params) == expected, name
    short = BarArrays.from_close(np.linspace(100, 200, 10))  # 10 bars <= lookback 10: no vote yet
    assert latest_vote("momentum", short, {"lookback": 10, "threshold": 0.001}) == (None, 0.0)


def test_the_fast_paths_refuse_the_params_votes_refuses():
    bars = _series(3, 100, "walk")
    for plugin, bad in (("momentum", {"threshold": 0.0}), ("breakout", {"buffer": 1.0}),
                        ("mean_reversion", {"entry": 0.0}), ("rsi", {"oversold": 80.0})):
        with pytest.raises(ValueError):
            PLUGINS[plugin].votes(bars, bad)
        with pytest.raises(ValueError):
            PLUGINS[plugin].latest(bars, bad)


@pytest.mark.parametrize("n", [1, 2, 14, 30, 128, 200, 240])
def test_window_moments_last_matches_every_row_layout(n):
    """Lengths around the block boundaries (block = max(2n, 256)): windows inside one row and
    windows crossing into the row before."""
    rng = np.random.default_rng(n)
    x = 40_000 + np.cumsum(rng.normal(0, 5, 1300))
    x[500:530] = x[500]  # a constant stretch
    block = max(2 * n, 256)
    ends = sorted({*range(n, 1300, 37), *(k * block + d for k in (1, 2) for d in (-1, 0, 1, n // 2, n - 2, n - 1))})
    for end in (e for e in ends if n <= e <= 1300):
        mean, ssd = _window_moments(x[:end], n)
        assert window_moments_last(x[:end], n) == (float(mean[-1]), float(ssd[-1])), end
    assert np.isnan(window_moments_last(x[: n - 1], n)[0]) if n > 1 else True


def test_rsi_last_matches_the_series_including_flat_and_one_sided_windows():
    rng = np.random.default_rng(5)
    walks = [100 + np.cumsum(rng.normal(0, 1, 400)), np.full(60, 7.0), np.linspace(1, 2, 60), np.linspace(2, 1, 60)]
    for x in walks:
        for n in (2, 14, 30):
            for end in range(n + 1, len(x) + 1, 7):
                assert rsi_last(x[:end], n) == float(rsi(x[:end], n)[-1]), (n, end)
    assert rsi_last(np.full(60, 7.0), 14) == 50.0 and rsi_last(np.linspace(1, 2, 60), 14) == 100.0
    assert np.isnan(rsi_last(np.arange(14.0), 14))  # 14 bars hold 13 changes: not enough


def test_ramp_last_is_the_vectorised_ramp_float_for_float():
    """One value's confidence is the float the array formula gives it (numpy's exp, NaN kept,
    a negative excess, -0.0 and -inf clipped to 0, +inf to a confidence of 1). On a machine
    with AVX-512 numpy's exp differs from math.exp in the last bit for some of these values,
    so there a math.exp would fail this test; elsewhere the two agree."""
    from shared.strategies.base import ramp_last

    rng = np.random.default_rng(3)
    edges = [0.0, -0.0, -1.0, -np.inf, np.inf, np.nan, 5e-324, 1e-300, 700.0, 746.0, 1e300]
    values = np.concatenate([rng.normal(0, 2, 20_000), rng.normal(0, 40, 20_000), edges])
    for scale in (1.0, 10.0, 0.0004, 3e-7):
        expected = 1.0 - 0.5 * np.exp(-np.maximum(values, 0.0) / scale)
        for value, want in zip(values.tolist(), expected.tolist()):
            got = ramp_last(value, scale)
            assert got == want or (np.isnan(got) and np.isnan(want)), (value, scale, got, want)
            assert ramp_last(np.float64(value), scale) == got or np.isnan(got)
    # float32 in: the arithmetic is float64's, as inside the float64 array
    for excess, scale in ((np.float32(0.1), 0.3), (0.1, np.float32(0.3)), (np.float32(2.5), np.float32(10.0))):
        want = (1.0 - 0.5 * np.exp(-np.maximum(np.array([excess], dtype=np.float64), 0.0)
                                   / np.float64(scale)))[0]
        assert ramp_last(excess, scale) == want and type(ramp_last(excess, scale)) is float
    assert ramp_last(0.0, 10.0) == 0.5 and ramp_last(-3.0, 10.0) == 0.5 and ramp_last(np.inf, 1.0) == 1.0
    with pytest.raises(ValueError):
        ramp_last(1.0, 0.0)
