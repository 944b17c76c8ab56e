"""The incremental scan (per-book index, touch-first exits) finds what the old full filter found.

`ReferenceScanner` (below) is the scanner as it was before the index
(git 9e8bcd6): `scan_update` filtering every pair and cycle, `cross` computing the gross
edge of every pair, `touch_rate` hop by hop. On seeded random book sequences (dislocated,
stale, missing and one-sided books, short inventories, a venue that lists two symbols
only) every update is scanned by both and must give the same opportunities and near misses
in the same order; the full scans must agree; the incremental result must be what the full
scan finds through the updated book; the engine's decisions must be the same.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from shared.clock import SimulatedClock
from shared.config.venues import MarketConfig
from shared.contracts import BookLevel, BookSnapshot, Side
from shared.execution.arbitrage import build_engine
from shared.execution.cross import cross_depth
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
from shared.execution.scanner import ONE, Scanner, _Marks, _short
from shared.execution.triangle import hop_rate, marginal_amount, plan
from tests.executor_fixtures import T0, arb_config, exec_config, market

D = Decimal
pytestmark = pytest.mark.timeout(30)


# -- the scanner before the index (verbatim but for names; `cross_depth` moved unchanged) ---
def _ref_touch_rate(cycle, books, fee):
    rate = ONE
    for hop in cycle.hops:
        book = books.get((cycle.venue, hop.symbol))
        levels = () if book is None else (book.asks if hop.side is Side.BUY else book.bids)
        if not levels:
            return None
        price = levels[0].price
        rate *= ONE / (price * (ONE + fee)) if hop.side is Side.BUY else price * (ONE - fee)
    return rate


class ReferenceScanner(Scanner):
    def scan(self, books, inventory, now):
        out, marks = ScanResult(), _Marks(books, self.quote, self.venues_of)
        for symbol, venues in self.venues_of.items():
            for buy_v in venues:
                for sell_v in venues:
                    if buy_v != sell_v:
                        self._add(out, self.cross(symbol, buy_v, sell_v, books, inventory, now, marks))
        for cycle in self.cycles:
            self._add(out, self.triangle(cycle, books, inventory, now, marks))
        return out

    def scan_update(self, venue, symbol, books, inventory, now):
        out, marks = ScanResult(), _Marks(books, self.quote, self.venues_of)
        for other in self.venues_of.get(symbol, ()):
            if other != venue:
                self._add(out, self.cross(symbol, venue, other, books, inventory, now, marks))
                self._add(out, self.cross(symbol, other, venue, books, inventory, now, marks))
        for cycle in self.cycles:
            if cycle.venue == venue and any(h.symbol == symbol for h in cycle.hops):
                self._add(out, self.triangle(cycle, books, inventory, now, marks))
        return out

    def cross(self, symbol, buy_v, sell_v, books, inv, now, marks=None):
        ask_book, bid_book = books.get((buy_v, symbol)), books.get((sell_v, symbol))
        if ask_book is None or bid_book is None or not ask_book.asks or not bid_book.bids:
            return None
        asks, bids = ask_book.asks, bid_book.bids
        pa, pb = asks[0].price, bids[0].price
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
        qty = self._lot(symbol, walk(cap))
        if qty < min_qty:
            return miss(MissReason.DEPTH, net_touch, f"edge holds for {qty} {base} only")
        buy, sell = walk_book(ask_book, Side.BUY, qty), walk_book(bid_book, Side.SELL, qty)
        paid, got = qty * buy.avg_price * cost, qty * sell.avg_price * keep
        net = (got - paid) / paid * BPS
        legs = (Leg(buy_v, symbol, Side.BUY, qty, buy.avg_price, pa, max_buy),
                Leg(sell_v, symbol, Side.SELL, qty, sell.avg_price, pb, min_sell))
        return Opportunity("cross", key, quote, legs, gross, net, got - paid, qty * usd, now)

    def triangle(self, cycle, books, inv, now, marks=None):
        fee = self.fee[cycle.venue]
        gross_rate = _ref_touch_rate(cycle, books, ZERO)
        if gross_rate is None:
            return None
        gross = (gross_rate - ONE) * BPS
        if gross <= self.cfg.near_miss_floor_bps:
            return None
        net_touch = (_ref_touch_rate(cycle, books, fee) - ONE) * BPS
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
        for hop in cycle.hops:
            per_home.append((hop.spend, through * (ONE + self._slip)))
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


# -- a market with four venues (d lists BTC/USDT and ETH/USDT only) and random books --------
def market4() -> MarketConfig:
    doc = market().model_dump(mode="json")
    doc["venues"] = [{"name": "a", "taker_fee_bps": "10", "maker_fee_bps": "10"},
                     {"name": "b", "taker_fee_bps": "7.5", "maker_fee_bps": "7.5"},
                     {"name": "c", "taker_fee_bps": "2", "maker_fee_bps": "2"},
                     {"name": "d", "taker_fee_bps": "0", "maker_fee_bps": "0",
                      "symbols": ["BTC/USDT", "ETH/USDT"]}]
    return MarketConfig.model_validate(doc)


MIDS = {"BTC/USDT": (D(100), D("0.01"), 1), "ETH/USDT": (D(5), D("0.0001"), 20),  # mid, tick, size x
        "ETH/BTC": (D("0.05"), D("0.00001"), 20)}
ASSETS = ("USDT", "BTC", "ETH")


def random_book(rng: random.Random, venue: str, symbol: str, now) -> BookSnapshot | None:
    """A book around the symbol's mid, dislocated by up to +/-90 bps, 1-5 levels a side;
    sometimes stale, one-sided or missing."""
    if rng.random() < 0.04:
        return None
    mid, tick, scale = MIDS[symbol]
    shift = D(rng.choice((0, 0, rng.randint(-30, 30), rng.randint(-90, 90)))) / BPS
    centre = mid * (1 + shift) + D(rng.randint(-3, 3)) * tick
    half = D(rng.randint(0, 3)) * tick
    sides = []
    for sign in (-1, 1):
        price, levels = (centre + sign * half).quantize(tick), []
        for _ in range(rng.randint(1, 5)):
            levels.append(BookLevel(price=price, size=scale * D(rng.choice(("0.05", "0.3", "1", "4", "25")))))
            price += sign * rng.randint(1, 4) * tick
        sides.append(tuple(levels) if rng.random() > 0.03 else ())
    bids, asks = sides
    if bids and asks and bids[0].price >= asks[0].price:  # a venue's own book does not cross
        asks = tuple(BookLevel(price=lv.price + bids[0].price - asks[0].price + tick, size=lv.size)
                     for lv in asks)
    stale = rng.random() < 0.08
    return BookSnapshot(venue=venue, symbol=symbol, ts=now - timedelta(seconds=5 if stale else 0),
                        bids=bids, asks=asks)


def random_inventory(rng: random.Random, venues) -> dict:
    sizes = {"USDT": ("5", "150", "10000"), "BTC": ("0.05", "1.5", "100"), "ETH": ("1", "30", "2000")}
    return {(v, a): D(rng.choice(sizes[a])) for v in venues for a in ASSETS}


def keys_through(scanner: Scanner, result: ScanResult, venue: str, symbol: str) -> dict:
    """The full scan's findings for the pairs with (venue, symbol) and the cycles through it."""
    def through(found) -> bool:
        if found.kind == "cross":
            return found.key.startswith(f"cross:{symbol}:") and venue in found.key.split(":")[2].split(">")
        cycle = scanner._cycle_of[found.key]
        return cycle.venue == venue and any(h.symbol == symbol for h in cycle.hops)
    return {f.key: f for f in (*result.opportunities, *result.near_misses) if through(f)}


