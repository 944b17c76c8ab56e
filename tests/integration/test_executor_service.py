"""The composed executor service (runtime.executor.bootstrap) in paper mode on simulated
books, with SqliteStore + InProcessBus, served through FastAPI's TestClient (lifespan on):
/ready is 503 until reconciliation ran, the book loop decides on every update, a planted
dislocation is traded and its executions are published on `executions`, and shutdown
stops every loop. The Pub/Sub dead letters (runtime.executor.dlq) are listed and requeued
through the API against the official emulator."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from infra.topology import load
from runtime.executor.app import create_app
from runtime.executor.bootstrap import attach, build_runtime
from runtime.executor.service import ExecutorService
from runtime.executor.settings import ExecutorSettings
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.secrets import EnvFileSecrets
from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import WallClock
from shared.contracts import BookLevel, ExecutionStatus, OrderSource, Side, client_order_id, wrap
from shared.contracts import Order as OrderMsg
from shared.execution import lifecycle
from shared.execution.pretrade import PreTradeGate

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]
ADMIN, READ = "admin-" + "a" * 30, "read-" + "r" * 30
TOKENS = {"TW_SECRET_ADMIN_TOKEN": ADMIN, "TW_SECRET_READ_TOKEN": READ}


def wait_for(predicate, timeout: float = 15.0, every: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def shifted(book, bps: int, ts):
    """The same book with every price `bps` higher: a dislocation against the other venues."""
    f = Decimal(1) + Decimal(bps) / 10_000
    move = lambda lv: BookLevel(price=(lv.price * f).quantize(lv.price), size=lv.size)
    return book.model_copy(update={"bids": tuple(map(move, book.bids)), "asks": tuple(map(move, book.asks)),
                                   "ts": ts})


@pytest.fixture
def composed():
    settings = ExecutorSettings(mode="paper", books="simulated", config_dir=str(ROOT / "config"),
                                flush_interval_s=0.1, refresh_interval_s=0.5, version="test")
    clock = WallClock()
    store = SqliteStore(":memory:")
    bus = InProcessBus(load(), clock, store)
    secrets = EnvFileSecrets(environ=TOKENS, secrets_dir="/nonexistent")
    rt = build_runtime(settings, store=store, bus=bus, clock=clock, secrets=secrets)
    published = []
    bus.subscribe("risk-executions", lambda env: published.append(env))  # delivered by the service's pump
    yield rt, published
    store.close()


def test_ready_after_reconcile_then_a_planted_dislocation_is_traded_and_shutdown_stops_the_loops(composed):
    rt, published = composed
    store, sup = rt.store, rt.supervisor
    stale = lifecycle.OrderRecord("tw-stale-order-0001", "binance", "BTC/USDT", Side.BUY, Decimal("0.01"),
                                  submitted=True)
    lifecycle.save(store, stale)  # left "new" by a crash: reconcile must settle it before trading
    app = attach(rt)

    assert TestClient(app).get("/ready").status_code == 503  # lifespan not started: not reconciled
    with TestClient(app) as client:
        wait_for(lambda: client.get("/ready").status_code == 200, what="/ready 200")
        assert rt.service.reconciled and sup.report is not None
        assert lifecycle.load(store, stale.client_order_id).state is lifecycle.OrderState.FAILED
        [(_, audit)] = store.query("audit", [("kind", "==", "reconcile")])
        assert audit["corrected"][0]["client_order_id"] == stale.client_order_id
        assert store.get("balances", "binance:USDT")["total"] == "20000"  # paper start balances

        wait_for(lambda: rt.supervisor.hot.stats.decisions > 0, what="a decision from the book loop")
        wait_for(lambda: len(rt.cache) == 15, what="books of 5 venues x 3 symbols from config/venues.yaml")

        def planted_trade():
            book = rt.cache.get("binance", "BTC/USDT")
            rt.cache.put(shifted(book, 60, rt.clock.now()))
            time.sleep(0.2)
            return [e for e in published if e.decode().source is OrderSource.ARBITRAGE]

        arb = wait_for(planted_trade, timeout=20, every=0.1, what="an arbitrage execution")
        fills = [e.decode() for e in arb]
        assert {f.venue for f in fills} >= {"binance"} and len({f.venue for f in fills}) >= 2
        sell = next(f for f in fills if f.venue == "binance")
        assert sell.side is Side.SELL and sell.status in (ExecutionStatus.FILLED, ExecutionStatus.PARTIALLY_FILLED)
        assert all(e.id == e.decode().execution_id for e in arb)  # a retried publish is the same message
        assert audit["at"] <= min(f.executed_at.isoformat() for f in fills)  # reconciled before trading
        wait_for(lambda: store.query("arbitrage"), what="the arbitrage record written behind")
        assert store.query("near_misses")  # decisions below the bar are written behind too
        assert client.get("/health").json()["checks"]["loops"] == "ok"

    assert not sup.trading and not sup.hot.alive() and not sup.publisher.alive()
    assert sup._tasks == [] and rt.engine.writer.pending() == 0
    assert not rt.service.reconciled
    decisions = sup.hot.stats.decisions
    time.sleep(0.3)
    assert sup.hot.stats.decisions == decisions  # nothing runs after shutdown


def test_halt_through_the_api_stops_the_hot_path_and_orders_arrive_on_the_bus(composed):
    rt, published = composed
    with TestClient(attach(rt)) as client:
        wait_for(lambda: client.get("/ready").status_code == 200, what="/ready 200")
        auth = {"Authorization": f"Bearer {ADMIN}"}
        assert client.post("/v1/halt", json={"reason": "test halt"}, headers=auth).json()["halted"]
        before = rt.supervisor.hot.stats.executions
        book = wait_for(lambda: rt.cache.get("binance", "BTC/USDT"), what="a first book")
        rt.cache.put(shifted(book, 80, rt.clock.now()))
        wait_for(lambda: rt.engine.writer.written and any(
            d["reason"] == "risk" for _, d in rt.store.query("near_misses")), what="a risk near miss")
        assert rt.supervisor.hot.stats.executions == before

        # a strategy order on `orders` reaches the executor consumer (in-process bus, pumped)
        client.post("/v1/resume", json={"reason": "test resume"}, headers=auth)
        now = rt.clock.now()
        order = OrderMsg(client_order_id=client_order_id("svc-test-order"), venue="binance",
                         symbol="BTC/USDT", side=Side.BUY, quantity=Decimal("0.001"),
                         reference_price=rt.cache.get("binance", "BTC/USDT").top().ask,
                         source=OrderSource.SIGNAL, strategy="test", cause_id="svc-test", created_at=now)
        rt.bus.publish("orders", wrap(order, ts=now))
        wait_for(lambda: any(e.decode().client_order_id == order.client_order_id for e in published),
                 what="the order's execution on `executions`")
        assert rt.store.get("orders", order.client_order_id)["state"] == "filled"


# -- settings, live guard, ccxt books, the uvicorn factory ---------------------------------------
def test_settings_follow_the_terraform_and_functions_env_conventions():
    from shared.errors import ConfigError

    local = ExecutorSettings.from_env({}, ["python"])
    assert (local.mode, local.store, local.bus, local.secrets) == ("paper", "sqlite", "inprocess", "env")
    cloud = ExecutorSettings.from_env({"TRADEWINDS_BACKEND": "gcp", "TRADEWINDS_MODE": "live",
                                       "GOOGLE_CLOUD_PROJECT": "p1", "K_REVISION": "executor-00042"},
                                      ["python", "--i-understand-live"])
    assert (cloud.store, cloud.bus, cloud.secrets, cloud.project) == ("firestore", "pubsub", "secret-manager", "p1")
    assert cloud.mode == "live" and cloud.live_flag and cloud.version == "executor-00042"
    mixed = ExecutorSettings.from_env({"TRADEWINDS_BACKEND": "gcp", "TW_STORE": "sqlite",
                                       "EXECUTOR_SIM_INTERVAL_S": "0.5"}, [])
    assert (mixed.store, mixed.bus, mixed.sim_interval_s) == ("sqlite", "pubsub", 0.5)
    with pytest.raises(ConfigError, match="EXECUTOR_FLUSH_INTERVAL_S"):
        ExecutorSettings.from_env({"EXECUTOR_FLUSH_INTERVAL_S": "-1"}, [])
    with pytest.raises(ConfigError, match="TW_STORE"):
        ExecutorSettings.from_env({"TW_STORE": "mongo"}, [])
    with pytest.raises(ConfigError, match="EXECUTOR_SIM_INTERVAL_S.*divide a minute"):
        ExecutorSettings.from_env({"EXECUTOR_SIM_INTERVAL_S": "7"}, [])
    with pytest.raises(ConfigError, match="disagree"):
        ExecutorSettings.from_env({"TW_MODE": "paper", "TRADEWINDS_MODE": "live"}, [])


VENUES_YAML = """
quote: USDT
assets:
  BTC: {initial_price: 30000, annual_vol: 0.5}
  ETH: {initial_price: 2000, annual_vol: 0.6}
