"""The event plane on the emulators: Pub/Sub push subscriptions → functions-framework
(functions/main.py entry points) → Firestore, and the executor's streaming pull."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from functions import bootstrap
from infra.local.emulator_stack import FunctionServers
from infra.topology import load
from runtime.executor.consumer import ExecutorConsumer
from shared.adapters.gcp.pubsub_bus import PubSubBus
from shared.adapters.local.secrets import EnvFileSecrets
from shared.clock import SimulatedClock
from shared.contracts import Bar, from_wire, wrap
from shared.handlers import executor
from shared.signals import window_bars
from tests.integration.test_emulator_pubsub import CountingVenue, pull_until, wait_for

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def plane(gcp_project, firestore_store, tmp_path):
    """Functions served on 127.0.0.1, push subscriptions pointing at them, executor consumer."""
    topology = load()
    bus = PubSubBus(topology, project=gcp_project)
    servers = FunctionServers()
    urls = servers.start()
    bus.ensure_topology(push_endpoints=urls)
    bootstrap.install(bootstrap.Infra(store=firestore_store, bus=bus, clock=bootstrap.MessageClock(),
                                      secrets=EnvFileSecrets(tmp_path), topology=topology,
                                      config_dir=str(ROOT / "config"), notify_local_dir=str(tmp_path)))
    venue = CountingVenue()
    clock = SimulatedClock(T0)
    consumer = ExecutorConsumer(bus=bus, store=firestore_store, clock=clock, topology=topology,
                                deps=executor.ExecutorDeps(venue=venue, clock=clock))
    consumer.start()
    yield {"bus": bus, "store": firestore_store, "urls": urls, "venue": venue, "consumer": consumer}
    bus.close()
    servers.stop()
    bootstrap.install(None)


def seed_uptrend(store, minutes: int = 120) -> Bar:
    """State that makes the next bar a confident buy: trend voters only, marks for risk."""
    store.put("weights", "current", {"weights": {"momentum": 1.0, "breakout": 1.0, "rsi": 0.0,
                                                 "mean_reversion": 0.0}, "version": 1})
    for voter in ("momentum", "breakout"):  # they earned their place: live in the ensemble's gate
        store.put("strategy_state", voter, {"name": voter, "state": "live", "why": "seeded", "params_version": 0,
                                            "outcomes": [[20.0, 35.0, 15.0, T0.isoformat(), 0]] * 10})
    for key, price in {"BTC-USDT": "65000", "ETH-USDT": "3400", "ETH-BTC": "0.052"}.items():
        store.put("marks", key, {"price": price, "at": T0.isoformat()})
    rows, p = [], 65000.0
    for i in range(minutes):
        step = 1.0003 if i > 60 else (1.0002 if i % 2 else 0.9998)
        q = p * step
        rows.append([(T0 + timedelta(minutes=i)).isoformat(), p, max(p, q) * 1.0001, min(p, q) * 0.9999, q, 10.0])
        p = q
    store.put("windows", "binance-BTC-USDT", {"bars": rows, "last_side": None, "last_votes": {}, "perf": {}})
    at = T0 + timedelta(minutes=minutes)

    def money(x: float) -> Decimal:
        return Decimal(str(round(x, 2)))

    return Bar(venue="binance", symbol="BTC/USDT", open_time=at, open=money(p), high=money(p * 1.004),
               low=money(p * 0.9999), close=money(p * 1.0035), volume=Decimal(30))


def processed(store, consumer: str, kind: str) -> list[dict]:
    return [d for _, d in store.query("processed", [("consumer", "==", consumer), ("type", "==", kind)])]


def test_a_bar_travels_signal_risk_executor_notification(plane):
    store, bus = plane["store"], plane["bus"]
    bar = seed_uptrend(store)
    env = wrap(bar, ts=bar.open_time + timedelta(minutes=1), id="bar-1")
    bus.publish("market-bars", env, ordering_key=bar.symbol)

    wait_for(lambda: processed(store, "notification", "execution") and processed(store, "risk", "execution"),
             timeout=60, what="the fill at risk and notification")
    assert len(processed(store, "signal", "bar")) == 1
    assert len(processed(store, "risk", "signal")) == 1
    assert len(processed(store, "risk", "execution")) == 1
    (coid, order), = store.query("orders", [("submitted", "==", True)])
    assert plane["venue"].orders == [coid] and order["status"] == "filled"
    assert order["symbol"] == "BTC/USDT" and order["side"] == "buy"
    assert store.get("windows", "binance-BTC-USDT")["last_side"] == "buy"
    # risk-decisions has only a pull subscriber (audit): the approval is there
    (data, attrs, _), = pull_until(bus, "audit-risk-decisions", 1)
    decision = from_wire(data, attrs)
    assert decision.body["approved"] is True and decision.trace_id == env.trace_id


def test_a_duplicated_push_has_one_effect(plane):
    store, urls = plane["store"], plane["urls"]
    bar = seed_uptrend(store, minutes=30)
    env = wrap(bar, ts=bar.open_time, id="bar-dup")
    before = len(window_bars.rows(store, store.get("windows", "binance-BTC-USDT"), last=None))
    push = {"message": {"data": base64.b64encode(env.to_json()).decode(), "attributes": env.attributes(),
                        "messageId": "42", "message_id": "42",
                        "publishTime": datetime.now(UTC).isoformat().replace("+00:00", "Z")},
            "subscription": f"projects/{plane['bus'].project}/subscriptions/signal-bars"}
    url = f"{urls['signal']}/projects/{plane['bus'].project}/topics/market-bars"
    for _ in range(2):
        assert httpx.post(url, json=push, timeout=30).status_code == 200
    assert len(window_bars.rows(store, store.get("windows", "binance-BTC-USDT"), last=None)) == before + 1 == 31
    assert len(processed(store, "signal", "bar")) == 1


def test_a_poison_push_is_dead_lettered_with_its_reason(plane):
    bus, store = plane["bus"], plane["store"]
    bus.publisher.publish(bus.topic_path("market-bars"), b'{"type": "bar", "body": {"venue": "x"}}',
                          type="bar").result(timeout=10)
    (_data, attrs, _), = pull_until(bus, "market-bars-dlq-sub", 1, timeout=30)
    assert attrs["reason"].startswith("permanent: invalid envelope") and attrs["source_step"] == "signal"
    assert processed(store, "signal", "bar") == []
