"""Strategy orders executed as market, IOC limit, iceberg or TWAP depending on size.

Notional (quantity x reference price, in the quote) below `market_max_usd` goes as a
market order, below `ioc_max_usd` as one IOC limit at reference -/+ `ioc_limit_bps`,
below `iceberg_max_usd` as an iceberg (IOC children of `iceberg_visible_usd` until filled
or the book inside the limit is exhausted), above it as a TWAP (`twap_slices` IOC slices
`twap_interval_s` apart; `wait` is injected: a no-op in replays, a sleep when live).
An order that names a non-market type keeps it. Children get deterministic client order
ids derived from the parent; the parent gets one aggregate Execution.

The children of an iceberg or TWAP all go to one venue, chosen once (`pin`: with a router,
the order's own venue unless it is unavailable), so the aggregate's venue is where every
fill happened. A child whose outcome is unknown stops the algo; it is handed to
`on_unknown` (the executor records it for reconciliation, which books its fill under its
own client order id) and the aggregate covers the children whose outcome is known.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal

from shared.contracts import Execution, ExecutionStatus, Order, OrderType, Side, client_order_id
from shared.contracts.envelope import derive_id
from shared.execution.config import AlgoConfig
from shared.execution.routing import no_fill, outcome_unknown

BPS = Decimal(10_000)
STEP = Decimal("1e-8")
MAX_CHILDREN = 200
Send = Callable[[Order], Execution]
Pin = Callable[[Order], "tuple[Order, Send] | None"]


def choose(order: Order, cfg: AlgoConfig, usd_per_quote: Decimal = Decimal(1)) -> OrderType:
    if order.order_type is not OrderType.MARKET:
        return order.order_type
    notional = order.quantity * order.reference_price * usd_per_quote
    if notional < cfg.market_max_usd:
        return OrderType.MARKET
    if notional < cfg.ioc_max_usd:
        return OrderType.LIMIT_IOC
    if notional < cfg.iceberg_max_usd:
        return OrderType.ICEBERG
    return OrderType.TWAP


def _limit(order: Order, cfg: AlgoConfig) -> Decimal:
    if order.limit_price is not None:
        return order.limit_price
    bound = cfg.ioc_limit_bps / BPS
    return order.reference_price * (1 + bound if order.side is Side.BUY else 1 - bound)


def _child(order: Order, tag: str, qty: Decimal, limit: Decimal) -> Order:
    return order.model_copy(update={
        "client_order_id": client_order_id(order.client_order_id, tag), "quantity": qty,
        "order_type": OrderType.LIMIT_IOC, "limit_price": limit})


def twap_slices(order: Order, cfg: AlgoConfig) -> list[Decimal]:
    each = (order.quantity / cfg.twap_slices).quantize(STEP, rounding=ROUND_DOWN)
    slices = [each] * (cfg.twap_slices - 1)
    return [s for s in slices + [order.quantity - each * (cfg.twap_slices - 1)] if s > 0]


def run(order: Order, send: Send, cfg: AlgoConfig, wait: Callable[[float], None] = lambda s: None,
        usd_per_quote: Decimal = Decimal(1), pin: Pin | None = None,
        on_unknown: Callable[[Order, Execution], None] | None = None) -> Execution:
    """`send` sends one order (with failover when it is a router's route); `pin` chooses the
    venue of an algo's children once and gives the send that keeps them there."""
    algo = choose(order, cfg, usd_per_quote)
    if algo is OrderType.MARKET:
        return send(order)
    limit = _limit(order, cfg)
    if algo is OrderType.LIMIT_IOC:
        return send(order.model_copy(update={"order_type": OrderType.LIMIT_IOC, "limit_price": limit}))
    if pin is not None:
        pinned = pin(order)
        if pinned is None:
            return no_fill(order, order.created_at, ExecutionStatus.REJECTED,
                           f"{algo.value}: no usable venue for {order.symbol}")
        order, send = pinned
    children: list[Execution] = []

    def child(tag: str, qty: Decimal) -> Execution | None:
        sent = _child(order, tag, qty, limit)
        ex = send(sent)
        if outcome_unknown(ex):
            if on_unknown is not None:
                on_unknown(sent, ex)
            return None
        children.append(ex)
        return ex

    if algo is OrderType.TWAP:
        for i, qty in enumerate(twap_slices(order, cfg)):
            if i:
                wait(cfg.twap_interval_s)
            if child(f"twap{i}", qty) is None:
                return aggregate(order, children, algo, unknown=True)
    else:
        visible = (cfg.iceberg_visible_usd / (order.reference_price * usd_per_quote)).quantize(STEP, ROUND_DOWN)
        left = order.quantity
        while left > 0 and len(children) < MAX_CHILDREN:
            ex = child(f"ice{len(children)}", min(visible, left))
            if ex is None:
                return aggregate(order, children, algo, unknown=True)
            if ex.filled_quantity <= 0:
                break  # nothing left inside the limit
            left -= ex.filled_quantity
    return aggregate(order, children, algo)


def aggregate(order: Order, children: list[Execution], algo: OrderType, unknown: bool = False) -> Execution:
    """One Execution for the parent over the children with a known outcome; `unknown`: the
    algo stopped at a child left to reconciliation (its fill is booked under its own id)."""
    filled = sum((c.filled_quantity for c in children), Decimal(0))
    stopped = "; stopped: a child order's outcome is unknown (left to reconciliation)" if unknown else ""
    if not children:
        return no_fill(order, order.created_at, ExecutionStatus.FAILED if unknown else ExecutionStatus.REJECTED,
                       f"{algo.value}: nothing " + ("known" + stopped if unknown else "to send"))
    last = children[-1]
    if filled <= 0:
        return last.model_copy(update={
            "execution_id": derive_id(order.client_order_id, "fill"), "client_order_id": order.client_order_id,
            "requested_quantity": order.quantity, "reason": f"{algo.value}: {last.reason}{stopped}"})
    cost = sum((c.filled_quantity * c.price for c in children), Decimal(0))
    status = ExecutionStatus.FILLED if filled >= order.quantity else ExecutionStatus.PARTIALLY_FILLED
    return Execution(
        execution_id=derive_id(order.client_order_id, "fill"), client_order_id=order.client_order_id,
        venue=last.venue, symbol=order.symbol, side=order.side, status=status,
        requested_quantity=order.quantity, filled_quantity=filled, price=cost / filled,
        expected_price=children[0].expected_price, fee=sum((c.fee for c in children), Decimal(0)),
        fee_currency=last.fee_currency, latency_ms=max(c.latency_ms for c in children),
        source=order.source, strategy=order.strategy,
        reason=f"{algo.value}: {len(children)} child orders{stopped}", executed_at=last.executed_at)
