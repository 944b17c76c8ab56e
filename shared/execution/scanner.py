"""The arbitrage scanner: cross-exchange and triangular, over in-memory L2 books.

Every edge is net of each venue's taker fee and priced at the VWAP of the size (walking
the book with `walk_book`), not the touch. Both kinds are sized level by level: the size
stops where the marginal unit's edge falls below `min_edge_bps` or a leg would need a
level beyond its IOC limit (touch -/+ `max_slippage_bps`), and is capped by inventory on
each venue and by `max_notional_usd` (triangle maths: `shared.execution.triangle`, cross
depth: `shared.execution.cross`). What is found below the bar is returned as a `NearMiss`
with its reason (fees, depth, inventory, stale_book) for the service to write behind.
`scan_update` is the executor's per-book-update scan: only the pairs and cycles the book
is in (`shared.execution.scan_index`), touches first. `rescan` searches one opportunity
again on the books an earlier one of the same scan leaves. `worth_scanning` is the cheap
pre-check on the touches alone (BookTop): no scan can trade when it is False. A cycle
with no gross edge at the touches is found without a division
(`shared.execution.scanner_touch`), everything past that as before. Pure: no store, no
bus, no clock read (the caller passes `now`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from shared.config.venues import MarketConfig
from shared.contracts import BookSnapshot, BookTop, Side
from shared.execution.config import ArbitrageConfig
from shared.execution.cross import cross_depth, touch
from shared.execution.opportunity import (
    BPS,
    ZERO,
    Leg,
    MissReason,
    NearMiss,
    Opportunity,
    ScanResult,
)
from shared.execution.paper import walk_book
from shared.execution.scan_index import BookIndex
from shared.execution.scanner_touch import TouchBar
from shared.execution.triangle import Cycle, Hop, hop_rate, marginal_amount, plan, touch_rate

Books = Mapping[tuple[str, str], BookSnapshot]
Tops = Mapping[tuple[str, str], BookTop]
Inventory = Mapping[tuple[str, str], Decimal]  # (venue, asset) -> free balance
ONE = Decimal(1)


class Scanner:
    def __init__(
        self, cfg: ArbitrageConfig, fees_bps: Mapping[str, Decimal], venues_of: Mapping[str, list[str]],
        cycles: Iterable[Cycle] = (), lot_sizes: Mapping[str, Decimal] | None = None, quote: str = "USDT",
    ):
        self.cfg, self.quote = cfg, quote
        self.fee = {v: Decimal(f) / BPS for v, f in fees_bps.items()}
        self.venues_of = {s: list(v) for s, v in venues_of.items()}
        self.cycles = list(cycles)
        self._cycle_of = {c.key: c for c in self.cycles}
        self.lots = dict(lot_sizes or {})
        self._max_age = timedelta(milliseconds=cfg.max_book_age_ms)
        self._slip = cfg.max_slippage_bps / BPS
        self._need = ONE + cfg.min_edge_bps / BPS
        self._floor_ge0 = cfg.near_miss_floor_bps >= 0  # then a bid <= the ask is not even a near miss
        self.index = BookIndex(self.venues_of, self.cycles)
        self._bar = TouchBar(cfg.near_miss_floor_bps, self.cycles)

    @classmethod
    def from_market(cls, market: MarketConfig, cfg: ArbitrageConfig) -> Scanner:
        venues = market.enabled_venues
        venues_of = {s: [v.name for v in venues if v.lists(s)] for s in market.symbols}
        cycles = []
        for v in venues:
            for tri in market.triangles:
                for assets in (tuple(tri), (tri[0], tri[2], tri[1])):
                    hops = []
                    for x, y in zip(assets, assets[1:] + assets[:1]):
                        symbol = market.pair_for(x, y)
                        if symbol is None or not v.lists(symbol):
                            break
                        side = Side.BUY if symbol == f"{y}/{x}" else Side.SELL
                        hops.append(Hop(symbol, side, x, y))
                    if len(hops) == 3:
                        cycles.append(Cycle(v.name, assets, tuple(hops)))
        return cls(cfg, {v.name: v.taker_fee_bps for v in venues}, venues_of, cycles,
                   {s: i.lot_size for s, i in market.instruments.items()}, market.quote)

    # -- entry points ---------------------------------------------------------------------
    def scan(self, books: Books, inventory: Inventory, now: datetime) -> ScanResult:
        """Every venue pair of every symbol and every cycle of every venue (a pair whose bid is
        at or below its ask is skipped unread: `cross` would find nothing there)."""
        out, marks = ScanResult(), _Marks(books, self.quote, self.venues_of)
        for symbol, venues in self.venues_of.items():
            tops = [(v, *touch(books.get((v, symbol)))) for v in venues]
            for buy_v, ask, _ in tops:
                for sell_v, _, bid in tops:
                    if buy_v != sell_v and ask is not None and bid is not None and (
                            bid > ask or not self._floor_ge0):
                        self._add(out, self.cross(symbol, buy_v, sell_v, books, inventory, now, marks))
        for cycle in self.cycles:
            self._add(out, self.triangle(cycle, books, inventory, now, marks))
        return out

    def scan_update(self, venue: str, symbol: str, books: Books, inventory: Inventory,
                    now: datetime) -> ScanResult:
        """Only what one book update can change: the pairs with that book, then the cycles
        through it, read from the per-book index (`BookIndex`): the results, in their order,
        of filtering every pair and cycle. The common exit — no pair crossed, no cycle's
        touches above 1 — reads the touches and builds nothing else."""
        out, marks = ScanResult(), _Marks(books, self.quote, self.venues_of)
        ask, bid = touch(books.get((venue, symbol)))
        if ask is None and bid is None:  # no book (or an empty one): nothing through it can trade
            return out
        any_gross = not self._floor_ge0
        for other in self.index.others(venue, symbol):
            book = books.get((other, symbol))
            if book is None:
                continue
            # venue > other: buy at our ask, sell at their bid; other > venue: the reverse
            if ask is not None and book.bids and (any_gross or book.bids[0].price > ask):
                self._add(out, self.cross(symbol, venue, other, books, inventory, now, marks))
            if bid is not None and book.asks and (any_gross or bid > book.asks[0].price):
                self._add(out, self.cross(symbol, other, venue, books, inventory, now, marks))
        for cycle in self.index.cycles(venue, symbol):
            self._add(out, self.triangle(cycle, books, inventory, now, marks))
        return out

    def rescan(self, opp: Opportunity, books: Books, inventory: Inventory, marks_from: Books | None = None):
        """`opp`'s venues and symbols searched again (re-sized, re-checked) on other books or
        inventory: what an earlier opportunity of the same scan leaves. Returns an
        Opportunity, a NearMiss or None, as `cross`/`triangle` do; marks come from
        `marks_from` (the scan's books) so depth taken does not move them."""
        marks = _Marks(marks_from or books, self.quote, self.venues_of)
        if opp.kind == "cross":
            buy, sell = opp.legs
            return self.cross(buy.symbol, buy.venue, sell.venue, books, inventory, opp.detected_at, marks)
        cycle = self._cycle_of.get(opp.key)
        return None if cycle is None else self.triangle(cycle, books, inventory, opp.detected_at, marks)

    def worth_scanning(self, tops: Tops, now: datetime, margin: Decimal = ZERO) -> bool:
        """Whether some cross pair or cycle clears `min_edge_bps` net of the taker fees at the
        touches `tops` (fresh ones only: a stale book can only be a near miss), less
        `margin` (relative). Deeper levels are only worse, so when this is False a scan of
        the full books finds no opportunity, and every near miss it finds (stale, fees) is
        read from the touches: with `margin` = `scanner_touch.MARGIN` (above the rounding
        of `cross`'s and `touch_rate`'s divisions) a scan of books holding only their
        touches finds the same. The replay scans a book update only when this is True."""
        need, fresh = self.touch_bar(margin), self.fresh_tops(tops, now)
        for symbol, venues in self.venues_of.items():
            quotes = [(v, fresh[(v, symbol)]) for v in venues if (v, symbol) in fresh]
            if len(quotes) > 1:  # the best bid and the best ask are on two venues when it passes
                best_bid = max(t.bid * (ONE - self.fee[v]) for v, t in quotes)
                if best_bid >= min(t.ask * (ONE + self.fee[v]) for v, t in quotes) * need:
                    return True
        for cycle in self.cycles:
            rate = self.cycle_touch_rate(cycle, fresh)
            if rate is not None and rate >= need:
                return True
        return False

    def touch_bar(self, margin: Decimal = ZERO) -> Decimal:
        """The rate a pair or cycle must reach net of fees at the touches: 1 + `min_edge_bps`,
        less `margin` (relative)."""
        return self._need * (ONE - margin) if margin else self._need

    def fresh_tops(self, tops: Tops, now: datetime) -> dict:
        """The touches of `tops` that are not stale at `now`."""
        return {k: t for k, t in tops.items() if not self._stale(t, now)}

    def cycle_touch_rate(self, cycle: Cycle, fresh: Tops) -> Decimal | None:
        """What one unit returns round `cycle` at the touches `fresh`, net of its venue's fee
        (None when a book it needs is missing)."""
        fee, rate = self.fee[cycle.venue], ONE
        for hop in cycle.hops:
            top = fresh.get((cycle.venue, hop.symbol))
            if top is None:
                return None
            rate *= ONE / (top.ask * (ONE + fee)) if hop.side is Side.BUY else top.bid * (ONE - fee)
        return rate

    @staticmethod
    def _add(out: ScanResult, found) -> None:
        if found is None:
            return
        if isinstance(found, Opportunity):
            out.opportunities.append(found)
        elif isinstance(found, NearMiss):
            out.near_misses.append(found)

    def _stale(self, book: BookSnapshot | BookTop, now: datetime) -> bool:
        return now - book.ts > self._max_age

    def _lot(self, symbol: str, qty: Decimal) -> Decimal:
        lot = self.lots.get(symbol, Decimal("1e-8"))
        return (qty / lot).to_integral_value(ROUND_DOWN) * lot

    # -- cross-exchange -------------------------------------------------------------------
    def cross(self, symbol, buy_v, sell_v, books: Books, inv: Inventory, now, marks=None):
        ask_book, bid_book = books.get((buy_v, symbol)), books.get((sell_v, symbol))
        if ask_book is None or bid_book is None or not ask_book.asks or not bid_book.bids:
            return None
        asks, bids = ask_book.asks, bid_book.bids
        pa, pb = asks[0].price, bids[0].price
        if pb <= pa and self._floor_ge0:  # the common exit: gross <= 0 <= floor
            return None
        gross = (pb - pa) / pa * BPS
        if gross <= self.cfg.near_miss_floor_bps:
            return None
        key = f"cross:{symbol}:{buy_v}>{sell_v}"
        cost, keep = ONE + self.fee[buy_v], ONE - self.fee[sell_v]
        net_touch = (pb * keep - pa * cost) / (pa * cost) * BPS
        miss = lambda reason, net, detail="": NearMiss("cross", key, reason, gross, net, now, detail)
        if self._stale(ask_book, now) or self._stale(bid_book, now):
            return miss(MissReason.STALE_BOOK, net_touch, "book older than max_book_age_ms")
        if net_touch < self.cfg.min_edge_bps:
            return miss(MissReason.FEES, net_touch, f"taker fees {buy_v}+{sell_v} leave {net_touch:.2f} bps")
        base, quote = symbol.split("/")
        marks = marks or _Marks(books, self.quote, self.venues_of)
        usd = marks.usd(base)
        if usd is None:
            return None
        min_qty = self.cfg.min_order_usd / usd
        max_buy, min_sell = pa * (ONE + self._slip), pb * (ONE - self._slip)
        cap = min(self.cfg.max_notional_usd / usd, inv.get((sell_v, base), ZERO),
                  inv.get((buy_v, quote), ZERO) / (max_buy * cost))
        walk = lambda limit: cross_depth(asks, bids, limit, max_buy, min_sell, cost, keep, self._need)
        if cap < min_qty:
            need = self._lot(symbol, walk(self.cfg.max_notional_usd / usd))
            if need < min_qty:
                return miss(MissReason.DEPTH, net_touch, f"edge holds for {need} {base} only")
            short = _short([(sell_v, base, need), (buy_v, quote, need * max_buy * cost)], inv)
            return miss(MissReason.INVENTORY, net_touch, short)
        qty = walk(cap)
        qty = self._lot(symbol, qty)
        if qty < min_qty:
            return miss(MissReason.DEPTH, net_touch, f"edge holds for {qty} {base} only")
        buy, sell = walk_book(ask_book, Side.BUY, qty), walk_book(bid_book, Side.SELL, qty)
        paid, got = qty * buy.avg_price * cost, qty * sell.avg_price * keep
        net = (got - paid) / paid * BPS
        legs = (
            Leg(buy_v, symbol, Side.BUY, qty, buy.avg_price, pa, max_buy),
            Leg(sell_v, symbol, Side.SELL, qty, sell.avg_price, pb, min_sell),
        )
        return Opportunity("cross", key, quote, legs, gross, net, got - paid, qty * usd, now)

    # -- triangular -----------------------------------------------------------------------
    def triangle(self, cycle: Cycle, books: Books, inv: Inventory, now, marks=None):
        if self._bar.below(cycle, books):  # the common exit, without dividing: see scanner_touch
            return None
        fee = self.fee[cycle.venue]
        gross_rate = touch_rate(cycle, books, ZERO)
        if gross_rate is None:
            return None
        gross = (gross_rate - ONE) * BPS
        if gross <= self.cfg.near_miss_floor_bps:
            return None
        net_touch = (touch_rate(cycle, books, fee) - ONE) * BPS
        miss = lambda reason, net, detail="": NearMiss("triangle", cycle.key, reason, gross, net, now, detail)
        if any(self._stale(books[(cycle.venue, h.symbol)], now) for h in cycle.hops):
            return miss(MissReason.STALE_BOOK, net_touch, "book older than max_book_age_ms")
        if net_touch < self.cfg.min_edge_bps:
            return miss(MissReason.FEES, net_touch, f"taker fee {cycle.venue} x3 leaves {net_touch:.2f} bps")
        marks = marks or _Marks(books, self.quote, self.venues_of)
        home = cycle.assets[0]
        usd = marks.usd(home)
        if usd is None:
            return None
        min_amount = self.cfg.min_order_usd / usd
        cap, through, per_home = self.cfg.max_notional_usd / usd, ONE, []
        for hop in cycle.hops:  # each leg spends inventory already held (legs run concurrently)
            per_home.append((hop.spend, through * (ONE + self._slip)))  # spent per home unit put in
            cap = min(cap, inv.get((cycle.venue, hop.spend), ZERO) / through / (ONE + self._slip))
            through *= hop_rate(cycle, hop, books, fee)
        if cap < min_amount:
            need = marginal_amount(cycle, books, fee, self._slip, self._need, self.cfg.max_notional_usd / usd)
            if need < min_amount:
                return miss(MissReason.DEPTH, net_touch, f"edge holds for {need:.8f} {home} only")
            return miss(MissReason.INVENTORY, net_touch,
                        _short([(cycle.venue, asset, need * k) for asset, k in per_home], inv))
        amount = marginal_amount(cycle, books, fee, self._slip, self._need, cap)
        if amount < min_amount:
            return miss(MissReason.DEPTH, net_touch, f"edge holds inside the IOC limits for {amount:.8f} {home} only")
        best = plan(cycle, books, amount, fee, self._slip, self._lot)
        if best is None or best[1] < self.cfg.min_edge_bps:
            return miss(MissReason.DEPTH, net_touch, "edge does not hold after lot rounding")
        legs, net, spent, out = best
        return Opportunity("triangle", cycle.key, home, legs, gross, net, out - spent, spent * usd, now)


def _short(needs, inv: Inventory) -> str:
    """'venue:asset have < need' for each (venue, asset, need) the inventory cannot cover, the
    form the rebalancer's capture evidence reads (shared/rebalance/evidence.py)."""
    out = [f"{v}:{a} {inv.get((v, a), ZERO):.8f} < {q:.8f}" for v, a, q in needs if inv.get((v, a), ZERO) < q]
    return "; ".join(out)


class _Marks:
    """USD (quote) value of one unit of an asset, from the mids of the books at hand."""

    def __init__(self, books: Books, quote: str, venues_of: Mapping[str, list[str]]):
        self.books, self.quote, self.venues_of = books, quote, venues_of
        self._cache: dict[str, Decimal | None] = {quote: ONE}

    def usd(self, asset: str) -> Decimal | None:
        if asset not in self._cache:
            self._cache[asset] = self._find(asset)
        return self._cache[asset]

    def _find(self, asset: str) -> Decimal | None:
        symbol = f"{asset}/{self.quote}"
        for venue in self.venues_of.get(symbol, ()):
            book = self.books.get((venue, symbol))
            if book is not None and book.bids and book.asks:
                return (book.bids[0].price + book.asks[0].price) / 2
        return None
