"""The executor's composition root: settings → adapters → venues → engine → service → app.

Every venue send goes through `shared.execution.claims.ClaimedVenues`: a durable claim in
`order_claims/` first (Firestore: the store itself, outside the step's transaction; SQLite: a
file of its own, `<store>-claims.sqlite`), and in paper mode the paper venues keep what they
executed in their own store (`<store>-paper-venues.sqlite`; Firestore: `paper_venue/`), so
reconciliation can ask them like live venues (`side_store`). An arbitrage opportunity's plan
goes to the claims store too (`arb_plans/`, `shared.execution.arb_plans`), before its first leg.

`create_app()` is the uvicorn factory (`python -m runtime.executor`): it builds the runtime
once per instance (nothing connects at import; the cloud clients connect on first use)
and returns the FastAPI app of `runtime.executor.app` with a lifespan that starts and stops
the background work (`runtime.executor.supervisor`). Tests call `build_runtime(settings,
...)` with their own store/bus/clock and `create_app(runtime)`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from infra.topology import Topology, load
from runtime.common.metrics import instrument_executor
from runtime.executor import app as app_module
from runtime.executor.books import BookCache, SimulatedBooks, stream_books
from runtime.executor.hotpath import HotPath, Inventory, Publisher
from runtime.executor.service import ExecutorService
from runtime.executor.settings import ExecutorSettings
from runtime.executor.supervisor import RefreshingConsumer, Supervisor
from runtime.executor.venues import VenueSet, build_venues, market_for_mode
from shared.clock import WallClock
from shared.config.venues import MarketConfig, load_market_config
from shared.execution.arb_plans import ArbPlans
from shared.execution.arbitrage import ArbitrageEngine, build_engine
from shared.execution.breaker import Breakers
from shared.execution.claims import ClaimedVenues
from shared.execution.config import ExecutorConfig, load_executor_config
from shared.execution.paper_venue_state import PaperVenueState
from shared.execution.pretrade import PreTradeGate
from shared.execution.routing import GuardedVenues, RejectTracker, Router
from shared.handlers import executor
from shared.ports import Bus, Clock, Secrets, Store

log = logging.getLogger("tradewinds.executor.bootstrap")


@dataclass
class ExecutorRuntime:
    settings: ExecutorSettings
    market: MarketConfig
    config: ExecutorConfig
    store: Store
    bus: Bus
    clock: Clock
    secrets: Secrets
    cache: BookCache
    venues: VenueSet
    engine: ArbitrageEngine
    service: ExecutorService
    supervisor: Supervisor
    simulator: Any = None
    claims: Store | None = None  # order claims (order_claims/), written before every send
    paper_state: PaperVenueState | None = None  # paper mode: what the paper venues executed


# -- adapters (by env, as functions/bootstrap.py) ----------------------------------------
def build_store(settings: ExecutorSettings) -> Store:
    if settings.store == "firestore":
        from shared.adapters.gcp.firestore_store import FirestoreStore

        return FirestoreStore(project=settings.project)
    from shared.adapters.local.sqlite_store import SqliteStore

    return SqliteStore(settings.sqlite_path)


def side_store(store: Store, path: str, name: str) -> Store:
    """A store written outside the step's transaction: a SQLite file of its own next to a
    SQLite store (`path` when given; in memory when the store is), else the store itself
    (Firestore: a plain write is never part of an open transaction)."""
    from shared.adapters.local.sqlite_store import SqliteStore

    if path:
        return SqliteStore(path, synchronous="FULL")
    if isinstance(store, SqliteStore):
        if store.path == ":memory:":
            return SqliteStore(":memory:")
        main = Path(store.path)
        return SqliteStore(main.with_name(f"{main.stem}-{name}.sqlite"), synchronous="FULL")
    return store


def build_bus(settings: ExecutorSettings, topology: Topology, clock: Clock, store: Store) -> Bus:
    if settings.bus == "pubsub":
        from shared.adapters.gcp.pubsub_bus import PubSubBus

        return PubSubBus(topology, project=settings.project)
    from shared.adapters.local.bus import InProcessBus

    return InProcessBus(topology, clock, store, durable=True)  # a crash loses no message


def build_secrets(settings: ExecutorSettings) -> Secrets:
    if settings.secrets == "secret-manager":
        from shared.adapters.gcp.secret_manager import SecretManagerSecrets

        return SecretManagerSecrets(project=settings.project)
    from shared.adapters.local.secrets import EnvFileSecrets

    return EnvFileSecrets()


def build_dlq(settings: ExecutorSettings, bus: Bus, store: Store, clock: Clock):
    if hasattr(bus, "dead_letters"):  # the in-process bus keeps its own
        return bus
    from runtime.executor.dlq import PubSubDeadLetters

    return PubSubDeadLetters(bus, store, clock, batch=settings.dlq_batch)


def build_telegram(settings: ExecutorSettings, store: Store, bus: Bus, clock: Clock, secrets: Secrets):
    """The Telegram webhook deps when the bot token and webhook secret exist, else None."""
    path = Path(settings.config_dir) / "notifications.yaml"
    if not path.exists():
        return None
    try:
        from runtime.executor.telegram import build_telegram_deps

        deps = build_telegram_deps(store, bus, clock, secrets, config_path=path)
        secrets.get(deps.webhook_secret_name)
        return deps
    except KeyError as exc:
        log.info("telegram webhook not mounted: a secret is missing", extra={"detail": str(exc)[:200]})
        return None


# -- the runtime -------------------------------------------------------------------------
def build_runtime(settings: ExecutorSettings, *, store: Store | None = None, bus: Bus | None = None,
                  clock: Clock | None = None, secrets: Secrets | None = None,
                  topology: Topology | None = None, dlq: Any = None) -> ExecutorRuntime:
    topology = topology or load()
    clock = clock or WallClock()
    store = store if store is not None else build_store(settings)
    bus = bus if bus is not None else build_bus(settings, topology, clock, store)
    secrets = secrets if secrets is not None else build_secrets(settings)
    market = market_for_mode(load_market_config(settings.market_path), settings)
    cfg_path = Path(settings.config_dir) / "executor.yaml"
    config = load_executor_config(cfg_path) if cfg_path.exists() else ExecutorConfig()

    cache = BookCache()
    simulator = None
    if settings.mode == "paper" and (settings.books == "simulated" or (
            settings.books == "config" and any(v.kind == "simulated" for v in market.enabled_venues))):
        from shared.market.simulator import MarketSimulator

        simulator = MarketSimulator(market, settings.seed, clock.now(), update_interval_s=settings.sim_interval_s)
    claims = side_store(store, settings.claims_path, "claims")
    paper_state = (PaperVenueState(side_store(store, settings.paper_venue_path, "paper-venues"))
                   if settings.mode == "paper" else None)
    venues = build_venues(settings, market, store=store, secrets=secrets, clock=clock, cache=cache,
                          simulator=simulator, paper_state=paper_state)
    sending = ClaimedVenues(venues.trading, claims, clock).wrapped()  # a durable claim before every send

    risk = _risk_config(settings)
    gate = PreTradeGate(clock, config.pretrade, limits=risk.limits if risk else None)
    guarded = GuardedVenues(sending, clock, Breakers(clock, config.breaker), RejectTracker(config.routing))
    engine = build_engine(market, config, sending, cache.get, clock, gate=gate, guarded=guarded)
    engine.legs.plans = ArbPlans(claims, clock)  # an opportunity's plan is durable before its first leg
    venues_of = {s: [v.name for v in market.enabled_venues if v.lists(s)] for s in market.symbols}
    orders = executor.ExecutorDeps(
        venue=_Sender(guarded), clock=clock, config=config, gate=gate,
        router=Router(guarded, cache.get, venues.fees_bps, venues_of), usd=market.quote,
        listed={v.name: set(market.symbols_of(v.name)) for v in market.enabled_venues})
    service = ExecutorService(
        store=store, bus=bus, clock=clock, secrets=secrets, gate=gate, orders=orders,
        dlq=dlq if dlq is not None else build_dlq(settings, bus, store, clock), version=settings.version,
        telegram=build_telegram(settings, store, bus, clock, secrets))

    publisher = Publisher(bus, clock, settings.publish_retry_s)
    inventory = Inventory([v.name for v in market.enabled_venues])
    hot = HotPath(engine, cache, inventory, clock, publisher)
    # what the console's read models and actions need (runtime/executor/console_api.py)
    service.risk_config = risk
    service.accounts = venues.accounts
    service.hot_path_us = lambda: [s * 1e6 for s in list(hot.stats.decide_s)]
    sources = _sources(settings, venues, cache, clock, simulator)
    supervisor = Supervisor(
        service=service, engine=engine, hot=hot, publisher=publisher, inventory=inventory,
        accounts=venues.accounts,
        consumer=_Consumer(bus=bus, store=store, clock=clock, topology=topology, deps=orders,
                           publish_pending=service.publish_pending),
        sources=sources,
        prepare=partial(_seed_paper_balances, market, store, risk) if settings.mode == "paper" else None,
        live=settings.mode == "live",
        refresh_s=settings.refresh_interval_s or config.pretrade.refresh_seconds,
        flush_s=settings.flush_interval_s, reconcile_retry_s=settings.reconcile_retry_s,
        reconcile_s=settings.reconcile_interval_s, claims=claims, claim_grace_s=settings.claim_grace_s)
    service.extra_checks["loops"] = supervisor.healthy
    return ExecutorRuntime(settings, market, config, store, bus, clock, secrets, cache, venues, engine,
                           service, supervisor, simulator, claims, paper_state)


class _Consumer(RefreshingConsumer):
    """The bus consumer; the supervisor starts it once reconciliation is done, and before it
    takes new orders it publishes what reconciliation settled (the executor's pending outbox)."""

    def __init__(self, *, publish_pending: Callable[[], int], **kw):
        super().__init__(**kw)
        self.publish_pending = publish_pending

    def start(self) -> None:
        try:
            sent = self.publish_pending()
            log.info("published the pending outbox", extra={"entries": sent})
        except Exception:  # kept pending: published on the next start
            log.exception("publishing the pending outbox failed")
        super().start()


class _Sender:
    """ExecutorDeps.venue for manual/strategy orders: the breaker-guarded send."""

    def __init__(self, guarded: GuardedVenues):
        self.guarded = guarded

    def execute(self, order):
        return self.guarded.send(order)


def _sources(settings: ExecutorSettings, venues: VenueSet, cache: BookCache, clock: Clock, simulator) -> list:
    """Coroutine factories, one per book source (started by the supervisor)."""
    sources = []
    if simulator is not None and venues.simulated:
        pairs = [(f.venue, s) for f in venues.simulated for s in f.symbols]
        sources.append(SimulatedBooks(simulator, pairs, cache, clock, settings.sim_interval_s).run)
    if venues.streamed:
        feeds = [(f.venue, f.ccxt_id, f.symbols) for f in venues.streamed]
        sources.append(partial(stream_books, feeds, cache, clock, settings.book_depth, settings.ccxt_urls))
    return sources


def _risk_config(settings: ExecutorSettings):
    """risk.yaml: the limits the pre-trade gate checks and the paper start balances."""
    path = Path(settings.config_dir) / "risk.yaml"
    if not path.exists():
        log.warning("no risk.yaml: no order-size limit in the gate, no paper balances", extra={"path": str(path)})
        return None
    from shared.risk.config import load_risk_config

    return load_risk_config(path)


def _seed_paper_balances(market: MarketConfig, store: Store, risk) -> None:
    """Paper start balances (create-if-absent: the risk step seeds the same documents)."""
    if risk is None:
        return
    from shared.ledger.book import seed_balances

    with store.transaction() as tx:
        seed_balances(tx, [v.name for v in market.enabled_venues], risk.portfolio.start_balances)


# -- the app ------------------------------------------------------------------------------
def attach(rt: ExecutorRuntime) -> FastAPI:
    """The executor app for a runtime, with the background work in its lifespan."""
    app = app_module.create_app(rt.service)
    instrument_executor(app, rt)  # GET /metrics (Prometheus text, scraped by the GMP sidecar)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await rt.supervisor.start()
        try:
            yield
        finally:
            await rt.supervisor.stop()

    app.router.lifespan_context = lifespan
    app.state.runtime = rt
    return app


_lock = threading.Lock()
_runtime: ExecutorRuntime | None = None


def runtime() -> ExecutorRuntime:
    """The instance's runtime, built once from the environment."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(ExecutorSettings.from_env())
        return _runtime


def create_app(rt: ExecutorRuntime | None = None) -> FastAPI:
    return attach(rt or runtime())
