"""Scoring one replay for bench/arbitrage_capture.py (the definitions are in its docstring).

`Scorer` runs beside the pipeline on a shadow simulator with the same seed (the same market,
book for book): at every book update (grid step) the oracle and the capped bound on the books
the engine's scanner saw then, and the minute snapshots among them; at the end the engine's
`arbitrage` documents, the near misses, the balances, the marks and the attribution of the store.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from shared.errors import ExchangeUnavailable
from shared.execution.config import load_executor_config
from shared.market.oracle import Oracle, cause, usd_prices
from shared.market.simulator import MarketSimulator

ZERO = Decimal(0)
NOT_SCANNED = "not scanned (touch < min edge)"
# the bench's attribution columns: statement()["attribution"] sources, grouped
GROUPS = (("arb cross", "arb_cross"), ("arb tri.", "arb_triangle"), ("strategies", "strategy:"),
          ("rebalance", "rebalance"), ("inv. moves", "inventory_moves"))


def prices_from_marks(marks: dict[str, Decimal], quote: str) -> dict[str, Decimal]:
    """USD price per asset from the end marks: the lead's shared/ledger/nav.asset_prices."""
    from shared.ledger.nav import asset_prices

    return asset_prices(marks, quote)


@dataclass
class SeedResult:
    seed: int
    hours: float
    planted: int = 0
    planted_with_edge: int = 0             # ... with an oracle edge at some book update
    planted_with_minute_edge: int = 0      # ... with one at a minute snapshot
    oracle_cross: Decimal = ZERO           # the oracle at every book update (what the scanner sees)
    oracle_triangle: Decimal = ZERO
    oracle_unplanted: Decimal = ZERO       # edges no planted dislocation explains (lag, noise)
    oracle_minute: Decimal = ZERO          # the oracle at the minute snapshots only
    capped: Decimal = ZERO                 # every update, each pair / cycle alone, <= the arbitrage cap
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
    attribution: dict = field(default_factory=dict)  # statement()["attribution"]: source -> USDT
    halted: str = ""                       # "cause at time" when the panic brake (or anyone) halted
    dlq: int = 0
    near_misses: Counter = field(default_factory=Counter)
    wall_s: float = 0.0

    @property
    def oracle(self) -> Decimal:
        return self.oracle_cross + self.oracle_triangle

    @property
    def captured(self) -> Decimal:
        return self.captured_cross + self.captured_triangle

    def group(self, label: str) -> Decimal:
        """An attribution column: the sources it groups (see GROUPS)."""
        prefix = dict(GROUPS)[label]
        return sum((v for k, v in self.attribution.items()
                    if (k.startswith(prefix) if prefix.endswith(":") else k == prefix)), ZERO)

    @property
    def other(self) -> Decimal:
        """Attribution outside the grouped columns (sweeps, corrections, unattributed)."""
        return sum(self.attribution.values(), ZERO) - sum((self.group(g) for g, _ in GROUPS), ZERO)


class Scorer:
    """Runs beside the replay: the oracle at each book update, the prices, the planted record."""

    def __init__(self, pipeline, result: SeedResult):
        self.p, self.r = pipeline, result
        cfg = load_executor_config(pipeline.cfg.config_dir / "executor.yaml").arbitrage
        self.cap = cfg.max_notional_usd
        self.oracle = Oracle(pipeline.market, timedelta(milliseconds=cfg.max_book_age_ms))
        self.prices: dict[str, dict[str, Decimal]] = {}   # update time (ISO) -> asset -> USDT
        self.seen: set = set()                            # planted dislocations with an edge
        self.seen_minute: set = set()                     # ... at a minute snapshot
        self.capped_at: list[tuple[str, Decimal]] = []    # (key@time, bound in USDT)
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

    def minute(self) -> None:
        """After each replayed minute: the oracle at every book update up to it."""
        now = self.p.clock.now()
        # the minute's books are the scanner's, cached in the pipeline's simulator
        self.prices[now.isoformat()] = usd_prices(self.books(self.p.sim), self.p.market.quote)
        sim, step = self.shadow, timedelta(seconds=self.shadow.step_s)
        while sim.now + step <= now:
            sim.advance(sim.now + step)
            if self.oracle.any_edge(self.oracle.fresh(self.books(sim, tops=True), sim.now)):
                self.update(sim, sim.now == now)

    def update(self, sim: MarketSimulator, on_minute: bool) -> None:
        at = sim.now
        books = self.books(sim)
        px = self.prices[at.isoformat()] = usd_prices(books, self.p.market.quote)
        planted = [d for d in sim.dislocations() if d.end > at]
        for edge in self.oracle.edges(books, at):
            usd = edge.profit * px[edge.home]
            if edge.kind == "cross":
                self.r.oracle_cross += usd
            else:
                self.r.oracle_triangle += usd
            if on_minute:
                self.r.oracle_minute += usd
            why = cause(edge, planted, at)
            if why is None:
                self.r.oracle_unplanted += usd
            else:
                self.seen.add(why)
                if on_minute:
                    self.seen_minute.add(why)
        for edge in self.oracle.capped_edges(books, self.cap, px, at):
            usd = edge.profit * px[edge.home]
            self.r.capped += usd
            self.capped_at.append((f"{edge.key}@{at.isoformat()}".replace("/", "-"), usd))

    def price_at(self, iso: str) -> dict[str, Decimal]:
        """The prices at that update, else at the latest scored time before it."""
        if iso in self.prices:
            return self.prices[iso]
        times = sorted(self.prices)
        return self.prices[times[max(bisect_right(times, iso) - 1, 0)]]

    def finish(self, start: dict[tuple[str, str], Decimal]) -> None:
        store, r = self.p.store, self.r
        r.planted = len(self.shadow.dislocations())
        r.planted_with_edge = len(self.seen)
        r.planted_with_minute_edge = len(self.seen_minute)
        for _, doc in store.query("arbitrage"):
            value = Decimal(doc["realised"]) * self.price_at(doc["detected_at"])[doc["home"]]
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
        r.attribution = attribution(store, self.p.market.quote)
        risk = store.get("state", "risk") or {}
        if risk.get("halted"):
            r.halted = f"{risk.get('halt_cause') or risk.get('halted_by', '?')} at {_hhmm(risk.get('halted_at'))}"

    def _missed(self, executed: set[str], misses: dict[str, str]) -> None:
        """Each capped edge (opportunity key at an update): taken when the engine executed that
        key then, else missed under the near miss it recorded for it; with none, the replay
        did not scan that update (its touch pre-check found no edge >= min_edge_bps)."""
        for doc_id, usd in self.capped_at:
            if doc_id in executed:
                self.r.capped_taken += usd
            else:
                self.r.missed[misses.get(doc_id, NOT_SCANNED)] += usd


def _hhmm(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%H:%M") if iso else "?"


def attribution(store, quote: str) -> dict[str, Decimal]:
    """The run statement's attribution (shared/ledger/statement.py): sums to the total PnL."""
    try:
        from shared.ledger.statement import statement
    except ImportError:
        return {}
    return dict(statement(store, quote)["attribution"])


def ledger_total(store, prices) -> Decimal | None:
    """The lead's one computation (shared/ledger/nav.py) over `ledger/pnl`, when it is written."""
    try:
        from shared.ledger.nav import DOC, LedgerPnl, compute
    except ImportError:
        return None
    ledger = LedgerPnl.from_doc(store.get(*DOC))
    return compute(ledger, prices).total if ledger.flows else None
