"""Depth shared by the opportunities of one scan.

Two opportunities found on the same books may want the same levels (two buys selling into
one bid). `TakenDepth` records, per (venue, symbol), the size the legs approved so far
will take at each price, and gives the books as the next opportunity finds them: each
level less what was taken at its price (levels taken in full are gone). Levels are matched
by price, so the same record applies to the scan's snapshot and to a newer book.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

from shared.contracts import BookSnapshot, Side
from shared.execution.opportunity import ZERO, Leg
from shared.market import book as depth

Books = Mapping[tuple[str, str], BookSnapshot]


class TakenDepth:
    def __init__(self) -> None:
        # (venue, symbol) -> side taken -> price -> size; `_top` is the worst price taken per side
        self._taken: dict[tuple[str, str], dict[Side, dict[Decimal, Decimal]]] = {}
        self._top: dict[tuple[tuple[str, str], Side], Decimal] = {}
        self._cache: dict[int, tuple[BookSnapshot, BookSnapshot]] = {}

    def __bool__(self) -> bool:
        return bool(self._taken)

    def left(self, book: BookSnapshot | None) -> BookSnapshot | None:
        """`book` less what was taken from it (the same object when nothing was)."""
        key = None if book is None else (book.venue, book.symbol)
        if key not in self._taken:
            return book
        hit = self._cache.get(id(book))
        if hit is not None and hit[0] is book:
            return hit[1]
        update = {}
        for taker, attr in ((Side.BUY, "asks"), (Side.SELL, "bids")):
            sizes = self._taken[key].get(taker)
            if sizes:
                update[attr] = self._side(getattr(book, attr), taker, sizes, self._top[(key, taker)])
        out = book.model_copy(update=update)
        self._cache[id(book)] = (book, out)
        return out

    @staticmethod
    def _side(levels, taker: Side, sizes: dict[Decimal, Decimal], top: Decimal) -> tuple:
        """Levels best-first up to the worst price taken lose what was taken; the rest is kept."""
        out = []
        for i, level in enumerate(levels):
            if (level.price > top) if taker is Side.BUY else (level.price < top):
                return (*out, *levels[i:])
            size = level.size - sizes.get(level.price, ZERO)
            if size > 0:
                out.append(level if size == level.size else level.model_copy(update={"size": size}))
        return tuple(out)

    def touches(self, leg: Leg) -> bool:
        """Did an earlier leg take from the side of the book `leg` would take from?"""
        return ((leg.venue, leg.symbol), leg.side) in self._top

    def view(self, books: Books) -> Books:
        """`books` as left: each book less what was taken, computed when it is read."""
        return _Left(books, self) if self._taken else books

    def take(self, leg: Leg, book: BookSnapshot) -> None:
        """Record what `leg` takes from `book` (as left by earlier legs): best levels first,
        never past its IOC limit."""
        key = (leg.venue, leg.symbol)
        sizes = self._taken.setdefault(key, {}).setdefault(leg.side, defaultdict(Decimal))
        remaining = leg.quantity
        for level in depth.side_levels(book, leg.side):
            beyond = level.price > leg.limit_price if leg.side is Side.BUY else level.price < leg.limit_price
            if remaining <= 0 or beyond:
                break
            size = min(remaining, level.size)
            sizes[level.price] += size
            remaining -= size
            top = self._top.get((key, leg.side))
            worse = top is None or (level.price > top if leg.side is Side.BUY else level.price < top)
            self._top[(key, leg.side)] = level.price if worse else top
        self._cache.clear()


class _Left(Mapping):
    """A read-only view of books less what was taken."""

    def __init__(self, books: Books, taken: TakenDepth):
        self.books, self.taken = books, taken

    def __getitem__(self, key):
        return self.taken.left(self.books[key])

    def __iter__(self):
        return iter(self.books)

    def __len__(self) -> int:
        return len(self.books)
