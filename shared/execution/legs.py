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

Never blind across a crash: with a plan store (`plans`, wired by the executor's bootstrap),
`run` writes the opportunity's plan durably (`arb_plans`) before any leg is sent, and sends
nothing (every leg rejected) when that write fails. The legs and hedges are sent inside
`claims.parent_scope(opp.id, "opportunity")`, so each claim names the opportunity. The plan
is settled (written behind) once the outcome is final: every leg known and nothing left
that a hedge could have unwound but did not (no venue or book for it). An unsettled plan
is what start-up recovery (`resume_legs.resume_waiting`) rebuilds and hedges.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
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
from shared.execution.arb_outcome import ArbOutcome, asset_deltas
from shared.execution.arb_plans import ArbPlans
from shared.execution.claims import OPPORTUNITY, parent_scope
from shared.execution.config import ArbitrageConfig
from shared.execution.opportunity import BPS, ZERO, Opportunity
from shared.execution.routing import UNKNOWN, GuardedVenues, no_fill, outcome_unknown

log = logging.getLogger("tradewinds.executor.legs")
BookFn = Callable[[str, str], BookSnapshot | None]
__all__ = ["ArbOutcome", "BookFn", "LegExecutor", "asset_deltas"]  # ArbOutcome, asset_deltas: re-exported


@dataclass
class _Waiting:
    """An opportunity with legs of unknown outcome, waiting for their answers."""
    opp: Opportunity
    legs: list[Execution]
    unknown: set[str]


class LegExecutor:
    def __init__(self, guarded: GuardedVenues, books: BookFn, cfg: ArbitrageConfig,
                 fees_bps: Mapping[str, Decimal], lot_sizes: Mapping[str, Decimal] | None = None,
                 pool: ThreadPoolExecutor | None = None, plans: ArbPlans | None = None):
        self.guarded, self.books, self.cfg, self.plans = guarded, books, cfg, plans
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
        and its future is kept: the late answer goes to `drain_late()`. No plan is written:
        `run` is the way to send an opportunity."""
        legs, pending = self._send(orders)
        for fut in pending:
            fut.add_done_callback(self._on_late)
        return legs

    def _send(self, orders: list[Order]) -> tuple[list[Execution], list[Future]]:
        # each send in a copy of the caller's context: its claim names the caller's parent scope
        futures = [self.pool.submit(contextvars.copy_context().run, self.guarded.send, o) for o in orders]
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
        if self.plans is not None:
            try:
                self.plans.write(opp)  # durable before the first leg is sent
            except Exception as exc:  # noqa: BLE001 - no plan, no send: never trade blind
                log.error("arbitrage plan not written: nothing sent", extra={"key": opp.key, "error": repr(exc)})
                now = self.guarded.clock.now()
                return ArbOutcome(opp, [no_fill(o, now, ExecutionStatus.REJECTED,
                                                f"plan not durable: {type(exc).__name__}") for o in orders])
        with parent_scope(opp.id, OPPORTUNITY):
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
        blocked: list[str] = []  # residual assets no venue or book could hedge
        with parent_scope(opp.id, OPPORTUNITY):
            for asset, qty in residual.items():
                hedge = self._hedge(opp, asset, qty, legs, blocked)
                if hedge is not None:
                    outcome.hedges.append(hedge)
        after = asset_deltas(outcome.executions)
        outcome.residual = {a: after.get(a, ZERO) for a in residual}
        outcome.realised = self._value(opp, after)
        outcome.legging_loss = max(ZERO, opp.expected_profit * ratio - outcome.realised) if residual else ZERO
        if self.plans is not None and not blocked:  # final: flat, hedged, or dust below a lot
            self.plans.settle(opp.id)
            try:
                self.pool.submit(self.plans.flush)  # written behind, off the caller's path
            except RuntimeError:  # the pool is shut down
                self.plans.flush()
        return outcome

    def _hedge(self, opp: Opportunity, asset: str, qty: Decimal, legs: list[Execution],
               blocked: list[str]) -> Execution | None:
        """The hedge's answer; None when nothing was sent (`asset` added to `blocked` when a
        venue or a book was missing, not when the residual is below a lot)."""
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
        book = self._book(venue, symbol) if venue is not None else None
        if book is None or not (book.bids if side is Side.SELL else book.asks):
            blocked.append(asset)
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
