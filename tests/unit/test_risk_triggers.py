"""Optimizer loss triggers per strategy: drawdown, losing streak, Sharpe floor; one request
per strategy per cool-down; routed to topic optimizer-requests."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from infra.topology import load as load_topology
from shared.contracts import Command, OptimizerRequest, Side
from shared.risk.config import OptimizerTriggers
from shared.risk.triggers import breach, drawdown_usd, losing_streak, sharpe
from tests.risk_fixtures import Harness

pytestmark = pytest.mark.timeout(10)
CFG = OptimizerTriggers(max_drawdown_pct=1.0, consecutive_losers=3, sharpe_floor=0.0, sharpe_window=4,
                        sharpe_min_trades=4, cooldown_minutes=60, window_days=7)
R = lambda *xs: [D(str(x)) for x in xs]


def test_drawdown_is_at_or_beyond_the_threshold_of_reference_equity():
    assert drawdown_usd(R(50, -100)) == D(100)          # peak +50, now -50
    assert breach(R(50, -99.99), D(10000), CFG) is None  # 0.9999 %
    found = breach(R(50, -100), D(10000), CFG)           # exactly 1 % of 10,000
    assert found.reason == "drawdown" and found.details["drawdown_usd"] == "100.00"


def test_consecutive_losers_at_n():
    assert losing_streak(R(1, -1, -1)) == 2 and breach(R(5, -1, -1), D(10000), CFG) is None
    assert breach(R(5, -1, -1, -1), D(10000), CFG).reason == "consecutive_losses"


def test_sharpe_below_the_floor_over_the_window():
    assert sharpe(R(2, -1, 1, -1)) > 0 and breach(R(2, -1, 1, -1), D(10**6), CFG) is None
    found = breach(R(1, -2, 1, -1), D(10**6), CFG)       # mean -0.25 → Sharpe < 0
    assert found.reason == "sharpe_floor" and float(found.details["sharpe"]) < 0
    assert breach(R(1, -2, 1), D(10**6), CFG) is None      # 3 < sharpe_min_trades


def close_trade(h: Harness, strategy: str, exit_price: str) -> list:
    h.fill(side=Side.BUY, qty="0.01", price="50000", strategy=strategy)
    return h.fill(side=Side.SELL, qty="0.01", price=exit_price, strategy=strategy)


def requests(out: list) -> list[OptimizerRequest]:
    return [m for m in out if isinstance(m, OptimizerRequest)]


def test_a_losing_streak_asks_the_optimizer_once_per_cool_down_per_strategy():
    h = Harness()
    h.mark("BTC/USDT", 50000)
    h.control(Command.PANIC_CHECK)
    for _ in range(2):
        assert requests(close_trade(h, "momentum", "49990")) == []   # -0.10 each: 2 losers
    [req] = requests(close_trade(h, "momentum", "49990"))
    assert (req.strategy, req.reason, req.requested_by) == ("momentum", "consecutive_losses", "risk")
    assert req.window_end == h.clock.now() and req.window_end - req.window_start == timedelta(days=7)
    assert req.details["consecutive_losers"] == "3"
    assert load_topology().topic_for(req.TYPE) == "optimizer-requests"
    assert requests(close_trade(h, "momentum", "49990")) == []         # cooling down
    assert requests(close_trade(h, "breakout", "49990")) == []         # other strategy: own count
    h.clock.advance(timedelta(minutes=60))
    [again] = requests(close_trade(h, "momentum", "49990"))            # cool-down over, still losing
    assert again.reason == "consecutive_losses"
    doc = h.store.get("optimizer_triggers", "momentum")
    assert doc["last_fired_at"] == h.clock.now().isoformat() and len(doc["results"]) == 5
    assert len(h.audit("optimizer_trigger")) == 2


def test_cool_down_survives_a_restart():
    h = Harness()
    h.mark("BTC/USDT", 50000)
    for _ in range(3):
        out = close_trade(h, "rsi", "49990")
    assert requests(out)
    restarted = Harness(store=h.store, clock=h.clock)
    assert requests(close_trade(restarted, "rsi", "49990")) == []
