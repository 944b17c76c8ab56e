"""Cross-exchange maths for the scanner: a book's touches, and the depth where the edge holds.

`touch` is what the scanner reads first on every pair (an ask at or above the bid is no
edge); `cross_depth` sizes a pair level by level (`shared.execution.scanner.Scanner.cross`).
Pure Decimal arithmetic, no I/O.
"""

from __future__ import annotations

from decimal import Decimal

from shared.contracts import BookSnapshot
from shared.execution.opportunity import ZERO


def touch(book: BookSnapshot | None) -> tuple[Decimal | None, Decimal | None]:
    """(best ask, best bid) of `book`, None for a side that is empty or a book that is missing."""
    if book is None:
        return None, None
    asks, bids = book.asks, book.bids
    return (asks[0].price if asks else None), (bids[0].price if bids else None)


def cross_depth(asks, bids, cap: Decimal, max_buy: Decimal, min_sell: Decimal, cost: Decimal,
                keep: Decimal, need: Decimal) -> Decimal:
    """Base units bought on `asks` and sold on `bids` level by level, up to `cap`, while both
    levels are inside their IOC limits and the marginal unit clears bid x keep >= ask x cost
    x need (1 + the minimum edge)."""
    qty, i, j, ra, rb = ZERO, 0, 0, asks[0].size, bids[0].size
    while qty < cap:
        ap, bp = asks[i].price, bids[j].price
        if ap > max_buy or bp < min_sell or bp * keep < ap * cost * need:
            break
        take = min(ra, rb, cap - qty)
        qty, ra, rb = qty + take, ra - take, rb - take
        if ra <= 0:
            i += 1
            if i == len(asks):
                break
            ra = asks[i].size
        if rb <= 0:
            j += 1
            if j == len(bids):
                break
            rb = bids[j].size
    return qty
