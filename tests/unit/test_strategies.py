"""Strategy plugins: expected sides on crafted series, warm-up, confidence, live path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from shared.contracts import Bar, Side
from shared.strategies import PLUGINS, BarArrays, VoteSeries, get_plugin, history_bars, latest_vote

pytestmark = pytest.mark.timeout(30)

MOMENTUM = {"lookback": 10, "threshold": 0.004}
MEANREV = {"window": 20, "entry": 2.0}
BREAKOUT = {"lookback": 20, "buffer": 0.0}
RSI = {"period": 14, "oversold": 30, "overbought": 70}


def wiggle(n: int, base: float = 100.0, amp: float = 0.05, seed: int = 3) -> np.ndarray:
    """A quiet, range-bound series around `base`."""
    rng = np.random.default_rng(seed)
    return base + amp * np.sin(np.arange(n) / 2.0) + rng.normal(0, amp / 5, n)


def sides(plugin: str, bars: BarArrays, params) -> np.ndarray:
    return get_plugin(plugin).votes(bars, params).side


# --- momentum ---------------------------------------------------------------------------

def test_momentum_buys_an_uptrend_and_sells_a_downtrend():
    up = BarArrays.from_close(100 * 1.001 ** np.arange(60))  # +1 % per 10 bars
    down = BarArrays.from_close(100 * 0.999 ** np.arange(60))
    assert (sides("momentum", up, MOMENTUM)[10:] == 1).all()
    assert (sides("momentum", down, MOMENTUM)[10:] == -1).all()
    assert latest_vote("momentum", up, MOMENTUM)[0] is Side.BUY


def test_momentum_stays_flat_below_threshold_and_confidence_grows_with_strength():
    quiet = BarArrays.from_close(wiggle(200))
    assert (sides("momentum", quiet, MOMENTUM) == 0).all()
    _, weak = latest_vote("momentum", BarArrays.from_close(100 * 1.0005 ** np.arange(60)), MOMENTUM)
    _, strong = latest_vote("momentum", BarArrays.from_close(100 * 1.002 ** np.arange(60)), MOMENTUM)
    assert 0.5 <= weak < strong < 1.0


# --- mean reversion ---------------------------------------------------------------------

def test_mean_reversion_sells_a_spike_above_the_mean_and_buys_a_drop():
    close = wiggle(100)
    spike, drop = close.copy(), close.copy()
    spike[-1] += 1.0
    drop[-1] -= 1.0
    assert latest_vote("mean_reversion", BarArrays.from_close(spike), MEANREV)[0] is Side.SELL
    assert latest_vote("mean_reversion", BarArrays.from_close(drop), MEANREV)[0] is Side.BUY
    quiet = sides("mean_reversion", BarArrays.from_close(close), MEANREV)
    assert (quiet == 0).mean() > 0.9


def test_mean_reversion_is_flat_on_a_constant_price():
    votes = get_plugin("mean_reversion").votes(BarArrays.from_close(np.full(100, 50.0)), MEANREV)
    assert (votes.side == 0).all() and (votes.confidence == 0).all()


# --- breakout ---------------------------------------------------------------------------

def range_bars(n: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    close = wiggle(n)
    return close, close + 0.02, close - 0.02


def test_breakout_buys_a_close_above_the_prior_range_and_sells_below():
    close, high, low = range_bars()
    top, bottom = high[-21:-1].max(), low[-21:-1].min()
    up_c, down_c = close.copy(), close.copy()
    up_c[-1] = top + 0.01
    down_c[-1] = bottom - 0.01
    up = BarArrays(up_c, np.maximum(high, up_c), low, up_c, np.ones(60))
    down = BarArrays(down_c, high, np.minimum(low, down_c), down_c, np.ones(60))
    assert latest_vote("breakout", up, BREAKOUT)[0] is Side.BUY
    assert latest_vote("breakout", down, BREAKOUT)[0] is Side.SELL


def test_breakout_ignores_the_current_bar_high_and_a_close_inside_the_range():
    close, high, low = range_bars()
    high = high.copy()
    high[-1] = high.max() + 5  # the bar itself spikes, but closes inside the range
    bars = BarArrays(close, high, low, close, np.ones(60))
    assert latest_vote("breakout", bars, BREAKOUT) == (None, 0.0)
    assert (sides("breakout", BarArrays(close, close + 0.02, low, close, np.ones(60)), BREAKOUT) == 0).all()


# --- RSI --------------------------------------------------------------------------------

def test_rsi_buys_oversold_and_sells_overbought():
    rng = np.random.default_rng(5)
    falling = 100 - np.cumsum(np.abs(rng.normal(0.05, 0.02, 40)))
    rising = 100 + np.cumsum(np.abs(rng.normal(0.05, 0.02, 40)))
    assert latest_vote("rsi", BarArrays.from_close(falling), RSI)[0] is Side.BUY
    assert latest_vote("rsi", BarArrays.from_close(rising), RSI)[0] is Side.SELL
    choppy = 100 + 0.1 * (np.arange(60) % 2)
    assert (sides("rsi", BarArrays.from_close(choppy), RSI) == 0).all()


# --- common contract --------------------------------------------------------------------

def market(n: int, seed: int) -> BarArrays:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.standard_t(4, n) * 0.002))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.001, n)) * close
    return BarArrays(open_, np.maximum(open_, close) + spread, np.minimum(open_, close) - spread,
                     close, rng.lognormal(0, 0.5, n))


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_votes_are_well_formed_and_flat_during_warmup(name):
    plugin = get_plugin(name)
    bars = market(3000, seed=11)
    votes = plugin.votes(bars, plugin.defaults)
    assert isinstance(votes, VoteSeries) and len(votes) == len(bars)
    assert votes.side.dtype == np.int8 and set(np.unique(votes.side)) <= {-1, 0, 1}
    assert (votes.side != 0).any() and (votes.side == 0).any()
    assert (votes.side[: plugin.warmup(plugin.defaults)] == 0).all()
    live = votes.confidence[votes.side != 0]
    assert ((live >= 0.5) & (live <= 1.0)).all() and live.std() > 0.01  # meaningful, not constant
    assert (votes.confidence[votes.side == 0] == 0).all()


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_no_look_ahead_changing_future_bars_never_changes_past_votes(name):
    plugin = get_plugin(name)
    params = plugin.defaults
    for seed in range(8):
        bars = market(800, seed)
        base = plugin.votes(bars, params)
        cut = int(np.random.default_rng(seed).integers(1, 799))
        rng = np.random.default_rng(100 + seed)
        scale = rng.lognormal(0, 0.05, 800 - cut - 1)  # rewrite every bar after `cut`
        fields = [a.copy() for a in (bars.open, bars.high, bars.low, bars.close, bars.volume)]
        for a in fields:
            a[cut + 1:] *= scale
        changed = plugin.votes(BarArrays(*fields), params)
        prefix = plugin.votes(bars[: cut + 1], params)
        for other in (changed, prefix):
            assert np.array_equal(base.side[: cut + 1], other.side[: cut + 1])
            assert np.array_equal(base.confidence[: cut + 1], other.confidence[: cut + 1])


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_latest_vote_matches_the_vectorised_series(name):
    plugin = get_plugin(name)
    params = plugin.defaults
    bars = market(2000, seed=21)
    full = plugin.votes(bars, params)
    window = history_bars(plugin, params)
    for end in range(window, 2000, 37):
        side, conf = latest_vote(plugin, bars[end - window: end], params)
        expected = int(full.side[end - 1])
        assert (0 if side is None else side.sign) == expected
        assert conf == pytest.approx(full.confidence[end - 1], abs=1e-6)


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_latest_vote_is_none_during_warmup(name):
    plugin = get_plugin(name)
    warm = plugin.warmup(plugin.defaults)
    down = BarArrays.from_close(100 * 0.99 ** np.arange(warm))
    assert latest_vote(plugin, down, plugin.defaults) == (None, 0.0)
    assert latest_vote(plugin, down[:0], plugin.defaults) == (None, 0.0)


def test_plugin_checks_and_bad_params():
    assert get_plugin("rsi").check({"period": 14, "oversold": 80, "overbought": 70})[0][0] == "oversold"
    assert get_plugin("momentum").check({"lookback": 2.5, "threshold": 0.01})[0][0] == "lookback"
    assert get_plugin("mean_reversion").check({"window": 10, "entry": 3.5})[0][0] == "entry"
    for plugin in PLUGINS.values():
        assert plugin.check(plugin.defaults) == []
    with pytest.raises(ValueError, match="lookback"):
        get_plugin("momentum").votes(market(50, 1), {"lookback": 0, "threshold": 0.01})
    with pytest.raises(KeyError, match="known"):
        get_plugin("nope")


def test_bar_arrays_from_bar_messages_and_slicing():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    bars = [Bar(venue="binance", symbol="BTC/USDT", open_time=t0 + timedelta(minutes=i),
                open=Decimal(100), high=Decimal("102.5"), low=Decimal(99),
                close=Decimal(100 + i), volume=Decimal("2.5")) for i in range(3)]
    arrays = BarArrays.from_bars(bars)
    assert len(arrays) == 3 and arrays.close.dtype == np.float64
    assert arrays.close.tolist() == [100.0, 101.0, 102.0] and arrays.high[0] == 102.5
    assert len(arrays[-2:]) == 2 and arrays[-2:].close[0] == 101.0
    assert len(BarArrays.from_bars([])) == 0
    with pytest.raises(ValueError, match="close"):
        BarArrays(np.ones(3), np.ones(3), np.ones(3), np.ones(2), np.ones(3))
