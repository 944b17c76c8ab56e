"""The notification step handler with a hand-written fake channel (our port)."""

from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

import pytest

from infra.topology import load as load_topology
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.secrets import EnvFileSecrets
from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.contracts import (
    Command,
    Control,
    Execution,
    ExecutionStatus,
    Notification,
    OptimizerResult,
    Severity,
    Side,
    wrap,
)
from shared.delivery import run_step
from shared.errors import TransientError
from shared.handlers.notification import NotificationDeps, build_deps, handle
from shared.notify.channels.local import read_notifications
from shared.notify.config import parse
from shared.notify.dispatcher import Dispatcher

T0 = datetime(2024, 5, 1, 13, 0, 2, tzinfo=UTC)


class FakeChannel:
    name = "slack"
    rate_limit = None
    timeout_s = 1.0

    def __init__(self, fail: bool = False):
        self.sent: list[Notification] = []
        self.fail = fail

    def targets(self):
        return ("",)

    def send(self, notification, target, timeout):
        if self.fail:
            raise TransientError("slack: HTTP 503")
        self.sent.append(notification)


@pytest.fixture
def env():
    clock, store = SimulatedClock(T0), SqliteStore(":memory:")
    channel = FakeChannel()
    config = parse({"routes": {s.value: ["slack"] for s in Severity},
                    "retry": {"attempts": 2, "base_delay_s": 0}})
    deps = NotificationDeps(Dispatcher(config, {"slack": channel}, store, clock,
                                       sleep=lambda s: None), clock, store, config)
    return clock, store, channel, deps


def run(deps, store, body, clock):
    envelope = wrap(body, ts=clock.now())
    with store.transaction() as tx:
        return handle(body, envelope, tx, deps)


def test_execution_becomes_a_trade_alert_with_pnl_from_the_ledger(env):
    clock, store, channel, deps = env
    store.put("executions", "ex-9", {"realised_pnl": "4.20"})
    ex = Execution(execution_id="ex-9", client_order_id="tw00000009", venue="kraken",
                   symbol="ETH/USDT", side=Side.SELL, status=ExecutionStatus.FILLED,
                   requested_quantity=Decimal(1), filled_quantity=Decimal(1),
                   price=Decimal(3000), expected_price=Decimal(3000), fee=Decimal("1.2"),
                   fee_currency="USDT", latency_ms=10, executed_at=T0)
    assert run(deps, store, ex, clock) == []
    [alert] = channel.sent
    assert alert.kind == "trade" and dict(alert.fields)["PnL"] == "+4.20 USDT"


def test_optimizer_result_becomes_a_recommendation_with_buttons(env):
    clock, store, channel, deps = env
    run(deps, store, OptimizerResult(job_id="job-7", strategy="arb", status="recommended",
                                     finished_at=T0), clock)
    assert [b.callback_data for b in channel.sent[0].buttons] == ["approve:job-7", "reject:job-7"]


def test_hourly_summary_figures_come_from_the_ledger(env):
    """Books: start 10,000 USDT + 0.1 BTC; a momentum round trip left +12.34 USDT; BTC at
    60,000. PnL is the change of NAV: +12.34; NAV 10,012.34 + 0.1 x 60,000 = 16,012.34. The
    second report covers the time since the first: nothing moved, so 0.00, and the two hours
    sum to the total."""
    clock, store, channel, deps = env
    store.put("ledger", "pnl", {"start": {"USDT": "10000", "BTC": "0.1"},
                                "flows": {"strategy:momentum": {"USDT": "12.34"}}})
    store.put("marks", "BTC-USDT", {"price": "60000", "at": "2024-05-01T12:59:00+00:00"})
    store.put("executions", "e1", {
        "client_order_id": "tw1", "venue": "binance", "symbol": "BTC/USDT", "side": "sell",
        "filled_quantity": "0.01", "price": "60000", "fee": "0.6", "realised_pnl": "12.34",
        "strategy": "momentum", "executed_at": "2024-05-01T12:30:00+00:00"})
    asked = Notification(kind="hourly_summary", title="Hourly summary", text="Scheduled.",
                         dedupe_key="hourly:2024050113", created_at=T0)
    run(deps, store, asked, clock)
    run(deps, store, Control(command=Command.HOURLY_SUMMARY, issued_at=T0), clock)
    first, second = channel.sent
    assert dict(first.fields)["PnL"] == "+12.34 USDT" and first.text.startswith("Scheduled.")
    assert first.dedupe_key == "hourly:2024050113"
    assert dict(first.fields)["PnL since start"] == "+12.34 USDT"
    assert dict(first.fields)["NAV"] == "16,012.34 USDT"
    assert dict(second.fields)["PnL"] == "0.00 USDT"
    assert dict(second.fields)["PnL since start"] == "+12.34 USDT"
    # what the console lists: one document per notification delivered, with its title
    recent = sorted(d["title"] for _, d in store.query("notifications_recent"))
    assert recent == sorted([first.title, second.title]) and len(recent) == 2
    assert run(deps, store, Control(command=Command.REBALANCE), clock) == []
    assert len(channel.sent) == 2


def test_undeliverable_raises_transient_so_the_bus_redelivers_then_dead_letters(env):
    clock, store, channel, deps = env
    channel.fail = True
    topology = load_topology()
    bus = InProcessBus(topology, clock, store)
    note = Notification(kind="outage", severity=Severity.WARNING, title="feed down",
                        dedupe_key="outage:feed", created_at=T0)
    step = partial(handle, deps=deps)
    bus.subscribe("notification-notifications", lambda env_: run_step(
        env_, consumer="notification", handle=step, store=store, bus=bus, clock=clock,
        topology=topology))
    bus.publish("notifications", wrap(note, ts=T0))
    for _ in range(12):
        bus.drain()
        clock.advance(400)
    assert bus.stats["notification-notifications"]["dead_lettered"] == 1
    channel.fail = False
    bus.requeue()
    bus.drain()
    assert [n.dedupe_key for n in channel.sent] == ["outage:feed"]
    # a duplicate delivery inside the window is skipped by dedupe (and by the claim)
    bus.publish("notifications", wrap(note, ts=clock.now()))
    bus.drain()
    assert len(channel.sent) == 1


def test_build_deps_for_the_local_run_writes_jsonl(tmp_path):
    clock, store = SimulatedClock(T0), SqliteStore(":memory:")
    deps = build_deps(store, clock, EnvFileSecrets(environ={}), local_dir=tmp_path)
    body = Notification(kind="startup", title="Tradewinds started", dedupe_key="s",
                        created_at=T0)
    with store.transaction() as tx:
        handle(body, wrap(body, ts=T0), tx, deps)
    [n] = read_notifications(tmp_path / "notifications.jsonl")
    assert n.title == "Tradewinds started" and store.query("notify_dedupe")
