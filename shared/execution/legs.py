"""Executing an opportunity: every leg as an IOC limit order, all sent concurrently;
a leg that fails or fills short leaves a residual that is hedged at once with a
bounded-price IOC order, and the legging loss is recorded.

Residuals are counted per asset across the opportunity's legs (base bought minus base
sold, per non-home asset); each one is unwound against the home asset on the venue where
the excess was filled (falling back to the other venues of the opportunity when that
venue's breaker is open), at the latest touch -/+ `hedge_max_bps`.

A leg whose outcome is unknown (no answer within `leg_timeout_s`, or the venue's answer
says so: `routing.outcome_unknown`) is not taken for a no-fill: nothing is hedged while
any leg is unknown (the residual cannot be known) and the outcome lists the leg as
`unresolved`. The opportunity waits, keyed by those legs' client order ids, for their
answers: a leg future that answers late calls `settle` itself; what reconciliation learns
about such a leg is handed to `settle` by its caller. When the last unknown leg of an
opportunity is known, its residual is hedged at once, as above, and the settled
`ArbOutcome` (`settled_late`) is kept for `drain_settled()`. Every late leg answer and
every hedge sent on one is kept for `drain_late()` (the engine records and publishes
them); a leg answer handed over by reconciliation is not (reconciliation books it). A leg
is settled once: a second answer for it (late answer and reconciliation both) hedges
nothing more. After a restart `resume_legs.resume_waiting` re-adopts them from the store.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from shared.contracts import (
    BookSnapshot,
    Execution,
    ExecutionStatus,
    Order,
    OrderSource,
    OrderType,
    Side,
    client_order_id,
)
from shared.execution.config import ArbitrageConfig
from shared.execution.opportunity import BPS, ZERO, Opportunity
from shared.execution.routing import UNKNOWN, GuardedVenues, no_fill, outcome_unknown

log = logging.getLogger("tradewinds.executor.legs")
BookFn = Callable[[str, str], BookSnapshot | None]


@dataclass
class ArbOutcome:
    opportunity: Opportunity
    legs: list[Execution]
    hedges: list[Execution] = field(default_factory=list)
    residual: dict[str, Decimal] = field(default_factory=dict)  # after hedging (0 = flat)
    realised: Decimal = ZERO       # in the home asset, residuals valued at the mid
    legging_loss: Decimal = ZERO   # in the home asset
    fill_ratio: Decimal = ZERO
    unresolved: list[str] = field(default_factory=list)  # legs whose outcome is unknown
    settled_late: bool = False     # the legs' outcome became known after `run` returned

    @property
    def executions(self) -> list[Execution]:
        return self.legs + self.hedges

    @property
    def known(self) -> list[Execution]:
        """The executions that may be booked: an unknown outcome is settled later."""
        return [e for e in self.executions if not outcome_unknown(e)]

    @property
    def flat(self) -> bool:
        return not self.unresolved and all(v == 0 for v in self.residual.values())

    def to_doc(self) -> dict:
        return {**self.opportunity.to_doc(), "realised": str(self.realised),
                "legging_loss": str(self.legging_loss), "fill_ratio": str(self.fill_ratio),
                "residual": {k: str(v) for k, v in self.residual.items()},
                "legs": [e.client_order_id for e in self.legs],
                "hedges": [e.client_order_id for e in self.hedges], "flat": self.flat,
                "unresolved": list(self.unresolved), "settled_late": self.settled_late}


def asset_deltas(executions: list[Execution]) -> dict[str, Decimal]:
    """Net change per asset from the fills (fees charged in the quote, as the venues do)."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for ex in executions:
        if ex.filled_quantity <= 0:
            continue
        base, quote = ex.symbol.split("/")
        notional = ex.filled_quantity * ex.price
        sign = 1 if ex.side is Side.BUY else -1
        out[base] += sign * ex.filled_quantity
        out[quote] += -sign * notional - ex.fee
    return out


@dataclass
class _Waiting:
    """An opportunity with legs of unknown outcome, waiting for their answers."""
    opp: Opportunity
    legs: list[Execution]
    unknown: set[str]


