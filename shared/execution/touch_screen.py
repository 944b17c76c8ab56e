"""Screens at the touches that spare the replay work no scan would use.

`worth_mask`: `Scanner.worth_scanning` for many book updates at once, in floats.

The replay looks at every simulated book update (a 5 s grid: twelve a minute); on most of
them no pair and no cycle clears `min_edge_bps` net of fees at the touches, so no scan can
trade. `worth_mask` answers that question for a run of grid steps with array arithmetic on
the touches' float prices, with a slack of `SLACK` (relative) in the edge's favour: float
rounding (a few 1e-16 relative per product) can only make a step look more worth it, never
hide one. A step the mask marks False is one the exact Decimal check
(`Scanner.worth_scanning`, margin 0) would reject; a step it marks True is checked exactly,
as before. Only plain touches may be screened (every book present and fresh: the simulator's
`touch_prices` says when); anything else goes step by step.

`books_worth_building`: on an update worth a scan, which books need their full depth.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import numpy as np

from shared.contracts import Side

SLACK = 1e-9
ONE = Decimal(1)

Prices = Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray]]  # (venue, symbol) -> (bids, asks)


def worth_mask(scanner, prices: Prices, steps: int) -> np.ndarray:
    """Per step, False where no cross pair and no cycle of `scanner` can clear its edge at
    the touches `prices` (bid and ask arrays of `steps` values per book)."""
    need = float(scanner.touch_bar()) * (1.0 - SLACK)
    fee = {v: float(f) for v, f in scanner.fee.items()}
    mask = np.zeros(steps, dtype=bool)
    for symbol, venues in scanner.venues_of.items():
        quotes = [(v, prices[(v, symbol)]) for v in venues if (v, symbol) in prices]
        if len(quotes) > 1:
            best_bid = np.max([bid * (1.0 - fee[v]) for v, (bid, _) in quotes], axis=0)
            best_ask = np.min([ask * (1.0 + fee[v]) for v, (_, ask) in quotes], axis=0)
            mask |= best_bid >= best_ask * need
    for cycle in scanner.cycles:
        f, rate = fee[cycle.venue], np.ones(steps)
        for hop in cycle.hops:
            quote = prices.get((cycle.venue, hop.symbol))
            if quote is None:
                break
            bid, ask = quote
            rate = rate / (ask * (1.0 + f)) if hop.side is Side.BUY else rate * (bid * (1.0 - f))
        else:
            mask |= rate >= need
    return mask


def books_worth_building(scanner, tops, now, margin: Decimal) -> set[tuple[str, str]]:
    """The books of the cross pairs and cycles that clear `min_edge_bps` net of fees at the
    fresh touches `tops` less `margin` (relative): `Scanner.worth_scanning` pair by pair
    and cycle by cycle, in its Decimal arithmetic. Only these need their full depth for a
    scan: a pair or cycle that does not clear the bar is decided by its own touches (a
    near miss for fees or a stale book, or nothing), the marks are the touches' mids, and
    every opportunity, with its resizing and its legs, belongs to one that clears it."""
    need, fresh = scanner.touch_bar(margin), scanner.fresh_tops(tops, now)
    fee, out = scanner.fee, set()
    for symbol, venues in scanner.venues_of.items():
        quotes = [(v, fresh[(v, symbol)]) for v in venues if (v, symbol) in fresh]
        if len(quotes) < 2:
            continue
        bids = [(v, t.bid * (ONE - fee[v])) for v, t in quotes]
        asks = [(v, t.ask * (ONE + fee[v]) * need) for v, t in quotes]
        for sell, bid in bids:
            for buy, ask in asks:
                if buy != sell and bid >= ask:
                    out.update(((buy, symbol), (sell, symbol)))
    for cycle in scanner.cycles:
        rate = scanner.cycle_touch_rate(cycle, fresh)
        if rate is not None and rate >= need:
            out.update((cycle.venue, hop.symbol) for hop in cycle.hops)
    return out