@pytest.mark.parametrize("seed, floor", [(1, D(0)), (2, D(0)), (3, D("0.5")), (4, D(-3))])
def test_incremental_scan_finds_what_the_reference_full_filter_found(seed, floor):
    rng = random.Random(seed)
    mkt = market4()
    cfg = arb_config().model_copy(update={"near_miss_floor_bps": floor})  # -3: below the config's bound
    new, ref = Scanner.from_market(mkt, cfg), ReferenceScanner.from_market(mkt, cfg)
    venues = [v.name for v in mkt.venues]
    pairs = [(v, s) for v in venues for s in mkt.symbols]  # with d's ETH/BTC: a book no config lists
    books = {p: b for p in pairs if (b := random_book(rng, *p, T0)) is not None}
    seen = {"cross": 0, "triangle": 0, **{r.value: 0 for r in MissReason}}
    for step in range(250):
        now = T0 + timedelta(milliseconds=10 * step)  # books stay fresh (3 s) but for the stale ones
        venue, symbol = rng.choice(pairs)
        book = random_book(rng, venue, symbol, now)
        if book is None:
            books.pop((venue, symbol), None)
        else:
            books[(venue, symbol)] = book
        inv = random_inventory(rng, venues)
        got, want = new.scan_update(venue, symbol, books, inv, now), ref.scan_update(venue, symbol, books, inv, now)
        assert got == want, (seed, step, venue, symbol)
        full = ref.scan(books, inv, now)
        if step % 5 == 0:
            assert new.scan(books, inv, now) == full, (seed, step)
        if venue in ref.venues_of[symbol]:  # (d's ETH/BTC is in no full scan: both scanners
            as_found = {f.key: f for f in (*got.opportunities, *got.near_misses)}  # pair it on update)
            assert as_found == keys_through(ref, full, venue, symbol), (seed, step, venue, symbol)
        for opp in got.opportunities:
            seen[opp.kind] += 1
        for miss in got.near_misses:
            seen[miss.reason.value] += 1
    # the sequences reach every path: both kinds traded, and misses for fees, staleness, depth, inventory
    assert all(seen[k] > 0 for k in ("cross", "triangle", "fees", "stale_book", "inventory", "depth")), seen


