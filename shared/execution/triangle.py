"""Triangular arbitrage on one venue: the cycle, its rate at the touch, and its size.

Sizing walks the three books together, level by level, in units of the home asset
(`marginal_amount`). It stops at the first of: the marginal unit pushed round the cycle
(each hop at the price of the level it would take, net of the taker fee) no longer clears
`need` (1 + the minimum edge); a hop would need a level beyond its IOC limit (touch -/+
the slippage bound), which the venue would not fill; a book runs out; the cap. `plan`
then turns that amount into the three legs, lot-rounded, each leg's quantity filling
entirely inside its limit. Pure Decimal arithmetic, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.contracts import BookLevel, BookSnapshot, Side
from shared.execution.opportunity import BPS, ZERO, Leg
from shared.execution.paper import walk_book

Books = Mapping[tuple[str, str], BookSnapshot]
Lot = Callable[[str, Decimal], Decimal]  # (symbol, quantity) -> quantity rounded down to the lot
ONE = Decimal(1)


@dataclass(frozen=True)
class Hop:
    symbol: str
    side: Side       # BUY: spend the quote, get the base; SELL: the reverse
    spend: str       # asset given
    get: str         # asset received


@dataclass(frozen=True)
class Cycle:
    venue: str
    assets: tuple[str, str, str]
    hops: tuple[Hop, Hop, Hop]

    @property
    def key(self) -> str:
        return f"triangle:{self.venue}:{'>'.join(self.assets)}"


def _levels(book: BookSnapshot | None, side: Side) -> Sequence[BookLevel]:
    return () if book is None else (book.asks if side is Side.BUY else book.bids)


def _limit(touch: Decimal, side: Side, slip: Decimal) -> Decimal:
    return touch * (ONE + slip) if side is Side.BUY else touch * (ONE - slip)


def _unit_rate(price: Decimal, side: Side, fee: Decimal) -> Decimal:
    """What one unit given on a hop returns, at `price` and net of the taker fee."""
    return ONE / (price * (ONE + fee)) if side is Side.BUY else price * (ONE - fee)


def touch_rate(cycle: Cycle, books: Books, fee: Decimal) -> Decimal | None:
    """One unit of the home asset round the cycle at the touches (None: a book is missing).
    Each hop's rate is `_unit_rate` of its touch, written out: the scanner calls this for
    every cycle through every book update."""
    rate, venue, cost, keep = ONE, cycle.venue, ONE + fee, ONE - fee
    for hop in cycle.hops:
        book = books.get((venue, hop.symbol))
        if book is None:
            return None
        if hop.side is Side.BUY:
            if not book.asks:
                return None
            rate *= ONE / (book.asks[0].price * cost)
        else:
            if not book.bids:
                return None
            rate *= book.bids[0].price * keep
    return rate


def hop_rate(cycle: Cycle, hop: Hop, books: Books, fee: Decimal) -> Decimal:
    return _unit_rate(_levels(books[(cycle.venue, hop.symbol)], hop.side)[0].price, hop.side, fee)


class _Walk:
    """One hop's book as the cycle consumes it: the current level and what is left of it."""

    def __init__(self, levels: Sequence[BookLevel], side: Side, fee: Decimal, slip: Decimal):
        self.levels, self.side, self.fee = levels, side, fee
        self.limit = _limit(levels[0].price, side, slip)
        self.i, self.left = 0, levels[0].size

    def usable(self) -> bool:
        if self.i >= len(self.levels):
            return False
        price = self.levels[self.i].price
        return price <= self.limit if self.side is Side.BUY else price >= self.limit

    def rate(self) -> Decimal:
        return _unit_rate(self.levels[self.i].price, self.side, self.fee)

    def room(self) -> Decimal:
        """What the current level can still take, in units of the asset this hop gives."""
        price = self.levels[self.i].price
        return self.left * price * (ONE + self.fee) if self.side is Side.BUY else self.left

    def consume(self, given: Decimal, exhausted: bool) -> None:
        if not exhausted:
            price = self.levels[self.i].price
            self.left -= given / (price * (ONE + self.fee)) if self.side is Side.BUY else given
        if exhausted or self.left <= 0:
            self.i += 1
            self.left = self.levels[self.i].size if self.i < len(self.levels) else ZERO


def marginal_amount(cycle: Cycle, books: Books, fee: Decimal, slip: Decimal, need: Decimal,
                    cap: Decimal) -> Decimal:
    """The largest amount of the home asset (<= cap) whose every marginal unit clears `need`
    round the cycle with each hop inside its IOC limit."""
    walks = []
    for hop in cycle.hops:
        levels = _levels(books.get((cycle.venue, hop.symbol)), hop.side)
        if not levels:
            return ZERO
        walks.append(_Walk(levels, hop.side, fee, slip))
    amount = ZERO
    while amount < cap:
        if not all(w.usable() for w in walks):
            return amount
        rates, rooms, through = [], [], ONE
        for w in walks:  # the room of each hop's level in home units, and the marginal rate
            rooms.append(w.room() / through)
            rates.append(w.rate())
            through *= rates[-1]
        if through < need:
            return amount
        step = min(min(rooms), cap - amount)
        amount += step
        given = step
        for w, room, rate in zip(walks, rooms, rates):
            w.consume(given, exhausted=room == step)
            given *= rate
    return amount


def _affordable(levels: Sequence[BookLevel], budget: Decimal, fee: Decimal, limit: Decimal) -> Decimal:
    """Base units `budget` of the quote buys, fees included, walking asks up to `limit`."""
    qty = ZERO
    for level in levels:
        if level.price > limit:
            break
        unit = level.price * (ONE + fee)
        if level.size * unit >= budget:
            return qty + budget / unit
        qty, budget = qty + level.size, budget - level.size * unit
    return qty


def plan(cycle: Cycle, books: Books, amount: Decimal, fee: Decimal, slip: Decimal, lot: Lot):
    """Push `amount` of the home asset round the cycle: the lot-rounded legs, each filling in
    full inside its IOC limit. Returns (legs, net_bps, spent, received) in the home asset, or
    None when a leg rounds to nothing or cannot fill inside its limit."""
    legs, have, spent = [], amount, None
    for hop in cycle.hops:
        book = books[(cycle.venue, hop.symbol)]
        levels = _levels(book, hop.side)
        touch = levels[0].price
        limit = _limit(touch, hop.side, slip)
        wanted = _affordable(levels, have, fee, limit) if hop.side is Side.BUY else have
        qty = lot(hop.symbol, wanted)
        fill = walk_book(book, hop.side, qty, limit)
        if qty <= 0 or fill.quantity < qty:
            return None
        notional = qty * fill.avg_price
        cost, got = (notional * (ONE + fee), qty) if hop.side is Side.BUY else (qty, notional * (ONE - fee))
        spent = cost if spent is None else spent
        legs.append(Leg(cycle.venue, hop.symbol, hop.side, qty, fill.avg_price, touch, limit))
        have = got
    return tuple(legs), (have - spent) / spent * BPS, spent, have
