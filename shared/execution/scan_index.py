"""Which cross pairs and triangle cycles each book (venue, symbol) is in, computed once.

The executor scans on every book update, and an update can only change what its book is
in: the cross pairs of its symbol with every other venue listing it, and the cycles of
its venue through its symbol. `BookIndex` holds both per book, built from the scanner's
configuration, so an update reads them instead of filtering every pair and cycle; the
order is the one that filtering gives (other venues in config order, `venue > other`
then `other > venue`; cycles in the scanner's order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from shared.execution.triangle import Cycle

Key = tuple[str, str]  # (venue, symbol)


class BookIndex:
    def __init__(self, venues_of: Mapping[str, Sequence[str]], cycles: Iterable[Cycle]):
        self._venues_of = venues_of
        self._others: dict[Key, tuple[str, ...]] = {}
        for symbol, venues in venues_of.items():
            for venue in venues:
                self._others[(venue, symbol)] = tuple(v for v in venues if v != venue)
        self._cycles: dict[Key, list[Cycle]] = {}
        for cycle in cycles:
            for symbol in dict.fromkeys(hop.symbol for hop in cycle.hops):
                self._cycles.setdefault((cycle.venue, symbol), []).append(cycle)

    def others(self, venue: str, symbol: str) -> tuple[str, ...]:
        """The other venues listing `symbol`, each a cross pair with this book both ways (a
        venue the config does not list the symbol on pairs with every venue that does)."""
        found = self._others.get((venue, symbol))
        if found is None:
            found = self._others[(venue, symbol)] = tuple(
                v for v in self._venues_of.get(symbol, ()) if v != venue)
        return found

    def cycles(self, venue: str, symbol: str) -> Sequence[Cycle]:
        """The cycles on `venue` with a hop on `symbol`."""
        return self._cycles.get((venue, symbol), ())
