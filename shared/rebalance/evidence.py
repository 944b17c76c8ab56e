"""What inventory on a venue has recently been worth to arbitrage (read from the store).

For every (venue, asset) the evidence over the last `horizon_hours` is
- `used_usd`: the arbitrage notional that drew on that inventory: a cross opportunity
  `cross:BASE/QUOTE:buy>sell` draws QUOTE on the buy venue and BASE on the sell venue; a
  triangle `triangle:venue:A>B>C` draws A, B and C on its venue (its legs run concurrently).
  Executed opportunities count `notional_usd x fill_ratio` (`arbitrage/` docs, written by the
  hot path); near misses for lack of inventory (`near_misses/`, reason "inventory", detail
  "venue:asset have < need", several joined by "; ") count the `need` they could not get,
  valued at the mark (a "cap ... below minimum" detail names no venue and is left out).
- `capture_usd`: what that notional earned: the opportunity's `realised` (its home asset at
  the mark, hedges and legging losses included) or, for a near miss, need x its net edge.
  Several near misses on the same (venue, asset) in the same minute competed for the same
  inventory: only the most valuable one counts.
The capture rate `capture_usd / used_usd` is what one USD of that inventory earned.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from shared.ledger.money import to_quote
from shared.ports import Document, Store

ZERO = Decimal(0)
BPS = Decimal(10_000)
SHORT = re.compile(r"(?P<venue>[^\s:;]+):(?P<asset>[^\s:;]+) (?P<have>[-+.\dEe]+) < (?P<need>[-+.\dEe]+)")


@dataclass(frozen=True)
class Usage:
    used_usd: Decimal = ZERO      # arbitrage notional that drew on this inventory
    capture_usd: Decimal = ZERO   # what it earned

    @property
    def rate(self) -> Decimal:
        """USD captured per USD of this inventory used (0 without evidence)."""
        return self.capture_usd / self.used_usd if self.used_usd > 0 else ZERO

    def value(self, holding_usd: Decimal) -> Decimal:
        """The capture a holding enables over the horizon: only what the flow used is worth
        anything (rate x min(holding, used))."""
        return self.rate * min(max(holding_usd, ZERO), self.used_usd)


@dataclass(frozen=True)
class CaptureEvidence:
    horizon_hours: float
    usage: Mapping[tuple[str, str], Usage] = field(default_factory=dict)

    def of(self, venue: str, asset: str) -> Usage:
        return self.usage.get((venue, asset), Usage())


def draws(key: str) -> list[tuple[str, str]]:
    """The (venue, asset) inventories an opportunity's legs draw on, from its key."""
    parts = key.split(":")
    if parts[0] == "cross" and len(parts) == 3 and ">" in parts[2] and "/" in parts[1]:
        base, quote = parts[1].split("/", 1)
        buy, sell = parts[2].split(">", 1)
        return [(buy, quote), (sell, base)]
    if parts[0] == "triangle" and len(parts) == 3:
        return [(parts[1], asset) for asset in parts[2].split(">")]
    return []


def _dec(value, default: Decimal = ZERO) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError):
        return default


@lru_cache(maxsize=16_384)
def _shorts(detail: str) -> tuple[tuple[str, str, Decimal], ...]:
    """The (venue, asset, need) a near miss's detail names (the same texts recur: parsed once)."""
    return tuple((m["venue"], m["asset"], _dec(m["need"])) for m in SHORT.finditer(detail))


def from_docs(arbitrage: Iterable[Document], misses: Iterable[Document], marks: Mapping[str, Decimal],
              quote: str, horizon_hours: float) -> CaptureEvidence:
    used: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    capture: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for doc in arbitrage:
        try:
            realised = to_quote(_dec(doc.get("realised")), doc.get("home", quote), marks, quote)
        except KeyError:
            continue  # no mark for its home asset: cannot value it
        notional = _dec(doc.get("notional_usd")) * _dec(doc.get("fill_ratio", "1"), Decimal(1))
        for where in draws(doc.get("key", "")):
            used[where] += notional
            capture[where] += realised
    best: dict[tuple[str, str, str], tuple[Decimal, Decimal]] = {}
    for doc in misses:
        if doc.get("reason") != "inventory":
            continue
        # "venue:asset have < need" (several joined by "; "); "cap ... below minimum" does
        # not say which venue ran short and is left out
        for venue, asset, need in _shorts(str(doc.get("detail", ""))):
            try:
                need_usd = to_quote(need, asset, marks, quote)
            except KeyError:
                continue
            edge = need_usd * max(_dec(doc.get("net_bps")), ZERO) / BPS
            slot = (venue, asset, str(doc.get("at", ""))[:16])
            if slot not in best or edge > best[slot][1]:
                best[slot] = (need_usd, edge)
    for (venue, asset, _), (need_usd, edge) in best.items():
        used[(venue, asset)] += need_usd
        capture[(venue, asset)] += edge
    return CaptureEvidence(horizon_hours, {k: Usage(used[k], capture[k]) for k in used})


def gather(store: Store, *, now: datetime, horizon_hours: float, marks: Mapping[str, Decimal],
           quote: str) -> CaptureEvidence:
    """The evidence of the last `horizon_hours` (reads outside any transaction: advisory).
    Firestore needs the composite index near_misses (reason ==, at >=)."""
    since, until = (now - timedelta(hours=horizon_hours)).isoformat(), now.isoformat()
    arbitrage = [d for _, d in store.query("arbitrage", [("detected_at", ">=", since)])
                 if str(d.get("detected_at", "")) <= until]
    misses = [d for _, d in store.query("near_misses", [("reason", "==", "inventory"), ("at", ">=", since)])
              if str(d.get("at", "")) <= until]
    return from_docs(arbitrage, misses, marks, quote, horizon_hours)
