"""Hourly summary and daily report, computed from the ledger in the Store.

The contract read here (written by the risk step's ledger):

collection "executions", one document per fill:
    client_order_id  str
    venue            str
    symbol           str   ccxt unified, e.g. "BTC/USDT"; the quote currency is after "/"
    side             str   "buy" | "sell"
    filled_quantity  str   Decimal
    price            str   Decimal, average fill price in the quote currency
    fee              str   Decimal, in fee_currency
    fee_currency     str   optional; when it is not the quote currency, fee_usd is used
    realised_pnl     str   Decimal, in the quote currency, after fees; "0" for a fill
                           that opens or adds to a position (not counted in the win rate)
    strategy         str
    executed_at      str   ISO-8601 UTC, e.g. "2024-05-01T12:34:56.789000+00:00"

collection "positions", one document per venue and symbol:
    venue, symbol    str
    quantity         str   Decimal, signed (negative = short); 0 when flat
    avg_cost         str   Decimal, quote currency
    mark_price       str   Decimal, quote currency (optional; avg_cost is used without it)

Nothing here keeps counters in memory: a summary is the same whichever instance runs it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.ledger.statement import arbitrage_results
from shared.ports import Store

log = logging.getLogger("tradewinds.notify.summary")
EXECUTIONS = "executions"
POSITIONS = "positions"


@dataclass(frozen=True)
class TradeRef:
    symbol: str
    venue: str
    strategy: str
    pnl: Decimal
    quote: str
    client_order_id: str


@dataclass(frozen=True)
class PeriodSummary:
    start: datetime
    end: datetime
    quote_currency: str
    trades: int = 0
    closed: int = 0
    wins: int = 0
    losses: int = 0
    pnl: dict[str, Decimal] = field(default_factory=dict)
    volume: dict[str, Decimal] = field(default_factory=dict)
    fees: dict[str, Decimal] = field(default_factory=dict)
    exposure: dict[str, Decimal] = field(default_factory=dict)
    unrealised: dict[str, Decimal] = field(default_factory=dict)
    best: TradeRef | None = None
    worst: TradeRef | None = None
    by_strategy: dict[str, Decimal] = field(default_factory=dict)
    by_venue: dict[str, Decimal] = field(default_factory=dict)
    commentary: tuple[str, ...] = ()

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.pnl) | set(self.volume)))

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.closed if self.closed else None

    def total_pnl(self) -> Decimal:
        return self.pnl.get(self.quote_currency, Decimal(0))


def hour_window(now: datetime) -> tuple[datetime, datetime]:
    """The last complete UTC hour before `now`."""
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(hours=1), end


def day_window(now: datetime) -> tuple[datetime, datetime]:
    """The last complete UTC day before `now`."""
    end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return end - timedelta(days=1), end


def summarise(store: Store, start: datetime, end: datetime, quote_currency: str = "USDT",
              win_rate_floor: float = 0.40) -> PeriodSummary:
    """Read executions in [start, end) and the open positions, and summarise them."""
    acc = _Accumulator(quote_currency)
    for doc in _executions(store, start, end):
        acc.add(doc)
    for pnl in arbitrage_results(store, start.isoformat(), end.isoformat()):
        acc.close(TradeRef("arbitrage", "", "arbitrage", pnl, quote_currency, ""))
    exposure, unrealised = open_exposure(store)
    partial = PeriodSummary(
        start=start, end=end, quote_currency=quote_currency, trades=acc.trades,
        closed=acc.closed, wins=acc.wins, losses=acc.losses, pnl=dict(acc.pnl),
        volume=dict(acc.volume), fees=dict(acc.fees), exposure=exposure, unrealised=unrealised,
        best=acc.best, worst=acc.worst, by_strategy=dict(acc.by_strategy),
        by_venue=dict(acc.by_venue),
    )
    return replace(partial, commentary=commentary(partial, win_rate_floor))


def commentary(s: PeriodSummary, win_rate_floor: float = 0.40) -> tuple[str, ...]:
    """A few plain rule-based remarks; never more than three."""
    notes: list[str] = []
    pnl = s.total_pnl()
    if s.trades == 0:
        notes.append("Quiet period: no fills.")
    elif s.closed == 0:
        notes.append("Positions opened, none closed yet.")
    else:
        rate = s.win_rate or 0.0
        if pnl > 0 and rate >= 0.6:
            notes.append("Strong period: profitable with a high win rate.")
        elif pnl > 0:
            notes.append("Profitable, carried by the size of the winners.")
        elif pnl < 0 and rate >= 0.5:
            notes.append("Losing despite winning most trades: losers are too large.")
        elif pnl < 0:
            notes.append("Losing period.")
        if rate < win_rate_floor and s.closed >= 5:
            notes.append(f"Win rate below the {win_rate_floor:.0%} panic-brake floor.")
        if s.best is not None and pnl > 0 and s.best.pnl > pnl / 2 and s.closed > 1:
            notes.append(f"Over half the profit came from one trade ({s.best.symbol}).")
    if any(v > 0 for v in s.exposure.values()) and len(notes) < 3:
        notes.append("Positions remain open.")
    return tuple(notes[:3])


# -- reading the ledger ------------------------------------------------------------------
def _executions(store: Store, start: datetime, end: datetime) -> list[dict[str, Any]]:
    # Coarse range on the stored ISO strings (one second of slack either side for 'Z' versus
    # '+00:00' spellings), then the exact window on parsed times.
    lo = (start - timedelta(seconds=1)).isoformat()
    hi = (end + timedelta(seconds=1)).isoformat()
    docs = store.query(EXECUTIONS, [("executed_at", ">=", lo), ("executed_at", "<", hi)])
    out = []
    for doc_id, doc in docs:
        when = _time(doc.get("executed_at"))
        if when is None:
            log.warning("execution without a valid executed_at skipped", extra={"doc": doc_id})
        elif start <= when < end:
            out.append(doc)
    return out


def open_exposure(store: Store) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Per quote currency: |quantity| x mark (avg_cost without a mark), and unrealised PnL."""
    exposure: dict[str, Decimal] = defaultdict(Decimal)
    unrealised: dict[str, Decimal] = defaultdict(Decimal)
    for _, doc in store.query(POSITIONS):
        qty = _dec(doc.get("quantity"))
        if not qty:
            continue
        avg = _dec(doc.get("avg_cost"))
        mark = _dec(doc.get("mark_price")) or avg
        quote = _quote(str(doc.get("symbol", "")))
        exposure[quote] += abs(qty) * mark
        unrealised[quote] += (mark - avg) * qty
    return dict(exposure), dict(unrealised)


