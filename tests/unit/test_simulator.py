"""MarketSimulator behaviour: determinism, bars, books, incidents and planted crashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.config import load_market_config
from shared.errors import ExchangeUnavailable, TransientError
from shared.market.simulator import MarketSimulator

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2024, 5, 1, tzinfo=UTC)
CONFIG = load_market_config()


def sim(seed: int = 1, start: datetime = T0, **kw) -> MarketSimulator:
    return MarketSimulator(CONFIG, seed, start, **kw)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- determinism and bars ---------------------------------------------------------------
def test_same_seed_same_bars_whatever_the_steps():
    whole = sim(3).advance(at(150))
    stepped, s = [], sim(3)
    t = T0
    while t < at(150):
        t = min(t + timedelta(seconds=37), at(150))
        stepped.extend(s.advance(t))
    assert whole == stepped
    assert [b.model_dump() for b in whole[:50]] == [b.model_dump() for b in stepped[:50]]


def test_different_seed_different_market():
    a, b = sim(3).advance(at(30)), sim(4).advance(at(30))
    assert len(a) == len(b)
    assert sum(x.close != y.close for x, y in zip(a, b)) > len(a) * 0.9


def test_bars_cover_every_enabled_venue_and_symbol_each_minute_in_order():
    s = sim()
    bars = s.advance(at(10))
    assert len(s.venues) == 5 and len(s.pairs) == 15
    assert len(bars) == 10 * 15
    keys = [(b.open_time, b.venue, b.symbol) for b in bars]
    assert keys == sorted(keys)
    assert {(b.venue, b.symbol) for b in bars} == set(s.pairs)
    assert all(b.open_time.second == 0 and b.timeframe == "1m" for b in bars)
    # bars close only when their minute ends
    assert s.advance(at(10.5)) == []
    assert [b.open_time for b in s.advance(at(11))] == [at(10)] * 15


def test_bar_prices_sit_on_the_symbol_tick_and_volume_on_the_lot():
    bars = sim().advance(at(20))
    for bar in bars:
        inst = CONFIG.instruments[bar.symbol]
        for price in (bar.open, bar.high, bar.low, bar.close):
            assert price % inst.tick_size == 0
        assert bar.volume % inst.lot_size == 0
        assert bar.volume > 0 and bar.trades >= 1
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high


def test_venues_quote_the_same_market_within_bps():
    s = sim()
    s.advance(at(60))
    for symbol in CONFIG.symbols:
        mids = [s.top(v, symbol).mid for v in s.venues]
        assert (max(mids) - min(mids)) / min(mids) < Decimal("0.005")


def test_time_never_runs_backwards_and_interval_must_divide_a_minute():
    s = sim()
    s.advance(at(2))
    with pytest.raises(ValueError):
        s.advance(at(1))
    with pytest.raises(ValueError):
        sim(update_interval_s=7.0)
    fine = sim(update_interval_s=1.0)
    assert len(fine.advance(at(1))) == 15


def test_disabled_venue_is_not_simulated():
    data = CONFIG.model_dump()
    data["venues"][4]["enabled"] = False
    config = type(CONFIG).model_validate(data)
    s = MarketSimulator(config, 1, T0)
    assert "kraken" not in s.venues
    assert {b.venue for b in s.advance(at(3))} == {"binance", "okx", "bybit", "coinbase"}
    assert not s.is_up("kraken")


# -- books ------------------------------------------------------------------------------------
def test_book_has_depth_sorted_and_thinning_away_from_the_touch():
    s = sim()
    s.advance(at(5))
    for venue, symbol in s.pairs:
        book = s.book(venue, symbol)
        assert len(book.bids) >= 20 and len(book.asks) >= 20
        bids, asks = [lv.price for lv in book.bids], [lv.price for lv in book.asks]
        assert bids == sorted(bids, reverse=True) and len(set(bids)) == len(bids)
        assert asks == sorted(asks) and len(set(asks)) == len(asks)
        assert bids[0] < asks[0]
        for side in (book.bids, book.asks):
            sizes = [lv.size for lv in side]
            assert sizes == sorted(sizes, reverse=True)
            assert sizes[-1] < sizes[0]
        assert book.top() == s.top(venue, symbol)
        assert book.ts == s.top(venue, symbol).ts <= s.now


def test_books_update_every_step_and_are_reproducible():
    s, t = sim(), sim()
    s.advance(at(5))
    t.advance(at(5))
    first = s.book("okx", "BTC/USDT")
    assert first == t.book("okx", "BTC/USDT")
    assert s.book("okx", "BTC/USDT") is first                   # built once per step
    s.advance(at(5) + timedelta(seconds=5))
    assert s.book("okx", "BTC/USDT").ts == first.ts + timedelta(seconds=5)


def test_update_count_is_venues_times_symbols_times_steps():
    s = sim()
    s.updates_since_last_call()
    s.advance(at(1))
    assert s.updates_since_last_call() == 15 * 12
    assert s.updates_since_last_call() == 0


# -- incidents ------------------------------------------------------------------------------
def test_outage_silences_a_venue():
    s = sim()
    s.schedule_outage("kraken", at(10), at(20))
    s.advance(at(9))
    s.updates_since_last_call()
    assert s.is_up("kraken")
    bars = s.advance(at(15))
    assert not s.is_up("kraken") and s.is_up("binance")
    with pytest.raises(ExchangeUnavailable) as info:
        s.book("kraken", "BTC/USDT")
    assert isinstance(info.value, TransientError)
    with pytest.raises(ExchangeUnavailable):
        s.top("kraken", "ETH/USDT")
    bars += s.advance(at(30))
    kraken = [b.open_time for b in bars if b.venue == "kraken"]
    assert kraken and all(t < at(10) or t >= at(20) for t in kraken)
    assert len([b for b in bars if b.venue == "binance"]) == 21 * 3
    assert s.is_up("kraken")
    # steps (9:00, 30:00]: 252 for the 12 other pairs, 252 - 120 out for kraken's 3
    assert s.updates_since_last_call() == 252 * 12 + 132 * 3


def test_stale_book_freezes_then_recovers():
    s = sim()
    s.schedule_stale("coinbase", at(5), at(8))
    s.advance(at(5) - timedelta(seconds=1))
    before = s.top("coinbase", "BTC/USDT")
    s.updates_since_last_call()
    s.advance(at(7))
    frozen = s.top("coinbase", "BTC/USDT")
    assert frozen == before and frozen.ts < at(5)
    assert s.book("coinbase", "BTC/USDT").top() == frozen
    assert s.is_up("coinbase")
    assert s.top("binance", "BTC/USDT").ts == at(7)
    assert s.updates_since_last_call() == 25 * 12      # steps (4:59, 7:00]; coinbase silent
    s.advance(at(8) + timedelta(seconds=5))
    assert s.top("coinbase", "BTC/USDT").ts == at(8) + timedelta(seconds=5)


def test_latency_is_deterministic_and_spikes_on_schedule():
    s, t = sim(), sim()
    s.schedule_latency_spike("bybit", at(3), at(4), extra_ms=800)
    s.advance(at(2))
    t.advance(at(2))
    normal = s.latency_ms("bybit")
    assert 0 < normal < 500 and normal == t.latency_ms("bybit")
    s.advance(at(3.5))
    assert s.latency_ms("bybit") >= 800
    s.advance(at(4.5))
    assert s.latency_ms("bybit") < 500


def test_planted_crash_drops_the_asset_on_every_venue_within_a_minute():
    s = sim(9)
    s.advance(at(60))
    s.plant_crash("BTC", at(62), drop_pct=0.15, recover_minutes=30)
    bars = s.advance(at(70))
    for venue in s.venues:
        btc = {b.open_time: b for b in bars if b.venue == venue and b.symbol == "BTC/USDT"}
        before, after = btc[at(61)].close, btc[at(63)].close
        assert Decimal("0.82") < after / before < Decimal("0.88")
        assert btc[at(62)].high / btc[at(62)].low > Decimal("1.14")
        assert btc[at(62)].volume > 5 * btc[at(60)].volume
        cross = {b.open_time: b for b in bars if b.venue == venue and b.symbol == "ETH/BTC"}
        assert cross[at(63)].close / cross[at(61)].close > Decimal("1.12")   # ETH/BTC jumps up
    assert s.latent_price("BTC") < 0.9 * float(btc[at(60)].close)
    s.advance(at(125))
    mid = s.top("binance", "BTC/USDT").mid
    assert abs(float(mid) / float(btc[at(61)].close) - 1) < 0.06          # recovered


def test_crash_cannot_be_planted_in_the_past():
    s = sim()
    s.advance(at(10))
    with pytest.raises(ValueError):
        s.plant_crash("BTC", at(5), 0.1)
    with pytest.raises(KeyError):
        s.plant_crash("DOGE", at(20), 0.1)


def test_seeded_random_incidents_come_from_the_venue_config():
    data = CONFIG.model_dump()
    data["venues"][4]["sim"].update(outages_per_day=24, outage_minutes=5, stale_books_per_day=48,
                                    latency_spikes_per_day=48, latency_spike_ms=900)
    config = type(CONFIG).model_validate(data)
    s, down, spiked, frozen = MarketSimulator(config, 8, T0), 0, 0, 0
    stepped, last_ts = [], None
    for minute in range(1, 6 * 60 + 1):
        stepped += s.advance(at(minute))
        if not s.is_up("kraken"):
            down += 1
            continue
        spiked += s.latency_ms("kraken") >= 900
        ts = s.top("kraken", "BTC/USDT").ts
        frozen += ts < at(minute)
        last_ts = ts
    assert down > 0 and spiked > 0 and frozen > 0 and last_ts is not None
    kraken = [b for b in stepped if b.venue == "kraken"]
    assert 0 < len(kraken) < 360 * 3
    assert len([b for b in stepped if b.venue == "binance"]) == 360 * 3
    assert MarketSimulator(config, 8, T0).advance(at(360)) == stepped       # same seed, same incidents
