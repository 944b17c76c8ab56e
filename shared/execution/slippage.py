"""Pre-send slippage validation and realised-vs-expected recording.

Before the legs go out, each leg's expected fill is recomputed on the LATEST book for the
final size (`walk_book`; the engine passes each venue's latest book, not the scan's
snapshot, less the depth that opportunities approved earlier in the same scan will take):
a leg whose VWAP moved against us by more than `max_slippage_bps` from the planned VWAP,
or that the book can no longer fill inside its IOC limit, fails the check; so does a
cross-exchange edge that fell below the minimum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared.contracts import BookSnapshot, Execution, Side
from shared.execution.config import ArbitrageConfig
from shared.execution.opportunity import BPS, Leg, Opportunity
from shared.execution.paper import walk_book

Books = Mapping[tuple[str, str], BookSnapshot]


@dataclass(frozen=True)
class SlippageCheck:
    ok: bool
    detail: str = ""
    worst_bps: Decimal = Decimal(0)


def leg_slippage_bps(leg: Leg, price: Decimal) -> Decimal:
    """How much worse than planned `price` is, in bps (positive = worse for us)."""
    return (price - leg.expected_price) / leg.expected_price * BPS * leg.side.sign


def validate(opp: Opportunity, books: Books, cfg: ArbitrageConfig,
             fees_bps: Mapping[str, Decimal]) -> SlippageCheck:
    worst, prices = Decimal(0), []
    for leg in opp.legs:
        book = books.get((leg.venue, leg.symbol))
        if book is None:
            return SlippageCheck(False, f"no book for {leg.venue}:{leg.symbol}")
        fill = walk_book(book, leg.side, leg.quantity, leg.limit_price)
        if fill.quantity < leg.quantity:
            return SlippageCheck(False, f"{leg.venue}:{leg.symbol} fills {fill.quantity} of "
                                        f"{leg.quantity} inside limit {leg.limit_price}")
        bps = leg_slippage_bps(leg, fill.avg_price)
        worst = max(worst, bps)
        if bps > cfg.max_slippage_bps:
            return SlippageCheck(False, f"{leg.venue}:{leg.symbol} VWAP {fill.avg_price} is "
                                        f"{bps:.2f} bps worse than planned {leg.expected_price}", bps)
        prices.append(fill.avg_price)
    if opp.kind == "cross":
        (buy, sell), (pb, ps) = opp.legs, prices
        paid = pb * (1 + Decimal(fees_bps[buy.venue]) / BPS)
        got = ps * (1 - Decimal(fees_bps[sell.venue]) / BPS)
        net = (got - paid) / paid * BPS
        if net < cfg.min_edge_bps:
            return SlippageCheck(False, f"edge on the latest books is {net:.2f} bps", worst)
    return SlippageCheck(True, "", worst)


def realised_doc(ex: Execution, expected_price: Decimal) -> dict:
    """The write-behind record of one fill against what was expected before sending."""
    bps = Decimal(0)
    if ex.filled_quantity > 0 and expected_price > 0:
        sign = 1 if ex.side is Side.BUY else -1
        bps = (ex.price - expected_price) / expected_price * BPS * sign
    return {
        "client_order_id": ex.client_order_id, "venue": ex.venue, "symbol": ex.symbol,
        "side": ex.side.value, "expected_price": str(expected_price), "realised_price": str(ex.price),
        "filled_quantity": str(ex.filled_quantity), "slippage_bps": str(bps.quantize(Decimal("0.0001"))),
        "at": ex.executed_at.isoformat(),
    }
