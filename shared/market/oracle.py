"""The arbitrage oracle: the most a perfect engine could earn from one set of books.

At one snapshot of the books (the simulator's books at one grid step, as a scan sees them):

- Cross-exchange, per symbol: every venue's asks are loaded with that venue's taker fee
  (price x (1 + fee)) and every venue's bids discounted by it (price x (1 - fee)), and the
  best remaining fee-discounted bid is matched with the best remaining fee-loaded ask, level
  by level, while it is higher. Each level of each book is used once, whatever the pairs it
  serves (a venue quoting rich is sold into ONCE, not once per venue it is rich against).
  This greedy matching is the optimum of "buy on some venues, sell on others" at that
  depth: its marginal edge only falls, and a same-venue match is never profitable (the bid
  is below the ask and fees are >= 0), so it stops before one. Profit, in the symbol's
  quote currency: Σ matched qty x (bid x (1 - fee_sell) - ask x (1 + fee_buy)), which is
  exactly what the paper exchange's fills and taker fees pay.
- Triangular, per venue and cycle (each direction): the home asset is pushed round the three
  books at that depth; the marginal rate of the cycle (the product of each hop's level
  price, net of the venue's taker fee) only falls, so the profit is taken up to the amount
  where it reaches 1. Profit in the home asset.

Nothing else limits the oracle: no inventory, no order cap, no minimum edge, no lot
rounding, no latency. The cross and triangle figures are computed each on full depth, so
where they share a book (BTC/USDT at one venue) their sum can only overstate what one
engine could take together. It is therefore an upper bound of what any engine trading
cross pairs and same-venue triangles can take from those books.

`Oracle.capped_edges` is a second, diagnostic bound: each (buy venue, sell venue) pair and
each cycle ALONE on the full depth of its books, buying at most a given notional (the
engine's per-opportunity cap). An engine taking at most one opportunity of at most that
size per pair or cycle per scan cannot earn more (sharing depth only makes prices worse).

`cause()` names the planted dislocation (shared/market/microstructure.Dislocation) behind an
edge: of the dislocations active on the edge's books, in the direction the edge trades, the
one with the largest offset; edges with none come from lag and micro-noise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from shared.config.venues import MarketConfig
from shared.contracts import BookSnapshot, BookTop, Side
from shared.market.microstructure import Dislocation

ZERO, ONE = Decimal(0), Decimal(1)
Books = Mapping[tuple[str, str], BookSnapshot]


@dataclass(frozen=True)
class Edge:
    kind: str                 # "cross" | "triangle"
    key: str                  # as the scanner names it: cross:BTC/USDT:okx>binance
    venues: tuple[str, ...]   # cross: (buy venue, sell venue); triangle: (venue,)
    symbols: tuple[str, ...]
    home: str                 # the currency `profit` is in
    size: Decimal             # cross: base units; triangle: home units put in
    profit: Decimal           # net of taker fees


@dataclass(frozen=True)
class Hop:
    symbol: str
    side: Side                # BUY: spend the quote for the base; SELL: the reverse


@dataclass(frozen=True)
class Cycle:
    venue: str
    assets: tuple[str, str, str]
    hops: tuple[Hop, Hop, Hop]

    @property
    def key(self) -> str:
        return f"triangle:{self.venue}:{'>'.join(self.assets)}"


def cycles_of(market: MarketConfig) -> list[Cycle]:
    """Both directions of every configured triangle on every enabled venue listing its pairs."""
    out = []
    for venue in market.enabled_venues:
        for tri in market.triangles:
            for assets in (tuple(tri), (tri[0], tri[2], tri[1])):
                hops = []
                for spend, get in zip(assets, assets[1:] + assets[:1]):
                    symbol = market.pair_for(spend, get)
                    if symbol is None or not venue.lists(symbol):
                        break
                    hops.append(Hop(symbol, Side.BUY if symbol == f"{get}/{spend}" else Side.SELL))
                if len(hops) == 3:
                    out.append(Cycle(venue.name, assets, tuple(hops)))
    return out


def _sides(books: Mapping[str, BookSnapshot], fees: Mapping[str, Decimal]):
    """Every venue's asks fee-loaded (cheapest first) and bids fee-discounted (richest first),
    as (effective price, venue, size, price)."""
    asks = sorted((lv.price * (ONE + fees[v]), v, lv.size, lv.price) for v, b in books.items() for lv in b.asks)
    bids = sorted(((lv.price * (ONE - fees[v]), v, lv.size, lv.price) for v, b in books.items() for lv in b.bids),
                  key=lambda x: x[0], reverse=True)
    return asks, bids


def _match(asks, bids, limit: Decimal | None = None) -> dict[tuple[str, str], list[Decimal]]:
    """Greedy: best bid against best ask while the bid is higher (and the quote notional
    bought is below `limit`); (buy venue, sell venue) -> [quantity, profit, notional]."""
    flows: dict[tuple[str, str], list[Decimal]] = {}
    if not asks or not bids:
        return flows
    i, j, ra, rb, spent = 0, 0, asks[0][2], bids[0][2], ZERO
    while limit is None or spent < limit:
        (a_eff, buy_v, _, a_px), (b_eff, sell_v, _, _) = asks[i], bids[j]
        if b_eff <= a_eff:
            break
        take = min(ra, rb) if limit is None else min(ra, rb, (limit - spent) / a_px)
        flow = flows.setdefault((buy_v, sell_v), [ZERO, ZERO, ZERO])
        flow[0], flow[1], flow[2] = flow[0] + take, flow[1] + take * (b_eff - a_eff), flow[2] + take * a_px
        ra, rb, spent = ra - take, rb - take, spent + take * a_px
        if ra <= 0:
            i += 1
            if i == len(asks):
                break
            ra = asks[i][2]
        if rb <= 0:
            j += 1
            if j == len(bids):
                break
            rb = bids[j][2]
    return flows


def _cross(symbol: str, flows: Mapping[tuple[str, str], list[Decimal]]) -> list[Edge]:
    quote = symbol.split("/")[1]
    return [Edge("cross", f"cross:{symbol}:{b}>{s}", (b, s), (symbol,), quote, f[0], f[1])
            for (b, s), f in sorted(flows.items()) if f[1] > 0]


def cross_edges(symbol: str, books: Mapping[str, BookSnapshot], fees: Mapping[str, Decimal]) -> list[Edge]:
    """The greedy fee-net matching of every venue's asks against every venue's bids (books
    and fees, as fractions, by venue); one Edge per (buy venue, sell venue) that trades."""
    asks, bids = _sides(books, fees)
    if not asks or not bids or bids[0][0] <= asks[0][0]:
        return []
    return _cross(symbol, _match(asks, bids))


def pair_edges(symbol: str, books: Mapping[str, BookSnapshot], fees: Mapping[str, Decimal],
               limit: Decimal) -> list[Edge]:
    """Each (buy venue, sell venue) pair ALONE on the full depth of its two books, buying at
    most `limit` of quote notional: what one capped opportunity per pair could take."""
    out = []
    for buy_v, buy in sorted(books.items()):
        for sell_v, sell in sorted(books.items()):
            if buy_v == sell_v or not buy.asks or not sell.bids:
                continue
            if sell.bids[0].price * (ONE - fees[sell_v]) <= buy.asks[0].price * (ONE + fees[buy_v]):
                continue
            asks, _ = _sides({buy_v: buy}, fees)
            _, bids = _sides({sell_v: sell}, fees)
            out += _cross(symbol, _match(asks, bids, limit))
    return out


def triangle_edge(cycle: Cycle, books: Mapping[str, BookSnapshot], fee: Decimal,
                  limit: Decimal | None = None) -> Edge | None:
    """The home asset pushed round the cycle's books (by symbol) while the marginal rate,
    net of the taker `fee` (a fraction) on every hop, is above 1 (and at most `limit` of
    it is put in)."""
    sides = []
    for hop in cycle.hops:
        book = books.get(hop.symbol)
        levels = None if book is None else (book.asks if hop.side is Side.BUY else book.bids)
        if not levels:
            return None
        sides.append(levels)

    def level(k: int, i: int) -> tuple[Decimal, Decimal]:
        """(rate: units got per unit spent, capacity in units spent) of level i of hop k."""
        lv = sides[k][i]
        if cycle.hops[k].side is Side.BUY:
            cost = lv.price * (ONE + fee)
            return ONE / cost, lv.size * cost
        return lv.price * (ONE - fee), lv.size

    idx = [0, 0, 0]
    cur = [level(k, 0) for k in range(3)]
    caps = [c for _, c in cur]
    put = profit = ZERO
    while limit is None or put < limit:
        rates = [r for r, _ in cur]
        through = (ONE, rates[0], rates[0] * rates[1])   # hop k's spend per unit of home put in
        marginal = through[2] * rates[2]
        if marginal <= ONE:
            break
        x, limiting = min((caps[k] / through[k], k) for k in range(3))
        if limit is not None and put + x >= limit:
            x, limiting = limit - put, None
        put, profit = put + x, profit + x * (marginal - ONE)
        for k in range(3):
            caps[k] -= x * through[k]
        if limiting is None:
            break
        caps[limiting] = ZERO
        done = False
        for k in range(3):
            if caps[k] <= 0:
                idx[k] += 1
                if idx[k] == len(sides[k]):
                    done = True
                    break
                cur[k] = level(k, idx[k])
                caps[k] = cur[k][1]
        if done:
            break
    if profit <= 0:
        return None
    return Edge("triangle", cycle.key, (cycle.venue,), tuple(h.symbol for h in cycle.hops), cycle.assets[0],
                put, profit)


def usd_prices(books: Books, quote: str) -> dict[str, Decimal]:
    """Price per asset in `quote`: the median mid over venues of ASSET/quote, and an asset
    with no such pair through a cross pair whose other side is priced."""
    mids: dict[str, list[Decimal]] = {}
    for (_, symbol), book in books.items():
        if book.bids and book.asks:
            mids.setdefault(symbol, []).append((book.bids[0].price + book.asks[0].price) / 2)
    marks = {s: median(m) for s, m in sorted(mids.items())}
    prices = {quote: ONE}
    for symbol, mid in marks.items():
        base, q = symbol.split("/")
        if q == quote:
            prices[base] = mid
    for symbol, mid in marks.items():
        base, q = symbol.split("/")
        if base not in prices and q in prices:
            prices[base] = mid * prices[q]
        elif q not in prices and base in prices:
            prices[q] = prices[base] / mid
    return prices


class Oracle:
    """Every edge of one snapshot of the books of a market (see the module docstring)."""

    def __init__(self, market: MarketConfig, max_book_age: timedelta | None = None):
        self.quote = market.quote
        self.fees = {v.name: v.taker_fee for v in market.enabled_venues}
        self.symbols = list(market.symbols)
        self.cycles = cycles_of(market)
        self.max_age = max_book_age

    def fresh(self, books: Books, now: datetime | None = None) -> dict[tuple[str, str], BookSnapshot]:
        """The books a venue publishes at `now`: one older than `max_book_age` is left out."""
        if now is None or self.max_age is None:
            return dict(books)
        return {k: b for k, b in books.items() if now - b.ts <= self.max_age}

    def any_edge(self, tops: Mapping[tuple[str, str], BookTop]) -> bool:
        """False when the touches (by venue, symbol) show no edge: deeper levels are only
        worse, so there is then none in the books either (a cheap pre-check)."""
        for symbol in self.symbols:
            of = [(v, t) for (v, s), t in tops.items() if s == symbol]
            if len(of) > 1 and max(t.bid * (ONE - self.fees[v]) for v, t in of) > min(
                    t.ask * (ONE + self.fees[v]) for v, t in of):
                return True
        for cycle in self.cycles:
            rate = ONE
            for hop in cycle.hops:
                top = tops.get((cycle.venue, hop.symbol))
                if top is None:
                    break
                fee = self.fees[cycle.venue]
                rate *= ONE / (top.ask * (ONE + fee)) if hop.side is Side.BUY else top.bid * (ONE - fee)
            else:
                if rate > ONE:
                    return True
        return False

    def edges(self, books: Books, now: datetime | None = None) -> list[Edge]:
        """The oracle of one snapshot: `books` by (venue, symbol), those of venues up now."""
        books = self.fresh(books, now)
        out: list[Edge] = []
        for symbol in self.symbols:
            out += cross_edges(symbol, {v: b for (v, s), b in books.items() if s == symbol}, self.fees)
        for cycle in self.cycles:
            edge = triangle_edge(cycle, {s: b for (v, s), b in books.items() if v == cycle.venue},
                                 self.fees[cycle.venue])
            if edge is not None:
                out.append(edge)
        return out

    def capped_edges(self, books: Books, cap_usd: Decimal, prices: Mapping[str, Decimal],
                     now: datetime | None = None) -> list[Edge]:
        """Each cross pair and each cycle alone on full depth, at most `cap_usd` of notional
        (`prices` per asset in the quote): an upper bound for an engine taking at most one
        opportunity of at most `cap_usd` per pair or cycle per scan."""
        books = self.fresh(books, now)
        out: list[Edge] = []
        for symbol in self.symbols:
            quote = symbol.split("/")[1]
            if prices.get(quote):
                out += pair_edges(symbol, {v: b for (v, s), b in books.items() if s == symbol}, self.fees,
                                  cap_usd / prices[quote])
        for cycle in self.cycles:
            home = cycle.assets[0]
            if prices.get(home):
                edge = triangle_edge(cycle, {s: b for (v, s), b in books.items() if v == cycle.venue},
                                     self.fees[cycle.venue], cap_usd / prices[home])
                if edge is not None:
                    out.append(edge)
        return out


def cause(edge: Edge, planted: Iterable[Dislocation], at: datetime) -> Dislocation | None:
    """The planted dislocation behind `edge` at `at`: the largest offset among those active on
    its books in the direction it trades (cross: the buy venue quoting cheap or the sell
    venue rich; triangle: any of the venue's cycle symbols); None when no dislocation is."""
    best, size = None, 0.0
    for d in planted:
        offset = d.offset_bps(at)
        if offset == 0.0 or d.symbol not in edge.symbols:
            continue
        if edge.kind == "cross":
            buy, sell = edge.venues
            if not ((d.venue == buy and offset < 0) or (d.venue == sell and offset > 0)):
                continue
        elif d.venue != edge.venues[0]:
            continue
        if abs(offset) > size:
            best, size = d, abs(offset)
    return best
