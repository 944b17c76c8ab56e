"""Scoring one replay for bench/arbitrage_capture.py (the definitions are in its docstring).

`Scorer` runs beside the pipeline: each minute the oracle on the books the scanner saw (and,
on a shadow simulator with the same seed, on every book update up to it); at the end the
engine's `arbitrage` documents, the near misses, the balances and the marks of the store.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from shared.errors import ExchangeUnavailable
from shared.execution.config import load_executor_config
from shared.market.oracle import Oracle, cause, usd_prices
from shared.market.simulator import MarketSimulator

ZERO = Decimal(0)


def prices_from_marks(marks: dict[str, Decimal], quote: str) -> dict[str, Decimal]:
    """USD price per asset from the end marks: the lead's shared/ledger/nav.asset_prices."""
    from shared.ledger.nav import asset_prices

    return asset_prices(marks, quote)


@dataclass
class SeedResult:
    seed: int
    hours: float
    planted: int = 0
    planted_with_edge: int = 0             # ... with an oracle edge at a minute snapshot
    planted_with_update_edge: int = 0      # ... with one at some book update
    oracle_cross: Decimal = ZERO
    oracle_triangle: Decimal = ZERO
    oracle_unplanted: Decimal = ZERO       # edges no planted dislocation explains (lag, noise)
    oracle_updates: Decimal = ZERO         # the oracle at every book update (grid step)
    capped: Decimal = ZERO
    capped_taken: Decimal = ZERO           # the capped bound where the engine executed that key
    missed: dict = field(default_factory=lambda: defaultdict(Decimal))  # capped bound left, by reason
    captured_cross: Decimal = ZERO
    captured_triangle: Decimal = ZERO
    executed: int = 0
    legging_losses: int = 0
    not_flat: int = 0
    net_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    transfer_fees: Decimal = ZERO
    ledger_total: Decimal | None = None    # nav.compute's total from `ledger/pnl`, if written
    dlq: int = 0
    near_misses: Counter = field(default_factory=Counter)
    wall_s: float = 0.0

    @property
    def oracle(self) -> Decimal:
        return self.oracle_cross + self.oracle_triangle

    @property
    def captured(self) -> Decimal:
        return self.captured_cross + self.captured_triangle


