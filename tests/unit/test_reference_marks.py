"""Reference symbols (config `reference_symbols`): bars that keep the marks of fee and
reporting currencies (BNB, GBP) that no strategy trades.

Books (tests.risk_fixtures): venues alpha and beta, BTC/USDT marked at 50,000; each venue
starts with 10,000 USDT + 0.1 BTC (+ 1 BNB where stated).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest

from shared.clock import SimulatedClock
from shared.config.venues import load_market_config
from shared.contracts import Bar, Command, Side
from shared.handlers import signal
from shared.market.reference import ReferenceMarket
from shared.market.schedule import Schedule
from shared.market.simulator import MarketSimulator
from tests.risk_fixtures import T0, Harness, risk_config

pytestmark = pytest.mark.timeout(60)
START = datetime(2026, 1, 5, tzinfo=UTC)


def ref_bar(symbol: str, venue: str, close: str, open_time: datetime = T0 - timedelta(minutes=1)) -> Bar:
    return Bar(venue=venue, symbol=symbol, open_time=open_time, open=D(close), high=D(close),
               low=D(close), close=D(close), volume=D(10))


def signal_deps(clock) -> signal.SignalDeps:
    return signal.build_deps(store=None, clock=clock, predictor=None)  # config/venues.yaml's references


def through_signal_step(h: Harness, bar: Bar) -> list:
    with h.store.transaction() as tx:
        return signal.on_bar(bar, tx, signal_deps(h.clock))


def with_references(h: Harness, *symbols: str) -> Harness:
    h.deps = replace(h.deps, reference_symbols=symbols)
    return h


# -- the signal step --------------------------------------------------------------------
def test_the_shipped_config_keeps_bnb_and_gbp_marks():
    deps = signal_deps(SimulatedClock(START))
    assert deps.reference_symbols == frozenset({"BNB/USDT", "GBP/USDT"})


def test_a_reference_bar_writes_its_mark_and_runs_no_strategy(store):
    deps = signal_deps(SimulatedClock(T0))
    out = []
    for minute in range(300):  # more than a window: a strategy would have had its bars
        bar = ref_bar("BNB/USDT", "binance", str(600 + minute), T0 + timedelta(minutes=minute))
        with store.transaction() as tx:
            out += signal.on_bar(bar, tx, deps)
    assert out == []  # no signal
    assert store.get("marks", "BNB-USDT") == {
        "price": "899", "at": (T0 + timedelta(minutes=299)).isoformat()}  # 600 + 299
    assert store.query("windows") == []  # no window (and no `_index` entry): no strategy ran


# -- the risk step ----------------------------------------------------------------------
def test_a_bnb_fee_is_valued_at_the_bnb_mark_a_reference_bar_wrote():
    portfolio = {"quote": "USDT", "start_balances": {"USDT": "10000", "BTC": "0.1", "BNB": "1"}}
    h = with_references(Harness(risk_config(portfolio=portfolio)), "BNB/USDT")
    h.mark("BTC/USDT", 50000)
    assert through_signal_step(h, ref_bar("BNB/USDT", "binance", "600")) == []
    ex = h.execution(side=Side.BUY, qty="0.01", price="50000").model_copy(
        update={"fee": D("0.0125"), "fee_currency": "BNB"})
    h.send(ex)
    doc = h.store.get("executions", ex.execution_id)
    assert D(doc["fee_usd"]) == D("7.5")  # 0.0125 BNB x 600
    assert h.balance("alpha", "BNB") == D("0.9875")  # 1 - 0.0125
    [(_, point)] = h.store.query("equity")
    # NAV: 2 x (10,000 + 0.1 x 50,000 + 1 x 600) = 31,200 at the start; the BTC bought at
    # its mark moves nothing, the fee takes 0.0125 x 600 = 7.50: 31,192.50
    assert D(point["nav"]) == D("31192.5")
    assert D(point["total_pnl"]) == D("-7.5")


def test_without_the_reference_mark_the_bnb_fee_would_be_left_out():
    """The same fill with BNB not a reference symbol of the risk step: no BNB mark is read,
    the fee is valued at 0 (what the risk step did before reference symbols)."""
    h = Harness()
    h.mark("BTC/USDT", 50000)
    through_signal_step(h, ref_bar("BNB/USDT", "binance", "600"))
    ex = h.execution(qty="0.01", price="50000").model_copy(update={"fee": D("0.0125"), "fee_currency": "BNB"})
    h.send(ex)
    assert D(h.store.get("executions", ex.execution_id)["fee_usd"]) == 0


def test_the_sweep_converts_with_the_gbp_mark_a_reference_bar_wrote():
    h = with_references(Harness(), "GBP/USDT")
    h.mark("BTC/USDT", 50000)
    h.control(Command.PANIC_CHECK)  # opens the day: NAV 2 x (10,000 + 5,000) = 30,000
    with h.store.transaction() as tx:  # as if trading on alpha had realised 7,000 USDT
        from shared.ledger import book

        book.add_totals(tx, realised_pnl_usd=D(7000))
        book.adjust_balance(tx, "alpha", "USDT", D(7000))
    through_signal_step(h, ref_bar("GBP/USDT", "kraken", "1.30"))
    [note] = h.control(Command.REBALANCE)
    [(_, sweep)] = h.store.query("sweeps")
    assert note.kind == "sweep"
    # £5,000 x 1.30 = 6,500 <= 7,000 realised: due (at the configured 1.27 it would be 6,350)
    assert sweep["gbp_rate"] == "1.30" and sweep["gbp_threshold"] == "6500.00"
    assert sweep["gbp_rate_source"] == "mark GBP/USDT"  # read with the step's marks
    assert sweep["amount"] == "7000.00"


# -- the replay's reference market ------------------------------------------------------
def test_the_main_simulator_is_identical_with_and_without_reference_symbols():
    with_refs = load_market_config()
    without = with_refs.model_copy(update={"reference_symbols": []})
    plain = MarketSimulator(without, seed=7, start=START).advance(START + timedelta(hours=2))
    sim = MarketSimulator(with_refs, seed=7, start=START)
    reference = ReferenceMarket(with_refs, seed=7, start=START, schedule=sim.schedule)
    bars, refs = [], []
    for minute in range(1, 121):  # interleaved like the replay's step_minute
        at = START + timedelta(minutes=minute)
        bars += sim.advance(at)
        refs += reference.advance(at)
    assert bars == plain
    assert len(refs) == 2 * 120 and {(b.venue, b.symbol) for b in refs} == {
        ("binance", "BNB/USDT"), ("kraken", "GBP/USDT")}


def test_reference_bars_depend_on_the_seed_not_on_the_steps():
    cfg = load_market_config()
    at_once = ReferenceMarket(cfg, seed=7, start=START).advance(START + timedelta(minutes=90))
    stepped = ReferenceMarket(cfg, seed=7, start=START)
    by_minute = [b for m in range(1, 91) for b in stepped.advance(START + timedelta(minutes=m))]
    assert at_once == by_minute
    other = ReferenceMarket(cfg, seed=8, start=START).advance(START + timedelta(minutes=90))
    assert [b.close for b in other] != [b.close for b in at_once]
    first = at_once[0]
    assert (first.symbol, first.open_time, first.open) == ("BNB/USDT", START, D("600.00"))
    assert at_once[1].open == D("1.27000")  # start_price on the GBP grid (tick 0.00001)


def test_a_venue_outage_drops_its_reference_bars_but_not_the_walk():
    cfg = load_market_config()
    schedule = Schedule()
    down_from, down_to = START + timedelta(minutes=10), START + timedelta(minutes=15)
    schedule.add_outage("kraken", down_from, down_to)
    gappy = ReferenceMarket(cfg, seed=7, start=START, schedule=schedule).advance(START + timedelta(minutes=30))
    full = ReferenceMarket(cfg, seed=7, start=START).advance(START + timedelta(minutes=30))
    gbp = [b.open_time for b in gappy if b.symbol == "GBP/USDT"]
    assert len(gbp) == 30 - 5 and not any(down_from <= t < down_to for t in gbp)
    assert [b for b in full if b.symbol == "BNB/USDT"] == [b for b in gappy if b.symbol == "BNB/USDT"]
    assert [b for b in full if b.open_time >= down_to] == [b for b in gappy if b.open_time >= down_to]


def test_the_walk_has_the_configured_daily_volatility():
    cfg = load_market_config()
    bars = ReferenceMarket(cfg, seed=3, start=START).advance(START + timedelta(days=2))
    for symbol, daily in (("BNB/USDT", 0.03), ("GBP/USDT", 0.005)):
        closes = np.array([float(b.close) for b in bars if b.symbol == symbol])
        minute_vol = np.diff(np.log(closes)).std()
        # 2,880 one-minute returns: the estimate's relative error is ~1/sqrt(2 x 2,880) = 1.3 %
        assert minute_vol == pytest.approx(daily / np.sqrt(1440), rel=0.1)

