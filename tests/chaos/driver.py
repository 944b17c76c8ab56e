"""The chaos suite's child process: the composed executor (runtime.executor.bootstrap, paper
mode) on files in `--dir`, with the risk step booking its executions (the ledger) over the
in-process bus, driven through one scenario; `TW_CRASH_AT` (shared.crashpoints) kills it.

    python -m tests.chaos.driver --dir D --scenario api|consume|arb --phase run
    python -m tests.chaos.driver --dir D --scenario ... --phase recover [--redeliver-first]

`run` does the scenario's work: `api` submits ORDERS manual orders (service.submit, what
POST /v1/orders calls), publishing and booking each before the next; `consume` publishes
ORDERS strategy orders on `orders` and lets the executor's bus consumer take them; `arb`
trades one planted cross-venue dislocation whose sell leg fills short, so a hedge follows.
`recover` is the restarted process: start-up reconciliation (claims included), the
arbitrage left unbalanced hedged from its plan (`supervisor.resume_legs`; the hedge published
as the hot path publishes late answers) and the pending outbox published, then the client's retry (api: the same idempotency keys) or the
transport's redelivery (consume: the same envelopes), then prints one JSON line of counts:
venue-side orders/fills/sends (the paper venues' own records), stored orders and
executions, ledger entries, positions, unresolved claims and active orders.
With `--firestore PROJECT` the store (claims and paper venue records included) is the
Firestore emulator's. With `--slow-venue NAME` that venue takes 2 s to execute an order
(after its claim is written), so the other leg of the arbitrage answers first.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from decimal import Decimal
from functools import partial
from pathlib import Path

from infra.topology import load
from runtime.executor.bootstrap import build_runtime
from runtime.executor.settings import ExecutorSettings
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.secrets import EnvFileSecrets
from shared.clock import WallClock
from shared.contracts import (
    BookLevel,
    BookSnapshot,
    Order,
    OrderSource,
    Side,
    client_order_id,
    wrap,
)
from shared.delivery import run_step
from shared.execution.arb_plans import COLLECTION as PLANS
from shared.execution.arbitrage import inventory_from_store
from shared.execution.claims import COLLECTION as CLAIMS
from shared.execution.lifecycle import ACTIVE
from shared.handlers import risk

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 5
QTY = Decimal("0.0005")
D = Decimal


def book(venue: str, bids, asks, now) -> BookSnapshot:
    lv = lambda rows: tuple(BookLevel(price=D(p), size=D(s)) for p, s in rows)
    return BookSnapshot(venue=venue, symbol="BTC/USDT", ts=now, bids=lv(bids), asks=lv(asks))


class Driver:
    def __init__(self, workdir: Path, firestore: str | None = None, wrap_store=None, slow_venue: str | None = None):
        self.clock = WallClock()
        store = None
        if firestore:
            from shared.adapters.gcp.firestore_store import FirestoreStore

            store = FirestoreStore(project=firestore)
        settings = ExecutorSettings(
            mode="paper", books="simulated", store="firestore" if firestore else "sqlite",
            sqlite_path=str(workdir / "executor.sqlite"), config_dir=str(ROOT / "config"),
            claim_grace_s=0, version="chaos")
        store = store if store is not None else _sqlite(settings.sqlite_path)
        if wrap_store is not None:  # in-process fault tests: a store that fails for a while
            settings = settings.model_copy(update={
                "claims_path": str(workdir / "claims.sqlite"), "paper_venue_path": str(workdir / "venue.sqlite")})
            store = wrap_store(store)
        self.topology = load()
        self.bus = InProcessBus(self.topology, self.clock, store, durable=True)
        self.rt = build_runtime(settings, store=store, bus=self.bus, clock=self.clock,
                                secrets=EnvFileSecrets(environ={}, secrets_dir="/nonexistent"))
        self.store = store
        self.risk = risk.build_deps(store=store, clock=self.clock, config_dir=str(ROOT / "config"))
        self.bus.subscribe("risk-executions", self._book)
        self.rt.supervisor.prepare()  # paper start balances (create-if-absent)
        now = self.clock.now()
        for symbol, price in (("BTC-USDT", "65000"), ("ETH-USDT", "3400"), ("ETH-BTC", "0.0523")):
            self.store.put("marks", symbol, {"price": price, "at": now.isoformat()})
        self.plant_books()
        if slow_venue:
            claimed = self.rt.engine.legs.guarded.venues[slow_venue].parent  # ClaimedVenues
            claimed.venues[slow_venue] = _Slow(claimed.venues[slow_venue])

    def _book(self, envelope) -> None:
        run_step(envelope, consumer="risk", handle=partial(risk.handle, deps=self.risk), store=self.store,
                 bus=self.bus, clock=self.clock, topology=self.topology)

    def plant_books(self, thin_binance: bool = False) -> None:
        now = self.clock.now()
        bids = [("65500", "0.01"), ("64000", "5")] if thin_binance else [("64990", "5")]
        asks = [("65010", "5")] if not thin_binance else [("65600", "5")]
        self.rt.cache.put(book("binance", bids, asks, now))
        self.rt.cache.put(book("okx", [("64990", "5")], [("65000", "5")], now))

    # -- scenarios ----------------------------------------------------------------------------
    def orders(self) -> list[Order]:
        return [Order(client_order_id=client_order_id(f"chaos-{i}"), venue="binance", symbol="BTC/USDT",
                      side=Side.BUY, quantity=QTY, reference_price=D("65010"), source=OrderSource.MANUAL,
                      strategy="chaos", cause_id=f"chaos-{i}", created_at=self.clock.now())
                for i in range(ORDERS)]

    def envelopes(self):
        return [wrap(o, ts=o.created_at, id=f"chaos-order-{i}") for i, o in enumerate(self.orders())]

    def api(self) -> None:
        for order in self.orders():
            self.rt.service.submit(order)
            self.bus.drain()

    def consume(self, envelopes=None) -> None:
        self.rt.supervisor.consumer.start()
        for env in envelopes or self.envelopes():
            self.bus.publish("orders", env, ordering_key=env.decode().symbol)
        self.bus.drain()

    def arb(self) -> None:
        now = self.clock.now()
        seen = {("binance", "BTC/USDT"): book("binance", [("65500", "0.03"), ("64000", "5")], [("65600", "5")], now),
                ("okx", "BTC/USDT"): book("okx", [("64990", "5")], [("65000", "5")], now)}
        engine = self.rt.engine
        for snapshot in seen.values():
            self.rt.cache.put(snapshot)
        decided = engine.decide(seen, inventory_from_store(self.store), now)
        assert decided.approved, decided.near_misses
        self.plant_books(thin_binance=True)  # the venue's book thinned between the decision and the send
        for opp in decided.approved:
            for ex in engine.execute(opp).known:
                self.bus.publish("executions", wrap(ex, ts=now, id=ex.execution_id), ordering_key=ex.symbol)
        self.rt.engine.writer.flush(self.store)
        self.bus.drain()

    def recover(self, scenario: str, redeliver_first: bool) -> dict:
        sup = self.rt.supervisor
        if not redeliver_first:
            sup.reconcile_all()
            self.resume_legs()
            self.rt.service.publish_pending()
            self.bus.drain()
        if scenario == "api":
            self.api()  # the client retries every request with its idempotency key
        elif scenario == "consume":
            self.consume()  # the transport redelivers what was not acknowledged
        if redeliver_first:
            sup.reconcile_all()
            self.resume_legs()
            self.rt.service.publish_pending()
        sup.reconcile_unknown()
        self.rt.service.publish_pending()
        self.rt.engine.writer.flush(self.store)
        self.bus.drain()
        return self.counts()

    def resume_legs(self) -> None:
        """Start-up recovery of the arbitrage, then what the hot path does with what it sent:
        record and publish the hedges (`collect_late`)."""
        self.rt.supervisor.resume_legs()
        now = self.clock.now()
        for ex in self.rt.engine.collect_late():
            self.bus.publish("executions", wrap(ex, ts=now, id=ex.execution_id), ordering_key=ex.symbol)

    # -- what the test compares -----------------------------------------------------------------
    def counts(self) -> dict:
        venue = self.rt.paper_state.orders()
        executions = {d["client_order_id"]: d for _, d in self.store.query("executions")}
        orders = {i: d for i, d in self.store.query("orders") if d.get("state")}
        net: dict[str, Decimal] = defaultdict(Decimal)
        for o in venue:
            ex = self.rt.paper_state.execution(o["client_order_id"])
            net[f"{ex.venue}:{ex.symbol}"] += ex.filled_quantity * (1 if ex.side is Side.BUY else -1)
        held: dict[str, Decimal] = defaultdict(Decimal)
        for _, p in self.store.query("positions"):
            held[f"{p['venue']}:{p['symbol']}"] += D(p["quantity"])
        return {
            "venue_orders": len(venue),
            "venue_fills": sorted(o["client_order_id"] for o in venue if D(o["filled"]) > 0),
            "venue_filled": {o["client_order_id"]: o["filled"] for o in venue if D(o["filled"]) > 0},
            "max_sends": max((int(o["sends"]) for o in venue), default=0),
            "stored_fills": sorted(i for i, d in orders.items() if D(d.get("filled_quantity", "0")) > 0),
            "stored_filled": {i: d["filled_quantity"] for i, d in orders.items()
                              if D(d.get("filled_quantity", "0")) > 0},
            "ledger_fills": sorted(c for c, d in executions.items() if D(d["filled_quantity"]) > 0),
            "ledger_filled": {c: d["filled_quantity"] for c, d in executions.items()
                              if D(d["filled_quantity"]) > 0},
            "venue_net": {k: str(v) for k, v in sorted(net.items()) if v},
            "positions": {k: str(v) for k, v in sorted(held.items()) if v},
            "unresolved_claims": len(self.rt.claims.query(CLAIMS, [("resolved", "==", False)])),
            "unsettled_plans": len(self.rt.claims.query(PLANS)),
            "venue_hedges": sorted(o["client_order_id"] for o in venue if D(o["filled"]) > 0
                                   and self.rt.paper_state.execution(o["client_order_id"]).source.value == "hedge"),
            "active_orders": sorted(i for i, d in orders.items() if d["state"] in {s.value for s in ACTIVE}),
        }


class _Slow:
    """A paper venue that takes 2 s to execute (resolving is as quick as ever)."""

    def __init__(self, inner):
        self.inner = inner

    def execute(self, order):
        time.sleep(2)
        return self.inner.execute(order)

    def __getattr__(self, name):  # resolve (reconciliation's look-up) and the rest: the venue's own
        return getattr(self.inner, name)


def _sqlite(path: str):
    from shared.adapters.local.sqlite_store import SqliteStore

    return SqliteStore(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--scenario", choices=("api", "consume", "arb"), required=True)
    parser.add_argument("--phase", choices=("run", "recover"), required=True)
    parser.add_argument("--redeliver-first", action="store_true")
    parser.add_argument("--firestore", default=None)
    parser.add_argument("--slow-venue", default=None)
    args = parser.parse_args(argv)
    driver = Driver(args.dir, args.firestore, slow_venue=args.slow_venue)
    if args.phase == "run":
        getattr(driver, args.scenario)()
        print(json.dumps({"completed": True}))
    else:
        print(json.dumps(driver.recover(args.scenario, args.redeliver_first)))


if __name__ == "__main__":
    main()
