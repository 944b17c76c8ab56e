"""The arbitrage hot path: book update → scan → slippage check → pre-trade check →
concurrent IOC legs → hedge of any residual → record (written behind, never awaited).

`decide()` is everything up to the order decision (what bench/hot_path.py times);
`scan_and_execute()` is the whole loop the local replay calls each step with the
simulator's books; its Executions are what the caller publishes on `executions`. A leg
whose outcome is unknown is recorded `open` (for reconciliation) and not published; a leg
that answers late is published and recorded by the next `scan_and_execute` or
`collect_late()`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from shared.config.venues import MarketConfig
from shared.contracts import Execution
from shared.execution import slippage
from shared.execution.breaker import Breakers
from shared.execution.config import ArbitrageConfig, ExecutorConfig
from shared.execution.legs import ArbOutcome, LegExecutor, asset_deltas
from shared.execution.lifecycle import OrderRecord, OrderState
from shared.execution.opportunity import MissReason, NearMiss, Opportunity
from shared.execution.pretrade import PreTradeGate
from shared.execution.routing import GuardedVenues, RejectTracker, Venue, outcome_unknown
from shared.execution.scanner import Books, Inventory, Scanner
from shared.execution.writebehind import WriteBehind
from shared.ports import Clock, Store

log = logging.getLogger("tradewinds.executor.arbitrage")


@dataclass
class Decisions:
    approved: list[Opportunity] = field(default_factory=list)
    near_misses: list[NearMiss] = field(default_factory=list)


def inventory_from_store(store: Store, venues=None) -> dict[tuple[str, str], Decimal]:
    """Free balances per (venue, asset) from `balances/` (read off the hot path)."""
    out = {}
    for _, doc in store.query("balances"):
        if venues is None or doc["venue"] in venues:
            out[(doc["venue"], doc["asset"])] = Decimal(doc["total"])
    return out


class ArbitrageEngine:
    def __init__(self, scanner: Scanner, legs: LegExecutor, gate: PreTradeGate, cfg: ArbitrageConfig,
                 clock: Clock, writer: WriteBehind | None = None):
        self.scanner, self.legs, self.gate, self.cfg, self.clock = scanner, legs, gate, cfg, clock
        self.writer = writer or WriteBehind()
        self.fees_bps = {v: f * 10_000 for v, f in scanner.fee.items()}
        self.outcomes: list[ArbOutcome] = []

    # -- up to the decision (the hot path measured by the bench) -------------------------
    def decide(self, books: Books, inventory: Inventory, now, update: tuple[str, str] | None = None) -> Decisions:
        found = (self.scanner.scan_update(update[0], update[1], books, inventory, now) if update
                 else self.scanner.scan(books, inventory, now))
        out = Decisions(near_misses=list(found.near_misses))
        for opp in sorted(found.opportunities, key=lambda o: -(o.notional_usd * o.net_bps)):
            check = slippage.validate(opp, books, self.cfg, self.fees_bps)
            if not check.ok:
                out.near_misses.append(NearMiss(opp.kind, opp.key, MissReason.SLIPPAGE, opp.gross_bps,
                                                opp.net_bps, now, check.detail))
                continue
            reasons = self.gate.check(opp.notional_usd)
            if reasons:
                out.near_misses.append(NearMiss(opp.kind, opp.key, MissReason.RISK, opp.gross_bps,
                                                opp.net_bps, now, "; ".join(reasons)))
                continue
            out.approved.append(opp)
        return out

    # -- execution and write-behind -----------------------------------------------------
    def execute(self, opp: Opportunity) -> ArbOutcome:
        outcome = self.legs.run(opp)
        now = self.clock.now()
        orders = {o.client_order_id: o for o in opp.orders()}
        for ex in outcome.executions:
            order = orders.get(ex.client_order_id)
            self._record(ex, now, order.reference_price if order else ex.expected_price)
        self.writer.put("arbitrage", opp.id.replace("/", "-"), outcome.to_doc())
        if outcome.legging_loss > 0 or not outcome.flat:
            log.warning("legging loss", extra={"key": opp.key, "loss": str(outcome.legging_loss),
                                               "residual": {k: str(v) for k, v in outcome.residual.items()}})
        self.outcomes.append(outcome)
        return outcome

    def _record(self, ex: Execution, now, expected, state: OrderState = OrderState.NEW) -> None:
        self.gate.record_latency(ex.latency_ms)
        rec = OrderRecord(ex.client_order_id, ex.venue, ex.symbol, ex.side, ex.requested_quantity, state,
                          order_type="limit_ioc", source=ex.source.value, submitted=True,
                          strategy=ex.strategy, reference_price=expected)
        self.writer.put("orders", ex.client_order_id, rec.apply_execution(ex, now).to_doc())
        if not outcome_unknown(ex):
            self.writer.put("slippage", ex.execution_id, slippage.realised_doc(ex, expected))

    def collect_late(self) -> list[Execution]:
        """Leg answers that came after their timeout: recorded now, to be published."""
        late = self.legs.drain_late()
        now = self.clock.now()
        for ex in late:  # the leg was recorded open when its answer did not come in time
            self._record(ex, now, ex.expected_price, OrderState.OPEN)
        return [ex for ex in late if not outcome_unknown(ex)]

    def record_misses(self, misses: list[NearMiss]) -> None:
        for miss in misses:
            self.writer.put("near_misses", miss.id, miss.to_doc())

    def scan_and_execute(self, books: Books, inventory: Inventory, clock: Clock | None = None,
                         update: tuple[str, str] | None = None) -> list[Execution]:
        now = (clock or self.clock).now()
        decisions = self.decide(books, inventory, now, update)
        inv = defaultdict(Decimal, inventory)
        executions: list[Execution] = self.collect_late()
        for opp in decisions.approved:
            short = _short_of(opp, inv)
            if short:
                decisions.near_misses.append(NearMiss(opp.kind, opp.key, MissReason.INVENTORY, opp.gross_bps,
                                                      opp.net_bps, now, short))
                continue
            outcome = self.execute(opp)
            known = outcome.known
            for venue in {e.venue for e in known}:
                for asset, delta in asset_deltas([e for e in known if e.venue == venue]).items():
                    inv[(venue, asset)] += delta
            executions.extend(known)
        self.record_misses(decisions.near_misses)
        return executions


def build_engine(market: MarketConfig, cfg: ExecutorConfig, venues: Mapping[str, Venue], books, clock: Clock,
                 gate: PreTradeGate | None = None, guarded: GuardedVenues | None = None) -> ArbitrageEngine:
    """Wire scanner, guarded venues, leg executor and gate from the market config.
    `books(venue, symbol)` gives the latest book (used for hedges)."""
    guarded = guarded or GuardedVenues(venues, clock, Breakers(clock, cfg.breaker), RejectTracker(cfg.routing))
    scanner = Scanner.from_market(market, cfg.arbitrage)
    legs = LegExecutor(guarded, books, cfg.arbitrage, {v.name: v.taker_fee_bps for v in market.enabled_venues},
                       {s: i.lot_size for s, i in market.instruments.items()})
    return ArbitrageEngine(scanner, legs, gate or PreTradeGate(clock, cfg.pretrade), cfg.arbitrage, clock)


def _short_of(opp: Opportunity, inv: Mapping[tuple[str, str], Decimal]) -> str:
    """Inventory still missing for the legs after earlier executions in the same scan."""
    need: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for leg in opp.legs:
        base, quote = leg.symbol.split("/")
        if leg.side.value == "buy":
            need[(leg.venue, quote)] += leg.quantity * leg.limit_price
        else:
            need[(leg.venue, base)] += leg.quantity
    short = [f"{v}:{a} {inv.get((v, a), Decimal(0))} < {q}" for (v, a), q in need.items()
             if inv.get((v, a), Decimal(0)) < q]
    return "; ".join(short)