class Scorer:
    """Runs beside the replay: the oracle on each minute's books, the prices, the planted record."""

    def __init__(self, pipeline, result: SeedResult):
        self.p, self.r = pipeline, result
        cfg = load_executor_config(pipeline.cfg.config_dir / "executor.yaml").arbitrage
        self.cap = cfg.max_order_usd
        self.oracle = Oracle(pipeline.market, timedelta(milliseconds=cfg.max_book_age_ms))
        self.prices: dict[str, dict[str, Decimal]] = {}   # minute (ISO) -> asset -> USDT
        self.seen: set = set()                            # planted dislocations with an edge
        self.seen_updates: set = set()                    # ... at some book update
        self.capped_at: list[tuple[str, Decimal]] = []    # (key@minute, bound in USDT)
        cfg = pipeline.cfg
        self.shadow = MarketSimulator(pipeline.market, seed=cfg.seed, start=cfg.start)  # same market
        if cfg.crash:
            asset, after_h, drop = cfg.crash
            self.shadow.plant_crash(asset, cfg.start + timedelta(hours=after_h), drop)

    def books(self, sim: MarketSimulator, tops: bool = False) -> dict:
        out = {}
        for venue in self.p.market.enabled_venues:
            for symbol in self.p.market.symbols_of(venue.name):
                try:
                    out[(venue.name, symbol)] = (sim.top if tops else sim.book)(venue.name, symbol)
                except ExchangeUnavailable:
                    continue
        return out

    def updates(self, now) -> None:
        """The oracle at every grid step up to `now` (books built only where the touch shows an edge)."""
        sim, step = self.shadow, timedelta(seconds=self.shadow.step_s)
        while sim.now + step <= now:
            sim.advance(sim.now + step)
            if self.oracle.any_edge(self.oracle.fresh(self.books(sim, tops=True), sim.now)):
                books = self.books(sim)
                px = usd_prices(books, self.p.market.quote)
                planted = [d for d in sim.dislocations() if d.end > sim.now]
                for edge in self.oracle.edges(books, sim.now):
                    self.r.oracle_updates += edge.profit * px[edge.home]
                    why = cause(edge, planted, sim.now)
                    if why is not None:
                        self.seen_updates.add(why)

    def minute(self) -> None:
        now = self.p.clock.now()
        self.updates(now)
        books = self.books(self.p.sim)   # the snapshots the scanner saw this minute (cached per step)
        px = self.prices[now.isoformat()] = usd_prices(books, self.p.market.quote)
        edges = self.oracle.edges(books, now)
        if not edges:
            return
        planted = [d for d in self.p.sim.dislocations(now) if d.end > now]
        for edge in edges:
            usd = edge.profit * px[edge.home]
            if edge.kind == "cross":
                self.r.oracle_cross += usd
            else:
                self.r.oracle_triangle += usd
            why = cause(edge, planted, now)
            if why is None:
                self.r.oracle_unplanted += usd
            else:
                self.seen.add(why)
        for edge in self.oracle.capped_edges(books, self.cap, px, now):
            usd = edge.profit * px[edge.home]
            self.r.capped += usd
            self.capped_at.append((f"{edge.key}@{now.isoformat()}".replace("/", "-"), usd))

    def finish(self, start: dict[tuple[str, str], Decimal]) -> None:
        store, r = self.p.store, self.r
        r.planted = len(self.p.sim.dislocations())
        r.planted_with_edge = len(self.seen)
        r.planted_with_update_edge = len(self.seen_updates)
        for _, doc in store.query("arbitrage"):
            px = self.prices.get(doc["detected_at"]) or self.prices[max(self.prices)]
            value = Decimal(doc["realised"]) * px[doc["home"]]
            if doc["kind"] == "triangle":
                r.captured_triangle += value
            else:
                r.captured_cross += value
            r.executed += 1
            r.legging_losses += Decimal(doc.get("legging_loss", "0")) > 0
            r.not_flat += not doc.get("flat", True)
        self._missed({k for k, _ in store.query("arbitrage")},
                     {k: d.get("reason", "?") for k, d in store.query("near_misses")})
        r.near_misses = Counter(f"{d.get('kind', '?')}:{d.get('reason', '?')}" for _, d in store.query("near_misses"))
        marks = {k.replace("-", "/"): Decimal(d["price"]) for k, d in store.query("marks")}
        prices = prices_from_marks(marks, self.p.market.quote)
        end = {(d["venue"], d["asset"]): Decimal(d["total"]) for _, d in store.query("balances")}
        missing = set()
        for key in set(start) | set(end):
            delta = end.get(key, ZERO) - start.get(key, ZERO)
            if delta and key[1] not in prices:
                missing.add(key[1])
            r.net_pnl += delta * prices.get(key[1], ZERO)
        if missing:
            print(f"  warning: no end price for {sorted(missing)}: left out of net PnL", file=sys.stderr)
        r.fees = sum((Decimal(d.get("fee_usd", "0")) for _, d in store.query("executions")), ZERO)
        r.transfer_fees = Decimal((store.get("ledger", "totals") or {}).get("transfer_fees_usd", "0"))
        r.dlq = len(store.query("dlq", [("status", "==", "dead")]))
        r.ledger_total = ledger_total(store, prices)


    def _missed(self, executed: set[str], misses: dict[str, str]) -> None:
        """Each capped edge (opportunity key at a minute): taken when the engine executed that
        key then, else missed under the near miss it recorded for it (or `not scanned`)."""
        for doc_id, usd in self.capped_at:
            if doc_id in executed:
                self.r.capped_taken += usd
            else:
                self.r.missed[misses.get(doc_id, "no near miss")] += usd


def ledger_total(store, prices) -> Decimal | None:
    """The lead's one computation (shared/ledger/nav.py) over `ledger/pnl`, when it is written."""
    try:
        from shared.ledger.nav import DOC, LedgerPnl, compute
    except ImportError:
        return None
    ledger = LedgerPnl.from_doc(store.get(*DOC))
    return compute(ledger, prices).total if ledger.flows else None
