"""Pure L2 order-book arithmetic (Decimal): touch, spread, walking depth to a VWAP.

Used by the executor's arbitrage scanner (slippage check against depth) and the paper
exchange (simulated IOC fills). A BUY takes the asks, a SELL hits the bids; levels are
best-first as in `BookSnapshot`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.contracts import BookLevel, BookSnapshot, Side

_BPS = Decimal(10_000)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Fill:
    """The result of walking one side of a book."""

    side: Side
    requested: Decimal      # base units asked for (or base bought for a quote budget)
    filled: Decimal         # base units available at or better than the limit
    notional: Decimal       # quote units paid (BUY) or received (SELL)
    worst_price: Decimal | None
    levels: int             # levels touched

    @property
    def complete(self) -> bool:
        return self.filled >= self.requested

    @property
    def vwap(self) -> Decimal | None:
        return self.notional / self.filled if self.filled > 0 else None


def best_bid(book: BookSnapshot) -> Decimal | None:
    return book.bids[0].price if book.bids else None


def best_ask(book: BookSnapshot) -> Decimal | None:
    return book.asks[0].price if book.asks else None


def mid(book: BookSnapshot) -> Decimal | None:
    bid, ask = best_bid(book), best_ask(book)
    return (bid + ask) / 2 if bid is not None and ask is not None else None


def spread_bps(book: BookSnapshot) -> Decimal | None:
    m = mid(book)
    if m is None or m <= 0:
        return None
    return (book.asks[0].price - book.bids[0].price) / m * _BPS


def side_levels(book: BookSnapshot, side: Side) -> Sequence[BookLevel]:
    """The levels an order of `side` consumes: asks for a BUY, bids for a SELL."""
    return book.asks if side is Side.BUY else book.bids


def _acceptable(side: Side, price: Decimal, limit: Decimal | None) -> bool:
    if limit is None:
        return True
    return price <= limit if side is Side.BUY else price >= limit


def walk(book: BookSnapshot, side: Side, size: Decimal, limit: Decimal | None = None) -> Fill:
    """Take up to `size` base units from the book, best levels first, never past `limit`."""
    if size < 0:
        raise ValueError("size must be >= 0")
    remaining, notional, filled, worst, used = size, ZERO, ZERO, None, 0
    for level in side_levels(book, side):
        if remaining <= 0 or not _acceptable(side, level.price, limit):
            break
        take = min(remaining, level.size)
        notional += take * level.price
        filled += take
        remaining -= take
        worst, used = level.price, used + 1
    return Fill(side, size, filled, notional, worst, used)


def walk_quote(book: BookSnapshot, side: Side, quote_amount: Decimal) -> Fill:
    """Spend (BUY) or raise (SELL) `quote_amount` of the quote currency; `filled` is the
    base size that takes. `requested` is the base size that would be needed at the touch."""
    if quote_amount < 0:
        raise ValueError("quote_amount must be >= 0")
    remaining, notional, filled, worst, used = quote_amount, ZERO, ZERO, None, 0
    levels = side_levels(book, side)
    for level in levels:
        if remaining <= 0:
            break
        value = level.size * level.price
        if value <= remaining:
            take = level.size
        else:
            take = remaining / level.price
        notional += take * level.price
        filled += take
        remaining -= take * level.price
        worst, used = level.price, used + 1
    touch = levels[0].price if levels else None
    requested = quote_amount / touch if touch else ZERO
    return Fill(side, requested, filled, notional, worst, used)


def vwap(book: BookSnapshot, side: Side, size: Decimal) -> Decimal | None:
    """Average price of taking `size` (None when the book cannot fill it)."""
    fill = walk(book, side, size)
    return fill.vwap if fill.complete and size > 0 else None


def slippage_bps(book: BookSnapshot, side: Side, size: Decimal) -> Decimal | None:
    """How much worse than the touch the VWAP of `size` is, in bps (None if unfillable)."""
    price = vwap(book, side, size)
    levels = side_levels(book, side)
    if price is None or not levels:
        return None
    touch = levels[0].price
    return (price - touch) / touch * _BPS * side.sign


def depth_within(book: BookSnapshot, side: Side, bps: Decimal) -> Decimal:
    """Base size available within `bps` of the touch on the side `side` consumes."""
    levels = side_levels(book, side)
    if not levels:
        return ZERO
    touch = levels[0].price
    limit = touch * (1 + side.sign * bps / _BPS)
    return sum((lv.size for lv in levels if _acceptable(side, lv.price, limit)), ZERO)


def max_size_within_slippage(book: BookSnapshot, side: Side, max_bps: Decimal) -> Decimal:
    """Largest base size whose VWAP stays within `max_bps` of the touch."""
    levels = side_levels(book, side)
    if not levels:
        return ZERO
    touch = levels[0].price
    bound = touch * (1 + side.sign * max_bps / _BPS)   # VWAP limit
    size, notional = ZERO, ZERO
    for level in levels:
        new_size, new_notional = size + level.size, notional + level.size * level.price
        if _acceptable(side, new_notional / new_size, bound):
            size, notional = new_size, new_notional
            continue
        # part of this level: solve (notional + x*p) / (size + x) = bound for x
        gap = (level.price - bound) * side.sign
        if gap > 0:
            x = (bound * size - notional) * side.sign / gap
            size += max(ZERO, min(level.size, x))
        break
    return size