def test_engine_decisions_are_the_same_with_the_reference_scanner():
    rng = random.Random(11)
    mkt = market4()
    clock = SimulatedClock(T0)
    latest: dict = {}
    engines = [build_engine(mkt, exec_config(), {}, lambda v, s: latest.get((v, s)), clock) for _ in range(2)]
    engines[1].scanner = ReferenceScanner.from_market(mkt, arb_config())
    venues = [v.name for v in mkt.venues]
    pairs = [(v, s) for v in venues for s in mkt.symbols]
    books = {p: b for p in pairs if (b := random_book(rng, *p, T0)) is not None}
    approved = 0
    for step in range(150):
        now = T0 + timedelta(milliseconds=10 * step)  # books stay fresh (3 s) but for the stale ones
        update = rng.choice(pairs)
        book = random_book(rng, *update, now)
        books.pop(update, None) if book is None else books.__setitem__(update, book)
        latest.clear()
        latest.update(books)
        inv = random_inventory(rng, venues)
        got, want = (e.decide(books, inv, now, update=update) for e in engines)
        assert (got.approved, got.near_misses) == (want.approved, want.near_misses), (step, update)
        approved += len(got.approved)
    assert approved > 0


def test_a_bid_at_the_ask_is_nothing_and_one_tick_above_is_a_near_miss():
    """Hand-built: b's bid at a's ask (gross 0 bps, not above the 0 floor) is no finding;
    one cent above is a fees near miss: gross 0.01 / 100 x 10,000 = 1 bps; net at the touch
    (100.01 x 0.999 - 100 x 1.001) / (100 x 1.001) x 10,000 = -0.19001 / 100.1 x 10,000."""
    s = Scanner.from_market(market(), arb_config())
    inv = random_inventory(random.Random(0), ("a", "b"))

    def books(bid_b: str) -> dict:
        return {("a", "BTC/USDT"): BookSnapshot(venue="a", symbol="BTC/USDT", ts=T0,
                                                bids=(BookLevel(price=D("99.90"), size=D(1)),),
                                                asks=(BookLevel(price=D("100.00"), size=D(1)),)),
                ("b", "BTC/USDT"): BookSnapshot(venue="b", symbol="BTC/USDT", ts=T0,
                                                bids=(BookLevel(price=D(bid_b), size=D(1)),),
                                                asks=(BookLevel(price=D("100.20"), size=D(1)),))}

    assert s.scan_update("a", "BTC/USDT", books("100.00"), inv, T0) == ScanResult()
    [miss] = s.scan_update("a", "BTC/USDT", books("100.01"), inv, T0).near_misses
    assert (miss.key, miss.reason, miss.gross_bps) == ("cross:BTC/USDT:a>b", MissReason.FEES, D(1))
    assert miss.net_bps == D("-0.19001") / D("100.1") * 10_000


class Counting(Scanner):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.calls: list[tuple] = []

    def cross(self, symbol, buy_v, sell_v, *a, **kw):
        self.calls.append(("cross", symbol, buy_v, sell_v))
        return super().cross(symbol, buy_v, sell_v, *a, **kw)

    def triangle(self, cycle, *a, **kw):
        self.calls.append(("triangle", cycle.key))
        return super().triangle(cycle, *a, **kw)


def test_an_update_sizes_only_crossed_pairs_and_the_cycles_through_its_book():
    """An update of c's BTC/USDT (bid 99.95 / ask 100.05). c > x buys at 100.05 and sells
    at x's bid (99.90, 99.80, 99.90): never above. x > c buys at x's ask (100.00, 99.94,
    100.00) and sells at 99.95: only b's 99.94 is under it, so b > c is the one pair
    `cross` is asked about (the old scan asked about all six). The cycles read are c's two
    through BTC/USDT (d lists no ETH/BTC; no cycle of a, b or d is read)."""
    mkt = market4()
    s = Counting.from_market(mkt, arb_config())

    def bk(venue, symbol, bid, ask):
        return BookSnapshot(venue=venue, symbol=symbol, ts=T0, bids=(BookLevel(price=D(bid), size=D(1)),),
                            asks=(BookLevel(price=D(ask), size=D(1)),))

    books = {("a", "BTC/USDT"): bk("a", "BTC/USDT", "99.90", "100.00"),
             ("b", "BTC/USDT"): bk("b", "BTC/USDT", "99.80", "99.94"),
             ("c", "BTC/USDT"): bk("c", "BTC/USDT", "99.95", "100.05"),
             ("d", "BTC/USDT"): bk("d", "BTC/USDT", "99.90", "100.00")}
    s.scan_update("c", "BTC/USDT", books, {}, T0)
    assert s.calls == [("cross", "BTC/USDT", "b", "c"),
                       ("triangle", "triangle:c:USDT>BTC>ETH"), ("triangle", "triangle:c:USDT>ETH>BTC")]