instruments:
  BTC/USDT: {tick_size: "0.01", lot_size: "0.00001", top_size: 1, base_volume_per_min: 10}
  ETH/USDT: {tick_size: "0.01", lot_size: "0.0001", top_size: 5, base_volume_per_min: 50}
symbols: [BTC/USDT, ETH/USDT]
venues:
  - {name: binance, kind: ccxt, ccxt_id: binance, taker_fee_bps: 10, maker_fee_bps: 10}
  - {name: binance2, kind: ccxt, ccxt_id: binance, taker_fee_bps: 10, maker_fee_bps: 10}
"""


def _ccxt_settings(tmp_path, url: str, **kw) -> ExecutorSettings:
    path = tmp_path / "venues.yaml"
    path.write_text(VENUES_YAML)
    return ExecutorSettings(config_dir=str(ROOT / "config"), venues_path=str(path), ccxt_urls=url,
                            flush_interval_s=0.1, **kw)


def test_live_mode_is_refused_without_the_explicit_flag(tmp_path):
    from shared.errors import ConfigError
    from shared.execution.live import LiveModeRefused

    settings = _ccxt_settings(tmp_path, "http://127.0.0.1:9", mode="live", live_flag=False)
    with pytest.raises(LiveModeRefused, match="--i-understand-live"):
        build_runtime(settings, store=SqliteStore(":memory:"), secrets=EnvFileSecrets(environ={}))
    simulated = ExecutorSettings(config_dir=str(ROOT / "config"), mode="live", live_flag=True)
    with pytest.raises(ConfigError, match="kind: ccxt"):
        build_runtime(simulated, store=SqliteStore(":memory:"), secrets=EnvFileSecrets(environ={}))


def test_live_with_the_flag_reconciles_the_venue_and_streams_books_over_rest_fallback(tmp_path):
    from tests.integration.fake_binance import API_KEY, API_SECRET, MINUTE_MS, FakeBinance

    keys = {f"TW_SECRET_{v}_API_{k}": val for v in ("BINANCE", "BINANCE2")
            for k, val in (("KEY", API_KEY), ("SECRET", API_SECRET))}
    with FakeBinance(1_700_000_000_000 // MINUTE_MS * MINUTE_MS) as fake:
        settings = _ccxt_settings(tmp_path, fake.url, mode="live", live_flag=True)
        store = SqliteStore(":memory:")
        rt = build_runtime(settings, store=store, secrets=EnvFileSecrets(environ={**keys, **TOKENS}))
        assert type(rt.venues.trading["binance"]).__name__ == "CcxtVenue"
        with TestClient(attach(rt)) as client:
            wait_for(lambda: client.get("/ready").status_code == 200, what="/ready after live reconcile")
            assert rt.supervisor.report.ok and set(rt.supervisor.report.balances) == {"binance", "binance2"}
            assert store.get("balances", "binance:USDT") is not None  # the venue's truth, not paper's
            wait_for(lambda: len(rt.cache) == 4, timeout=20, what="REST books for 2 venues x 2 symbols")
            wait_for(lambda: rt.supervisor.hot.stats.decisions >= 4, what="decisions on streamed books")
            assert rt.cache.get("binance", "BTC/USDT").venue == "binance"
            assert fake.calls("/api/v3/depth")
        assert not rt.supervisor.trading and rt.supervisor._tasks == []
        store.close()


def test_the_env_built_factory_serves_on_127_0_0_1_and_stops_on_shutdown(tmp_path, monkeypatch):
    import threading

    import httpx
    import uvicorn

    from infra.emulators import free_port
    from runtime.executor import bootstrap

    for key, value in {"TW_SQLITE_PATH": str(tmp_path / "executor.sqlite"), "EXECUTOR_BOOKS": "simulated",
                       "TW_CONFIG_DIR": str(ROOT / "config"), "TW_SECRETS_DIR": str(tmp_path), **TOKENS}.items():
        monkeypatch.setenv(key, value)
    for key in ("TRADEWINDS_BACKEND", "TW_STORE", "TRADEWINDS_BUS", "TW_SECRETS", "TW_MODE", "TRADEWINDS_MODE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(bootstrap, "_runtime", None)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config("runtime.executor.bootstrap:create_app", factory=True,
                                           host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}"

        def ready():
            try:
                return httpx.get(f"{url}/ready", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, timeout=20, every=0.1, what="the served executor ready")
        rt = bootstrap.runtime()
        assert rt.settings.store == "sqlite" and rt.settings.books == "simulated"
        wait_for(lambda: rt.supervisor.hot.stats.decisions > 0, what="a decision")
        assert httpx.get(f"{url}/v1/pnl", headers={"Authorization": f"Bearer {READ}"}, timeout=2).status_code == 200
    finally:
        server.should_exit = True
        thread.join(15)
    assert not thread.is_alive() and not rt.supervisor.hot.alive() and rt.supervisor._tasks == []


# -- dead letters over Pub/Sub (emulator) ---------------------------------------------------------
@pytest.mark.emulators
def test_pubsub_dead_letters_are_listed_and_requeued_through_the_api(pubsub_bus):
    from runtime.executor.dlq import PubSubDeadLetters

    clock = WallClock()
    store = SqliteStore(":memory:")
    dlq = PubSubDeadLetters(pubsub_bus, store, clock, topics=["orders", "executions"])
    secrets = EnvFileSecrets(environ=TOKENS, secrets_dir="/nonexistent")
    service = ExecutorService(store=store, bus=pubsub_bus, clock=clock, secrets=secrets,
                              gate=PreTradeGate(clock), dlq=dlq)
    client = TestClient(create_app(service))
    read, admin = {"Authorization": f"Bearer {READ}"}, {"Authorization": f"Bearer {ADMIN}"}

    now = clock.now()
    order = OrderMsg(client_order_id=client_order_id("dlq-test-order"), venue="binance", symbol="BTC/USDT",
                     side=Side.BUY, quantity=Decimal("0.01"), reference_price=Decimal(65000),
                     source=OrderSource.SIGNAL, strategy="test", cause_id="dlq-test", created_at=now)
    envelope = wrap(order, ts=now)
    pubsub_bus.dead_letter("orders", envelope.to_json(), envelope.attributes(), "permanent: venue unknown",
                           source_subscription="executor-orders", source_message_id="m-1")
    pubsub_bus.dead_letter("executions", b"not json", {"type": "execution"}, "permanent: payload is not JSON",
                           source_subscription="risk-executions", source_message_id="m-2")

    def listed(status="dead", n=2):
        body = client.get(f"/v1/dlq?status={status}", headers=read).json()
        return body if body["count"] == n else None

    body = wait_for(listed, timeout=15, every=0.2, what="both dead letters listed")
    items = {i["subscription"]: i for i in body["items"]}
    assert items["executor-orders"]["message_id"] == envelope.id
    assert items["executor-orders"]["type"] == "order" and "venue unknown" in items["executor-orders"]["reason"]
    assert items["risk-executions"]["type"] == "execution"
    assert all("envelope" not in i for i in body["items"])
    assert client.get("/v1/dlq", headers=read).json()["count"] == 2  # acked into the store: stable
    assert client.post("/v1/dlq/requeue", json={"keys": [envelope.id]}, headers=read).status_code == 403

    assert client.post("/v1/dlq/requeue", json={"keys": [envelope.id]}, headers=admin).json() == {"requeued": 1}
    got = []

    def redelivered():
        got.extend(pubsub_bus.pull("executor-orders", timeout=2.0))
        return [g for g in got if b'"id":"%s"' % envelope.id.encode() in g[0].replace(b" ", b"")]

    [(_, attrs, _)] = wait_for(redelivered, timeout=15, every=0.1, what="the requeued order on executor-orders")
    assert attrs["type"] == "order" and "reason" not in attrs and "source_subscription" not in attrs
    assert listed("requeued", 1) and listed("dead", 1)  # the poison message stays dead
    assert client.post("/v1/dlq/requeue", json={"keys": None}, headers=admin).json() == {"requeued": 1}
    raw = wait_for(lambda: pubsub_bus.pull("risk-executions", timeout=2.0), timeout=15, what="raw requeue")
    assert raw[0][0] == b"not json" and raw[0][1]["type"] == "execution"
    store.close()


@pytest.mark.emulators
def test_on_pubsub_the_consumer_trades_orders_and_hears_control_and_the_dlq_is_wired(pubsub_bus):
    settings = ExecutorSettings(mode="paper", books="simulated", bus="pubsub", config_dir=str(ROOT / "config"),
                                flush_interval_s=0.1, version="test")
    store = SqliteStore(":memory:")
    rt = build_runtime(settings, store=store, bus=pubsub_bus, clock=WallClock(),
                       secrets=EnvFileSecrets(environ=TOKENS, secrets_dir="/nonexistent"))
    assert type(rt.service.dlq).__name__ == "PubSubDeadLetters"
    consumer = rt.supervisor.consumer
    with TestClient(attach(rt)) as client:
        wait_for(lambda: client.get("/ready").status_code == 200, what="/ready 200")
        book = wait_for(lambda: rt.cache.get("okx", "ETH/USDT"), what="a first book")
        now = rt.clock.now()
        order = OrderMsg(client_order_id=client_order_id("pubsub-svc-order"), venue="okx", symbol="ETH/USDT",
                         side=Side.SELL, quantity=Decimal("0.01"),
                         reference_price=book.top().bid,
                         source=OrderSource.SIGNAL, strategy="test", cause_id="pubsub-svc", created_at=now)
        pubsub_bus.publish("orders", wrap(order, ts=now))
        seen = []

        def executed():
            seen.extend(from_pull(pubsub_bus.pull("risk-executions", timeout=2.0)))
            return [e for e in seen if e.client_order_id == order.client_order_id]

        [ex] = wait_for(executed, timeout=20, every=0.1, what="the order's execution on Pub/Sub")
        assert ex.filled_quantity == Decimal("0.01")  # routed to the best-priced healthy venue
        assert ex.venue in {v.name for v in rt.market.enabled_venues}
        auth = {"Authorization": f"Bearer {ADMIN}"}
        client.post("/v1/halt", json={"reason": "pubsub halt"}, headers=auth)
        wait_for(lambda: consumer.handled >= 2, what="the halt heard back on executor-control")
        assert rt.service.gate.halted
        assert client.get("/v1/dlq", headers=auth).json()["count"] == 0
    assert not rt.supervisor.trading and rt.supervisor._tasks == []
    store.close()


def from_pull(rows):
    from shared.contracts import from_wire

    return [from_wire(data, attrs, message_id=mid).decode() for data, attrs, mid in rows]


# -- orders only where they belong (issue 14 item 3, executor part) -------------------------------
def _orders_runtime():
    settings = ExecutorSettings(mode="paper", books="simulated", config_dir=str(ROOT / "config"), version="test")
    clock = WallClock()
    store = SqliteStore(":memory:")
    rt = build_runtime(settings, store=store, bus=InProcessBus(load(), clock, store), clock=clock,
                       secrets=EnvFileSecrets(environ=TOKENS, secrets_dir="/nonexistent"))
    from tests.executor_fixtures import book

    now = clock.now()
    for venue in ("binance", "okx"):  # okx quotes better: a failover would go there
        ask = "65000" if venue == "okx" else "65010"
        rt.cache.put(book(venue, "BTC/USDT", [("64990", 5)], [(ask, 5)], ts=now))
    return rt


def _manual(rt, cause: str, venue: str, symbol: str = "BTC/USDT") -> OrderMsg:
    return OrderMsg(client_order_id=client_order_id(cause), venue=venue, symbol=symbol, side=Side.BUY,
                    quantity=Decimal("0.0005"), reference_price=Decimal(65010), source=OrderSource.MANUAL,
                    strategy="manual", cause_id=cause, created_at=rt.clock.now())


def test_an_order_to_an_unknown_venue_is_rejected_with_the_reason_never_filled_elsewhere():
    rt = _orders_runtime()
    created, ex, record = rt.service.submit(_manual(rt, "typo-venue", "binanse"))
    assert created and ex.status is ExecutionStatus.REJECTED and ex.filled_quantity == 0
    assert ex.venue == "binanse" and ex.reason.startswith("unknown venue 'binanse'")  # not okx
    assert record["state"] == "rejected"
    assert rt.paper_state.orders() == []  # no venue saw it
    assert rt.store.query("order_claims") == [] and rt.claims.query("order_claims") == []


def test_a_symbol_the_venue_does_not_list_is_rejected_and_never_trips_its_breaker():
    rt = _orders_runtime()
    for i in range(5):  # five used to come back "outcome unknown" and open binance's breaker
        _, ex, _ = rt.service.submit(_manual(rt, f"doge-{i}", "binance", "DOGE/USDT"))
        assert ex.status is ExecutionStatus.REJECTED and ex.reason.startswith("binance does not list DOGE/USDT")
    guarded = rt.service.orders.router.guarded
    assert guarded.available("binance")  # the breaker is still closed
    _, ex, _ = rt.service.submit(_manual(rt, "btc-after-doge", "binance"))
    # the next BTC order fills on binance (its own venue) at binance's ask, not okx's 65000
    assert (ex.status, ex.venue, ex.filled_quantity, ex.price) == (
        ExecutionStatus.FILLED, "binance", Decimal("0.0005"), Decimal(65010))
    assert [o["client_order_id"] for o in rt.paper_state.orders()] == [ex.client_order_id]
