"""Hand-built books, a two-venue market and small venue fakes for the executor tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.config.venues import MarketConfig
from shared.contracts import BookLevel, BookSnapshot, Execution, Order
from shared.errors import ExchangeUnavailable
from shared.execution.config import ArbitrageConfig, ExecutorConfig

T0 = datetime(2026, 1, 5, tzinfo=UTC)
D = Decimal


def book(venue: str, symbol: str, bids, asks, ts: datetime = T0) -> BookSnapshot:
    lv = lambda rows: tuple(BookLevel(price=D(p), size=D(s)) for p, s in rows)
    return BookSnapshot(venue=venue, symbol=symbol, ts=ts, bids=lv(bids), asks=lv(asks))


def market(fee_a: str = "10", fee_b: str = "10") -> MarketConfig:
    return MarketConfig.model_validate({
        "quote": "USDT",
        "assets": {"BTC": {"initial_price": 100, "annual_vol": 0.5},
                   "ETH": {"initial_price": 5, "annual_vol": 0.6}},
        "instruments": {
            "BTC/USDT": {"tick_size": "0.01", "lot_size": "0.00001", "top_size": 1, "base_volume_per_min": 1},
            "ETH/USDT": {"tick_size": "0.01", "lot_size": "0.0001", "top_size": 1, "base_volume_per_min": 1},
            "ETH/BTC": {"tick_size": "0.00001", "lot_size": "0.0001", "top_size": 1, "base_volume_per_min": 1},
        },
        "symbols": ["BTC/USDT", "ETH/USDT", "ETH/BTC"],
        "triangles": [["USDT", "BTC", "ETH"]],
        "venues": [{"name": "a", "taker_fee_bps": fee_a, "maker_fee_bps": fee_a},
                   {"name": "b", "taker_fee_bps": fee_b, "maker_fee_bps": fee_b}],
    })


def arb_config(**kw) -> ArbitrageConfig:
    base = dict(min_edge_bps=D(5), min_order_usd=D(20), max_notional_usd=D(2500), max_book_age_ms=3000,
                max_slippage_bps=D(15), hedge_max_bps=D(50), workers=4, leg_timeout_s=5)
    return ArbitrageConfig(**{**base, **kw})


def exec_config(**kw) -> ExecutorConfig:
    return ExecutorConfig(arbitrage=arb_config(**kw))


INVENTORY = {("a", "USDT"): D(10_000), ("a", "BTC"): D(50), ("a", "ETH"): D(1000),
             ("b", "USDT"): D(10_000), ("b", "BTC"): D(50), ("b", "ETH"): D(1000)}


def cross_books(ask_a: str = "100.00", bid_b: str = "100.60") -> dict:
    """Venue a offers BTC cheap, venue b bids it high: buy on a, sell on b."""
    return {
        ("a", "BTC/USDT"): book("a", "BTC/USDT", [("99.90", 5)], [(ask_a, 1), ("100.05", 1), ("101", 5)]),
        ("b", "BTC/USDT"): book("b", "BTC/USDT", [(bid_b, "0.5"), (str(D(bid_b) - D("0.05")), 1), ("99", 5)], [("101.50", 5)]),
    }


def triangle_books() -> dict:
    """On venue a: USDT→BTC at 100, BTC→ETH at 0.05, ETH→USDT at 5.10: +200 bps gross."""
    return {
        ("a", "BTC/USDT"): book("a", "BTC/USDT", [("99.90", 100)], [("100", 100)]),
        ("a", "ETH/BTC"): book("a", "ETH/BTC", [("0.04990", 10_000)], [("0.05000", 10_000)]),
        ("a", "ETH/USDT"): book("a", "ETH/USDT", [("5.10", 10_000)], [("5.11", 10_000)]),
    }


class Broken:
    """A venue that is down: every call raises."""

    def __init__(self):
        self.calls = 0

    def execute(self, order: Order) -> Execution:
        self.calls += 1
        raise ExchangeUnavailable("connection refused")


class Counting:
    def __init__(self, inner):
        self.inner, self.sent = inner, []

    def execute(self, order: Order) -> Execution:
        self.sent.append(order)
        return self.inner.execute(order)


def random_books(rng: random.Random) -> dict:
    """Books of a and b for the three symbols, now and then crossed, deep or stale (10 s)."""

    def side(best: D, step: D, sign: int) -> list:
        return [(str(best + sign * step * k), str(rng.randint(1, 50))) for k in range(4)]

    out = {}
    for venue in ("a", "b"):
        for symbol, mid, tick in (("BTC/USDT", D(100), D("0.01")), ("ETH/USDT", D(5), D("0.001")),
                                  ("ETH/BTC", D("0.05"), D("0.00001"))):
            mid += tick * rng.choice((-40, -5, 0, 0, 5, 40))  # now and then a venue quotes away
            bid = mid - tick * rng.randint(0, 4)
            ask = mid + tick * rng.randint(1, 4)
            age = timedelta(seconds=rng.choice((0, 0, 0, 10)))
            out[(venue, symbol)] = book(venue, symbol, side(bid, tick, -1), side(ask, tick, 1), ts=T0 - age)
    return out
