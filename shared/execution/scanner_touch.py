"""The scanner's cheap exit for a cycle: no gross edge at the touches, found without dividing.

Most book updates find nothing: every cycle through the book has a gross rate below
1 + `near_miss_floor_bps` at the touches, and `Scanner.triangle` returns None. The rate
is the product of the bids the cycle sells at over the product of the asks it buys at
(`triangle.touch_rate` with no fee, hop by hop, a Decimal division per buy). `TouchBar`
decides the same question with two Decimal multiplications and a comparison: sells'
bids < bar x (1 - MARGIN) x buys' asks. Each Decimal product is within ~1e-27 (relative)
of the exact one, `touch_rate` too, so a cycle below the bar less `MARGIN` (1e-18,
relative) is surely below it in `touch_rate`'s arithmetic: `below` answers True only
then (or when a book or side the cycle needs is missing: `touch_rate` is None), and
`Scanner.triangle` decides everything else as before. (Floats were tried: converting a
fresh book's Decimal touches to float costs more than the division it saves.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from shared.contracts import BookSnapshot, Side
from shared.execution.triangle import Cycle

MARGIN = Decimal("1e-18")
ONE = Decimal(1)
_Plan = tuple[Cycle, tuple[tuple[tuple[str, str], bool], ...]]


class TouchBar:
    def __init__(self, floor_bps: Decimal, cycles: Iterable[Cycle] = ()):
        self.bar = (ONE + floor_bps / 10_000) * (ONE - MARGIN)
        self._plans: dict[int, _Plan] = {}
        for cycle in cycles:
            self._plan(cycle)

    def _plan(self, cycle: Cycle) -> _Plan:
        plan = self._plans[id(cycle)] = (cycle, tuple(
            ((cycle.venue, h.symbol), h.side is Side.BUY) for h in cycle.hops))
        return plan

    def below(self, cycle: Cycle, books: Mapping[tuple[str, str], BookSnapshot]) -> bool:
        """True when `cycle` surely has no gross edge above the floor at the touches of
        `books`, or a book or side it needs is missing (`touch_rate` would be None): either
        way `Scanner.triangle` returns None. False: let the full Decimal path decide."""
        plan = self._plans.get(id(cycle))
        if plan is None or plan[0] is not cycle:
            plan = self._plan(cycle)
        bids, asks = ONE, self.bar
        for key, buy in plan[1]:
            book = books.get(key)
            if book is None:
                return True
            levels = book.asks if buy else book.bids
            if not levels:
                return True
            if buy:
                asks *= levels[0].price
            else:
                bids *= levels[0].price
        return bids < asks