class LegExecutor:
    def __init__(self, guarded: GuardedVenues, books: BookFn, cfg: ArbitrageConfig,
                 fees_bps: Mapping[str, Decimal], lot_sizes: Mapping[str, Decimal] | None = None,
                 pool: ThreadPoolExecutor | None = None):
        self.guarded, self.books, self.cfg = guarded, books, cfg
        self.fees_bps, self.lots = fees_bps, dict(lot_sizes or {})
        self.pool = pool or ThreadPoolExecutor(max_workers=cfg.workers, thread_name_prefix="leg")
        self._late: list[Execution] = []
        self._settled: list[ArbOutcome] = []
        self._waiting: dict[str, _Waiting] = {}  # by client order id of a leg still unknown
        self._late_lock = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=False)

    def send_all(self, orders: list[Order]) -> list[Execution]:
        """Every leg's answer; a leg without one within `leg_timeout_s` is an unknown outcome
        and its future is kept: the late answer goes to `drain_late()`."""
        legs, pending = self._send(orders)
        for fut in pending:
            fut.add_done_callback(self._on_late)
        return legs

    def _send(self, orders: list[Order]) -> tuple[list[Execution], list[Future]]:
        futures = [self.pool.submit(self.guarded.send, o) for o in orders]
        wait(futures, timeout=self.cfg.leg_timeout_s)
        out, pending = [], []
        for order, fut in zip(orders, futures):
            if fut.done() and fut.exception() is None:
                out.append(fut.result())
                continue
            reason = (f"no answer within {self.cfg.leg_timeout_s}s" if not fut.done()
                      else f"send raised {type(fut.exception()).__name__}")
            out.append(no_fill(order, self.guarded.clock.now(), ExecutionStatus.FAILED, f"{UNKNOWN}: {reason}"))
            if not fut.done():
                pending.append(fut)
        return out, pending

    def _on_late(self, fut: Future) -> None:
        if fut.cancelled() or fut.exception() is not None:
            log.error("late leg answer lost: left to reconciliation",
                      extra={"error": repr(fut.exception()) if not fut.cancelled() else "cancelled"})
            return
        ex = fut.result()
        log.warning("late leg answer", extra={"client_order_id": ex.client_order_id, "status": ex.status.value})
        try:
            self.settle(ex, booked=False)
        except Exception:  # a callback must not die silently
            log.exception("settling a late leg answer failed", extra={"client_order_id": ex.client_order_id})

    def settle(self, ex: Execution, booked: bool = True) -> ArbOutcome | None:
        """An answer for a leg whose outcome was unknown: its late answer (`booked=False`: it
        is kept for `drain_late()`), or what reconciliation learnt (`booked=True`: the caller
        books it). When it was the opportunity's last unknown leg the residual is hedged now
        and the settled outcome returned (also kept for `drain_settled()`); its hedges go to
        `drain_late()`. None while other legs are unknown, for an answer that is itself an
        unknown outcome, and for a leg not waiting (settled before, or not an arbitrage leg)."""
        with self._late_lock:
            if not booked:
                self._late.append(ex)
            waiting = None if outcome_unknown(ex) else self._waiting.pop(ex.client_order_id, None)
            if waiting is None:
                return None
            waiting.legs = [ex if leg.client_order_id == ex.client_order_id else leg for leg in waiting.legs]
            waiting.unknown.discard(ex.client_order_id)
            if waiting.unknown:
                return None
        return self._settle_all(waiting.opp, waiting.legs)

    def adopt(self, opp: Opportunity, legs: list[Execution]) -> ArbOutcome | None:
        """An opportunity sent before (e.g. by the process before a restart) with its legs'
        outcomes as known now: hedged and settled at once when none is unknown, else waiting
        for `settle` like one `run` left unresolved."""
        unknown = {ex.client_order_id for ex in legs if outcome_unknown(ex)}
        if not unknown:
            return self._settle_all(opp, legs)
        waiting = _Waiting(opp, list(legs), unknown)
        with self._late_lock:
            self._waiting.update({cid: waiting for cid in unknown})
        return None

    def _settle_all(self, opp: Opportunity, legs: list[Execution]) -> ArbOutcome:
        outcome = self._complete(opp, legs)
        outcome.settled_late = True
        log.warning("unknown legs settled late", extra={
            "key": opp.key, "hedges": [h.client_order_id for h in outcome.hedges],
            "legging_loss": str(outcome.legging_loss),
            "residual": {k: str(v) for k, v in outcome.residual.items()}})
        with self._late_lock:
            self._late.extend(outcome.hedges)
            self._settled.append(outcome)
        return outcome

    def drain_late(self) -> list[Execution]:
        """Answers of legs that came after their timeout, and the hedges sent on them (taken once)."""
        with self._late_lock:
            late, self._late = self._late, []
        return late

    def drain_settled(self) -> list[ArbOutcome]:
        """Opportunities whose unknown legs were settled since the last call (taken once)."""
        with self._late_lock:
            settled, self._settled = self._settled, []
        return settled

    def waiting(self) -> list[str]:
        """Client order ids of legs whose outcome is still unknown."""
        with self._late_lock:
            return sorted(self._waiting)

    def run(self, opp: Opportunity) -> ArbOutcome:
        orders = opp.orders()
        legs, pending = self._send(orders)
        unresolved = [ex.client_order_id for ex in legs if outcome_unknown(ex)]
        if not unresolved:
            return self._complete(opp, legs)
        # the residual is not known: hedging now would be a guess; the legs' answers settle it
        self.adopt(opp, legs)
        for fut in pending:  # registered first: an answer arriving now finds the opportunity
            fut.add_done_callback(self._on_late)
        log.error("leg outcome unknown: not hedged until its answer comes",
                  extra={"key": opp.key, "legs": unresolved})
        ratio = min((ex.filled_quantity / o.quantity for ex, o in zip(legs, orders)), default=ZERO)
        return ArbOutcome(opp, legs, fill_ratio=ratio, unresolved=unresolved,
                          realised=self._value(opp, asset_deltas(legs)))

    def _complete(self, opp: Opportunity, legs: list[Execution]) -> ArbOutcome:
        """Every leg's outcome known: hedge what is left, value the result."""
        ratio = min((ex.filled_quantity / leg.quantity for ex, leg in zip(legs, opp.legs)), default=ZERO)
        outcome = ArbOutcome(opp, legs, fill_ratio=ratio)
        # all legs complete: what is left is lot-rounding dust, kept as inventory
        residual = {} if ratio >= 1 else {
            a: q for a, q in asset_deltas(legs).items() if a != opp.home and q != 0}
        for asset, qty in residual.items():
            hedge = self._hedge(opp, asset, qty, legs)
            if hedge is not None:
                outcome.hedges.append(hedge)
        after = asset_deltas(outcome.executions)
        outcome.residual = {a: after.get(a, ZERO) for a in residual}
        outcome.realised = self._value(opp, after)
        outcome.legging_loss = max(ZERO, opp.expected_profit * ratio - outcome.realised) if residual else ZERO
        return outcome

    def _hedge(self, opp: Opportunity, asset: str, qty: Decimal, legs: list[Execution]) -> Execution | None:
        symbol = next((s for s in (f"{asset}/{opp.home}", f"{opp.home}/{asset}")
                       if any(leg.symbol == s for leg in opp.legs)), f"{asset}/{opp.home}")
        side = Side.SELL if qty > 0 else Side.BUY  # undo the excess
        if symbol.startswith(opp.home + "/"):
            side = side.opposite()
        # where the excess was filled first, then the other venues of the opportunity
        per_venue = {v: asset_deltas([ex for ex in legs if ex.venue == v]).get(asset, ZERO)
                     for v in {ex.venue for ex in legs}}
        excess = sorted(v for v, d in per_venue.items() if d != 0 and (d > 0) == (qty > 0))
        venues = excess + sorted({leg.venue for leg in opp.legs} - set(excess))
        venue = next((v for v in venues if self.guarded.available(v)), None)
        if venue is None:
            return None
        book = self._book(venue, symbol)
        if book is None or not (book.bids if side is Side.SELL else book.asks):
            return None
        touch = (book.bids if side is Side.SELL else book.asks)[0].price
        bound = self.cfg.hedge_max_bps / BPS
        limit = touch * (1 - bound) if side is Side.SELL else touch * (1 + bound)
        amount = abs(qty) if symbol.startswith(asset + "/") else abs(qty) / touch
        lot = self.lots.get(symbol, Decimal("1e-8"))
        amount = (amount / lot).to_integral_value(ROUND_DOWN) * lot
        if amount <= 0:
            return None
        order = Order(client_order_id=client_order_id(opp.id, f"hedge-{asset}"), venue=venue,
                      symbol=symbol, side=side, quantity=amount, order_type=OrderType.LIMIT_IOC,
                      limit_price=limit, reference_price=touch, source=OrderSource.HEDGE,
                      strategy=f"arb_{opp.kind}", cause_id=opp.id, created_at=opp.detected_at)
        return self.guarded.send(order)

    def _book(self, venue: str, symbol: str) -> BookSnapshot | None:
        try:
            return self.books(venue, symbol)
        except Exception:  # noqa: BLE001 - a book that cannot be read: no hedge / no mark from it
            return None

    def _value(self, opp: Opportunity, deltas: Mapping[str, Decimal]) -> Decimal:
        """Deltas valued in the home asset at the mid of a book the opportunity used."""
        total = deltas.get(opp.home, ZERO)
        for asset, qty in deltas.items():
            if asset == opp.home or qty == 0:
                continue
            for leg in opp.legs:
                book = self._book(leg.venue, leg.symbol) if leg.symbol in (
                    f"{asset}/{opp.home}", f"{opp.home}/{asset}") else None
                if book is not None and book.bids and book.asks:
                    mid = (book.bids[0].price + book.asks[0].price) / 2
                    total += qty * mid if leg.symbol.startswith(asset) else qty / mid
                    break
        return total
