"""The executor's venues for one mode: what orders are sent to, what reconciliation reads,
and where each venue's books come from.

- paper: one `PaperExchange` filling against the executor's own book cache (simulated or
  ccxt books), with the simulator's latency and outages for simulated venues, behind a
  `PaperVenue` that keeps what it executed in the venues' own records; the paper account
  (`PaperAccount`) is what reconciliation reads.
- live: `shared.execution.live.build_live_venues`, which refuses unless TW_MODE=live AND
  the explicit flag; books must then come from the venues themselves (ccxt).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from runtime.executor.books import BookCache
from runtime.executor.settings import ExecutorSettings
from shared.config.venues import MarketConfig
from shared.errors import ConfigError, OrderNotFound
from shared.execution.live import LIVE_FLAG, build_live_venues
from shared.execution.paper import PaperExchange
from shared.execution.paper_venue_state import PaperVenue, PaperVenueState, ccxt_order
from shared.ports import Clock, Secrets, Store


@dataclass(frozen=True)
class BookFeed:
    venue: str
    kind: str  # "simulated" | "ccxt"
    ccxt_id: str
    symbols: list[str]


@dataclass
class VenueSet:
    trading: dict[str, Any]        # venue -> .execute(order) -> Execution
    accounts: dict[str, Any]       # venue -> the Exchange-shaped view reconcile reads
    fees_bps: dict[str, Decimal]
    feeds: list[BookFeed]

    @property
    def simulated(self) -> list[BookFeed]:
        return [f for f in self.feeds if f.kind == "simulated"]

    @property
    def streamed(self) -> list[BookFeed]:
        return [f for f in self.feeds if f.kind == "ccxt"]


class PaperAccount:
    """A paper venue as reconciliation sees it. Paper fills are immediate IOC, so the venue
    holds no open order; the orders it executed are in the paper venues' own records
    (`PaperVenueState`), answered by client order id (or the venue id it gave) as a live venue
    would; the balances are the paper ledger's own."""

    balances_are_ours = True  # its balances ARE the store's: reconciliation corrects nothing

    def __init__(self, venue: str, store: Store, state: PaperVenueState | None = None):
        self.id = self.venue = venue
        self.store, self.state = store, state

    def fetch_order(self, id: str, symbol: str) -> Mapping[str, Any]:
        return self.fetch_order_by_client_id(id.removeprefix("paper-"), symbol)

    def fetch_order_by_client_id(self, client_order_id: str, symbol: str) -> Mapping[str, Any]:
        ex = self.state.execution(client_order_id, self.venue) if self.state is not None else None
        if ex is None:
            raise OrderNotFound(f"{self.venue}: paper venue has no order {client_order_id}")
        return ccxt_order(ex)

    def fetch_open_orders(self, symbol: str | None = None) -> list[Mapping[str, Any]]:
        return []

    def fetch_balance(self) -> Mapping[str, Any]:
        rows = self.store.query("balances", [("venue", "==", self.venue)])
        return {"total": {doc["asset"]: doc["total"] for _, doc in rows}}


def market_for_mode(market: MarketConfig, settings: ExecutorSettings) -> MarketConfig:
    """Live trades only the ccxt venues; simulated ones are dropped from the market."""
    if settings.mode != "live":
        return market
    if settings.books == "simulated":
        raise ConfigError("live mode cannot trade on simulated books (EXECUTOR_BOOKS=simulated)")
    keep = [v for v in market.venues if v.kind == "ccxt"]
    if not any(v.enabled for v in keep):
        raise ConfigError("live mode: no enabled venue has kind: ccxt in venues.yaml")
    return market.model_copy(update={"venues": keep})


def book_feeds(market: MarketConfig, settings: ExecutorSettings) -> list[BookFeed]:
    feeds = []
    for v in market.enabled_venues:
        kind = v.kind if settings.books == "config" else settings.books
        feeds.append(BookFeed(v.name, kind, v.ccxt_id or v.name, market.symbols_of(v.name)))
    return feeds


def build_venues(settings: ExecutorSettings, market: MarketConfig, *, store: Store, secrets: Secrets,
                 clock: Clock, cache: BookCache, simulator=None,
                 live_builder: Callable[..., dict] = build_live_venues,
                 paper_state: PaperVenueState | None = None) -> VenueSet:
    """The venues of the mode. Paper: one exchange over the book cache, remembering what it
    executed in `paper_state` (its own store; in memory when none is given)."""
    fees = {v.name: Decimal(v.taker_fee_bps) for v in market.enabled_venues}
    feeds = book_feeds(market, settings)
    if settings.mode == "live":
        pairs = live_builder(market, secrets, clock, settings.live_environ(),
                             [LIVE_FLAG] if settings.live_flag else [], settings.ccxt_urls)
        return VenueSet(trading={v: venue for v, (_, venue) in pairs.items()},
                        accounts={v: ex for v, (ex, _) in pairs.items()}, fees_bps=fees, feeds=feeds)
    simulated = {f.venue for f in feeds if f.kind == "simulated"}

    def latency_ms(venue: str) -> float:
        return simulator.latency_ms(venue) if simulator is not None and venue in simulated else 25.0

    def is_up(venue: str) -> bool:
        return simulator.is_up(venue) if simulator is not None and venue in simulated else True

    if paper_state is None:
        from shared.adapters.local.sqlite_store import SqliteStore

        paper_state = PaperVenueState(SqliteStore(":memory:"))
    paper = PaperVenue(PaperExchange(books=cache.book, fees_bps=fees, clock=clock, latency_ms=latency_ms,
                                     is_up=is_up), paper_state)
    names = [v.name for v in market.enabled_venues]
    return VenueSet(trading={v: paper for v in names},
                    accounts={v: PaperAccount(v, store, paper_state) for v in names}, fees_bps=fees, feeds=feeds)
