"""Statistical behaviour of the market simulator: the properties strategies and the
arbitrage scanner rely on (fat tails, volatility clustering, mean-reverting venue
spreads, rare and short-lived opportunities above fees, mostly consistent triangles)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shared.config import load_market_config
from shared.market.simulator import MarketSimulator

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2024, 3, 1, tzinfo=UTC)
CONFIG = load_market_config()
FEE = {v.name: float(v.taker_fee) for v in CONFIG.venues}


def _acf(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    return float((x[:-lag] * x[lag:]).mean() / x.var())


@pytest.fixture(scope="module")
def bars():
    return MarketSimulator(CONFIG, 11, T0).advance(T0 + timedelta(days=2))


@pytest.fixture(scope="module")
def quotes():
    """Best bid/ask (float) of every venue x symbol at every 5 s update over 6 hours."""
    sim = MarketSimulator(CONFIG, 5, T0)
    steps = int(6 * 3600 / sim.step_s)
    bid = {p: np.empty(steps) for p in sim.pairs}
    ask = {p: np.empty(steps) for p in sim.pairs}
    for k in range(steps):
        sim.advance(T0 + timedelta(seconds=(k + 1) * sim.step_s))
        for venue, symbol in sim.pairs:
            top = sim.top(venue, symbol)
            bid[(venue, symbol)][k] = float(top.bid)
            ask[(venue, symbol)][k] = float(top.ask)
    return sim, bid, ask


def _returns(bars, venue: str, symbol: str) -> np.ndarray:
    closes = np.array([float(b.close) for b in bars if b.venue == venue and b.symbol == symbol])
    return np.diff(np.log(closes))


@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT"])
def test_one_minute_returns_are_fat_tailed(bars, symbol):
    r = _returns(bars, "binance", symbol)
    assert len(r) == 2 * 1440 - 1
    excess_kurtosis = ((r - r.mean()) ** 4).mean() / r.var() ** 2 - 3
    assert excess_kurtosis > 3.0


@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT"])
def test_volatility_clusters(bars, symbol):
    r = _returns(bars, "okx", symbol)
    abs_acf = [_acf(np.abs(r), lag) for lag in range(1, 6)]
    assert np.mean(abs_acf) > 0.05
    assert min(abs_acf) > 0.0
    assert abs(_acf(r, 5)) < 0.2          # but returns themselves barely predict


def test_volume_clusters_and_follows_big_moves(bars):
    rows = [b for b in bars if b.venue == "binance" and b.symbol == "BTC/USDT"]
    vol = np.log([float(b.volume) for b in rows])
    assert _acf(vol, 1) > 0.3
    moves = np.abs(np.log([float(b.close) / float(b.open) for b in rows]))
    big = moves > np.quantile(moves, 0.95)
    assert vol[big].mean() > vol[~big].mean()


def test_cross_venue_spreads_mean_revert(quotes):
    _, bid, ask = quotes
    for symbol in CONFIG.symbols:
        mid = {v: (bid[(v, symbol)] + ask[(v, symbol)]) / 2 for v in ("binance", "kraken")}
        spread = np.log(mid["binance"] / mid["kraken"])
        assert abs(spread.mean()) < 3e-4                          # no persistent premium
        assert np.abs(spread).max() < 0.02                        # bounded (< 200 bps)
        assert _acf(spread, 1) > 0.5                              # dislocations persist a little,
        assert abs(_acf(spread, 120)) < 0.2                       # but are gone within 10 minutes
        half = len(spread) // 2                                   # no random-walk growth
        assert spread[half:].std() < 2.5 * spread[:half].std()


def _runs(flags: np.ndarray) -> np.ndarray:
    edges = np.diff(np.concatenate([[0], flags.astype(int), [0]]))
    return np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)


def test_opportunities_above_fees_exist_but_are_rare_and_short_lived(quotes):
    sim, bid, ask = quotes
    runs, steps, hits = [], 0, 0
    for symbol in CONFIG.symbols:
        for sell, buy in itertools.permutations(sim.venues, 2):
            edge = bid[(sell, symbol)] / ask[(buy, symbol)] - 1 - FEE[sell] - FEE[buy]
            flags = edge > 0
            hits += int(flags.sum())
            steps += len(flags)
            runs.extend(_runs(flags))
    runs = np.array(runs)
    assert len(runs) >= 5                       # the scanner has something to find...
    assert hits / steps < 0.01                  # ...but rarely
    assert np.median(runs) * sim.step_s <= 30   # and most vanish within half a minute
    assert np.mean(runs * sim.step_s <= 60) > 0.8


def test_triangles_are_consistent_within_fees_most_of_the_time(quotes):
    sim, bid, ask = quotes
    inconsistent = []
    for venue in sim.venues:
        fees = 3 * FEE[venue]
        # USDT -> BTC -> ETH -> USDT and the reverse, at the touch
        forward = bid[(venue, "ETH/USDT")] / (ask[(venue, "BTC/USDT")] * ask[(venue, "ETH/BTC")]) - 1
        reverse = bid[(venue, "BTC/USDT")] * bid[(venue, "ETH/BTC")] / ask[(venue, "ETH/USDT")] - 1
        profitable = (forward > fees) | (reverse > fees)
        inconsistent.append(profitable.mean())
        mid_cross = (bid[(venue, "ETH/BTC")] + ask[(venue, "ETH/BTC")]) / 2
        implied = (bid[(venue, "ETH/USDT")] + ask[(venue, "ETH/USDT")]) / (
            bid[(venue, "BTC/USDT")] + ask[(venue, "BTC/USDT")])
        assert np.mean(np.abs(np.log(mid_cross / implied)) < fees) > 0.97
    assert max(inconsistent) < 0.02
