"""The loss triggers judge a strategy's parameter version on its own closed trades: an
approved re-tuning (a new `params/{strategy}` version) starts a new record, so the new
parameters do not inherit the losing streak of the ones they replaced."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from shared.contracts import OptimizerRequest, Side
from shared.params import versions
from tests.risk_fixtures import Harness

pytestmark = pytest.mark.timeout(10)


def close_losing_trade(h: Harness, strategy: str = "momentum") -> list[OptimizerRequest]:
    # buy 0.01 BTC at 50,000 and sell at 49,990, no fee: (49,990 - 50,000) x 0.01 = -0.10 USDT
    h.fill(side=Side.BUY, qty="0.01", price="50000", strategy=strategy)
    out = h.fill(side=Side.SELL, qty="0.01", price="49990", strategy=strategy)
    return [m for m in out if isinstance(m, OptimizerRequest)]


def new_version(h: Harness, strategy: str = "momentum") -> None:
    with h.store.transaction() as tx:
        versions.apply(tx, strategy, {"lookback": 13.0}, actor="cli:test", at=h.clock.now(), source="optimizer")


def test_a_new_params_version_starts_a_new_losing_streak():
    h = Harness()  # consecutive_losers 3, cool-down 60 minutes
    h.mark("BTC/USDT", 50000)
    assert close_losing_trade(h) == [] and close_losing_trade(h) == []  # v0: 2 losers in a row
    new_version(h)
    h.clock.advance(timedelta(minutes=1))
    assert close_losing_trade(h) == []  # v1's first loser: a streak of 1, not 3
    doc = h.store.get("optimizer_triggers", "momentum")
    assert doc["params_version"] == 1 and [D(r) for r in doc["results"]] == [D("-0.10")]
    assert doc["record_since"] == h.clock.now().isoformat()
    assert close_losing_trade(h) == []
    [req] = close_losing_trade(h)  # v1's third loser in a row
    assert (req.strategy, req.reason) == ("momentum", "consecutive_losses")
    assert req.details["params_version"] == "1" and req.details["trades_in_window"] == "3"
    assert req.details["window_pnl_usd"] == "-0.30"  # 3 x -0.10


def test_without_a_new_version_the_record_goes_on():
    h = Harness()
    h.mark("BTC/USDT", 50000)
    new_version(h, "rsi")  # another strategy's version does not reset momentum's record
    assert close_losing_trade(h) == [] and close_losing_trade(h) == []
    [req] = close_losing_trade(h)
    assert req.details["params_version"] == "0" and req.details["window_pnl_usd"] == "-0.30"