class _Accumulator:
    def __init__(self, quote_currency: str):
        self.quote_currency = quote_currency
        self.trades = self.closed = self.wins = self.losses = 0
        self.pnl: dict[str, Decimal] = defaultdict(Decimal)
        self.volume: dict[str, Decimal] = defaultdict(Decimal)
        self.fees: dict[str, Decimal] = defaultdict(Decimal)
        self.by_strategy: dict[str, Decimal] = defaultdict(Decimal)
        self.by_venue: dict[str, Decimal] = defaultdict(Decimal)
        self.best: TradeRef | None = None
        self.worst: TradeRef | None = None

    def add(self, doc: dict[str, Any]) -> None:
        qty = _dec(doc.get("filled_quantity"))
        if qty <= 0:
            return
        symbol = str(doc.get("symbol", "?"))
        quote = _quote(symbol)
        pnl = _dec(doc.get("realised_pnl"))
        self.trades += 1
        self.volume[quote] += qty * _dec(doc.get("price"))
        if doc.get("fee_usd") not in (None, ""):  # every fee valued in USD when booked
            self.fees[self.quote_currency] += _dec(doc.get("fee_usd"))
        else:
            fee_ccy = doc.get("fee_currency") or quote
            self.fees[quote] += _dec(doc.get("fee") if fee_ccy == quote else doc.get("fee_usd"))
        self.pnl[quote] += pnl
        tag = "" if quote == self.quote_currency else f" ({quote})"
        self.by_strategy[f"{doc.get('strategy', '?')}{tag}"] += pnl
        self.by_venue[f"{doc.get('venue', '?')}{tag}"] += pnl
        if pnl == 0 or doc.get("source") in ("arbitrage", "hedge"):
            return  # an arbitrage is one trade (its legs together): counted by `close`
        self.close(TradeRef(symbol, str(doc.get("venue", "?")), str(doc.get("strategy", "?")), pnl,
                            quote, str(doc.get("client_order_id", ""))))

    def close(self, ref: TradeRef) -> None:
        """One closed trade: a strategy round trip's closing fill, or an executed arbitrage."""
        pnl = ref.pnl
        self.closed += 1
        if pnl > 0:
            self.wins += 1
        else:
            self.losses += 1
        if self.best is None or pnl > self.best.pnl:
            self.best = ref
        if self.worst is None or pnl < self.worst.pnl:
            self.worst = ref


def _quote(symbol: str) -> str:
    return symbol.split("/", 1)[-1].split(":", 1)[0] if "/" in symbol else symbol


def _dec(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        log.warning("non-numeric ledger value treated as 0", extra={"value": str(value)[:40]})
        return Decimal(0)
    return d if d.is_finite() else Decimal(0)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
