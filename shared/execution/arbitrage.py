"""The arbitrage hot path: book update → scan → slippage check → pre-trade check →
concurrent IOC legs → hedge of any residual → record (written behind, never awaited).

`decide()` is everything up to the order decision (what bench/hot_path.py times). It
never trades blind: an opportunity with a leg on a venue whose circuit breaker is open or
half-open is a near miss (`breaker`); the opportunities of one scan share depth and
inventory (each is re-sized on what the ones approved before it leave, `TakenDepth`); the
slippage check reads each leg's LATEST book (`latest(venue, symbol)`, the book cache in
the executor), not the scan's snapshot. `execute_decisions()` sends what was approved;
`scan_and_execute()` is both, the loop the local replay calls each step with the
simulator's books; its Executions are what the caller publishes on `executions`. A leg
whose outcome is unknown is recorded `open` (for reconciliation) and not published; a leg
that answers late is published and recorded by the next `scan_and_execute` or
`collect_late()`.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from shared.config.venues import MarketConfig
from shared.contracts import BookSnapshot, Execution, OrderSource, Side
from shared.execution import slippage
from shared.execution.breaker import Breakers, BreakerState
from shared.execution.config import ArbitrageConfig, ExecutorConfig
from shared.execution.legs import ArbOutcome, BookFn, LegExecutor, asset_deltas
from shared.execution.lifecycle import OrderRecord, OrderState
from shared.execution.opportunity import ZERO, Leg, MissReason, NearMiss, Opportunity
from shared.execution.pretrade import PreTradeGate
from shared.execution.routing import GuardedVenues, RejectTracker, Venue, outcome_unknown
from shared.execution.scanner import Books, Inventory, Scanner
from shared.execution.shared_depth import TakenDepth
from shared.execution.writebehind import WriteBehind
from shared.ports import Clock, Store

OUTCOMES_KEPT = 100  # ArbitrageEngine.outcomes: the latest this many
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
                 clock: Clock, writer: WriteBehind | None = None, latest: BookFn | None = None):
        self.scanner, self.legs, self.gate, self.cfg, self.clock = scanner, legs, gate, cfg, clock
        self.latest = latest or legs.books  # the latest book of a (venue, symbol), for the slippage check
        self.breakers = legs.guarded.breakers
        self.writer = writer or WriteBehind()
        self.fees_bps = {v: f * 10_000 for v, f in scanner.fee.items()}
        # the latest outcomes, for a reader in the same process (each is in `arbitrage/` already):
        # bounded, so an executor that runs for months does not grow with them
        self.outcomes: deque[ArbOutcome] = deque(maxlen=OUTCOMES_KEPT)

    # -- up to the decision (the hot path measured by the bench) -------------------------
    def decide(self, books: Books, inventory: Inventory, now, update: tuple[str, str] | None = None) -> Decisions:
        """Scan `books` (the snapshot), then for each opportunity, best first: refuse it if a
        leg's venue breaker is not closed; re-size it on what the opportunities approved
        before it leave (books and inventory); check its slippage on the latest books (less
        the same); run the pre-trade check (the halt flag and the arbitrage's own
        `max_notional_usd`, not the strategies' order limit)."""
        found = (self.scanner.scan_update(update[0], update[1], books, inventory, now) if update
                 else self.scanner.scan(books, inventory, now))
        out = Decisions(near_misses=list(found.near_misses))
        if not found.opportunities:  # the common exit: nothing to check
            return out
        if self.writer.saturated:  # backpressure: the store is behind, trade nothing new
            out.near_misses += [_miss(o, MissReason.RISK, now, "write-behind saturated: the store is behind")
                                for o in found.opportunities]
            return out
        taken, inv, inv_used = TakenDepth(), None, set()
        for opp in sorted(found.opportunities, key=lambda o: -(o.notional_usd * o.net_bps)):
            blocked = self._breakers_not_closed(opp)
            if blocked:
                out.near_misses.append(_miss(opp, MissReason.BREAKER, now, f"breaker {blocked}"))
                continue
            if inv is not None:
                opp = self._resize(opp, books, taken, inv, inv_used, now)
                if isinstance(opp, NearMiss):
                    out.near_misses.append(opp)
                    continue
            latest = {(leg.venue, leg.symbol): taken.left(self._latest(leg.venue, leg.symbol, books))
                      for leg in opp.legs}
            check = slippage.validate(opp, latest, self.cfg, self.fees_bps)
            if not check.ok:
                out.near_misses.append(_miss(opp, MissReason.SLIPPAGE, now, check.detail))
                continue
            reasons = self.gate.check_arbitrage(opp.notional_usd, self.cfg.max_notional_usd)
            if reasons:
                out.near_misses.append(_miss(opp, MissReason.RISK, now, "; ".join(reasons)))
                continue
            out.approved.append(opp)
            inv = dict(inventory) if inv is None else inv
            for leg in opp.legs:
                taken.take(leg, latest[(leg.venue, leg.symbol)])
                inv_used.add(_spends(leg))
            self._reserve(opp, inv)
        return out

    def _resize(self, opp: Opportunity, books: Books, taken: TakenDepth, inv: Inventory,
                inv_used: set[tuple[str, str]], now) -> Opportunity | NearMiss:
        """`opp` searched again on what the opportunities approved before it leave, when they
        take depth or inventory it wants; a near miss when nothing worth it is left."""
        if not (any(taken.touches(leg) for leg in opp.legs) or any(_spends(leg) in inv_used for leg in opp.legs)):
            return opp
        again = self.scanner.rescan(opp, taken.view(books), inv, marks_from=books)
        if isinstance(again, Opportunity):
            return again
        miss = again if isinstance(again, NearMiss) else _miss(opp, MissReason.DEPTH, now, "")
        return replace(miss, detail=f"after earlier opportunities of this scan: {miss.detail}")

    def _reserve(self, opp: Opportunity, inv: dict[tuple[str, str], Decimal]) -> None:
        """Take from `inv` what the legs may spend (a buy at its limit price, fee included);
        what they receive is not counted on (the legs run concurrently)."""
        for leg in opp.legs:
            spent = leg.quantity
            if leg.side is Side.BUY:
                spent *= leg.limit_price * (1 + self.scanner.fee.get(leg.venue, ZERO))
            key = _spends(leg)
            inv[key] = inv.get(key, ZERO) - spent

    def _breakers_not_closed(self, opp: Opportunity) -> str:
        """The legs' venues whose breaker is open or half-open ("" when all are closed)."""
        breakers = self.breakers
        if all(breakers[leg.venue].state is BreakerState.CLOSED for leg in opp.legs):
            return ""
        states = ((v, self.breakers[v].state) for v in sorted({leg.venue for leg in opp.legs}))
        return ", ".join(f"{v} {state.value}" for v, state in states if state is not BreakerState.CLOSED)

    def _latest(self, venue: str, symbol: str, books: Books) -> BookSnapshot | None:
        """The venue's latest book; the scan's snapshot when the latest source has none (a
        source that fails, e.g. a venue in an outage, gives None: the check then fails)."""
        try:
            found = self.latest(venue, symbol)
        except Exception:  # noqa: BLE001 - an unreadable book fails the check, never the hot path
            return None
        return books.get((venue, symbol)) if found is None else found

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
        for ex in late:  # a hedge is a new order; a leg was recorded open when its answer was late
            self._record(ex, now, ex.expected_price,
                         OrderState.NEW if ex.source is OrderSource.HEDGE else OrderState.OPEN)
        for outcome in self.legs.drain_settled():  # the opportunity's doc lists its late hedges
            self.writer.put("arbitrage", outcome.opportunity.id.replace("/", "-"), outcome.to_doc())
        return [ex for ex in late if not outcome_unknown(ex)]

    def record_misses(self, misses: list[NearMiss]) -> None:
        for miss in misses:
            self.writer.put("near_misses", miss.id, miss.to_doc())

    def scan_and_execute(self, books: Books, inventory: Inventory, clock: Clock | None = None,
                         update: tuple[str, str] | None = None) -> list[Execution]:
        now = (clock or self.clock).now()
        return self.execute_decisions(self.decide(books, inventory, now, update), inventory, now)

    def execute_decisions(self, decisions: Decisions, inventory: Inventory, now) -> list[Execution]:
        """Execute what `decide` approved (in its order), record its near misses; returns the
        Executions to publish (late leg answers first)."""
        inv = defaultdict(Decimal, inventory)
        executions: list[Execution] = self.collect_late()
        for opp in decisions.approved:
            short = _short_of(opp, inv)
            if short:
                decisions.near_misses.append(_miss(opp, MissReason.INVENTORY, now, short))
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
    `books(venue, symbol)` gives the latest book (used for the slippage check and hedges)."""
    guarded = guarded or GuardedVenues(venues, clock, Breakers(clock, cfg.breaker), RejectTracker(cfg.routing))
    scanner = Scanner.from_market(market, cfg.arbitrage)
    legs = LegExecutor(guarded, books, cfg.arbitrage, {v.name: v.taker_fee_bps for v in market.enabled_venues},
                       {s: i.lot_size for s, i in market.instruments.items()})
    return ArbitrageEngine(scanner, legs, gate or PreTradeGate(clock, cfg.pretrade), cfg.arbitrage, clock)


def _spends(leg: Leg) -> tuple[str, str]:
    """The (venue, asset) a leg pays with: the quote for a buy, the base for a sell."""
    base, quote = leg.symbol.split("/")
    return leg.venue, quote if leg.side is Side.BUY else base


def _miss(opp: Opportunity, reason: MissReason, now, detail: str) -> NearMiss:
    return NearMiss(opp.kind, opp.key, reason, opp.gross_bps, opp.net_bps, now, detail)


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
