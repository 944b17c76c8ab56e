"""The ports of the domain core, as Protocols. Adapters live in `shared.adapters.*`.

Every handler takes the ports it needs as arguments; nothing here imports a cloud SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from shared.contracts import Bar, Envelope

Document = dict[str, Any]
"""A JSON-compatible document. Decimals are stored as strings by the callers."""

Where = tuple[str, str, Any]
"""A query filter: (field, op, value) with op in ==, !=, <, <=, >, >=."""


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class Transaction(Protocol):
    """Reads see the transaction's own writes; writes apply atomically at commit."""

    def get(self, collection: str, doc_id: str) -> Document | None: ...
    def peek(self, collection: str, doc_id: str) -> Document | None:
        """Read a document the transaction does not depend on (e.g. the latest mark price):
        sees the transaction's own writes, but a concurrent change to it is no conflict."""
        ...
    def put(self, collection: str, doc_id: str, data: Document) -> None: ...
    def delete(self, collection: str, doc_id: str) -> None: ...
    def create_if_absent(self, collection: str, doc_id: str, data: Document) -> bool:
        """Create the document unless it exists; True when this call created it."""
        ...


class Store(Protocol):
    def get(self, collection: str, doc_id: str) -> Document | None: ...
    def put(self, collection: str, doc_id: str, data: Document) -> None: ...
    def delete(self, collection: str, doc_id: str) -> None: ...
    def create_if_absent(self, collection: str, doc_id: str, data: Document) -> bool: ...
    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[tuple[str, Document]]: ...
    def transaction(self) -> AbstractContextManager[Transaction]:
        """A read-write transaction; contention retries are the adapter's business."""
        ...


Handler = Callable[[Envelope], None]


class Bus(Protocol):
    def publish(self, topic: str, envelope: Envelope, ordering_key: str | None = None) -> str:
        """Publish; returns the transport's message id."""
        ...

    def subscribe(self, subscription: str, handler: Handler) -> None:
        """Deliver the subscription's messages to `handler`. Raising TransientError asks
        for redelivery; PermanentError sends the message straight to the dead-letter topic."""
        ...


class Secrets(Protocol):
    def get(self, name: str) -> str:
        """The secret's current value; raises KeyError naming the secret if missing."""
        ...


class Exchange(Protocol):
    """The ccxt-shaped subset the system uses (unified ccxt structures as dicts)."""

    id: str

    def load_markets(self) -> Mapping[str, Mapping[str, Any]]: ...
    def fetch_order_book(self, symbol: str, limit: int | None = None) -> Mapping[str, Any]: ...
    def fetch_ticker(self, symbol: str) -> Mapping[str, Any]: ...
    def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None
    ) -> list[list[float]]: ...
    def fetch_balance(self) -> Mapping[str, Any]: ...
    def create_order(
        self, symbol: str, type: str, side: str, amount: Decimal, price: Decimal | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]: ...
    def cancel_order(self, id: str, symbol: str) -> Mapping[str, Any]: ...
    def fetch_order(self, id: str, symbol: str) -> Mapping[str, Any]: ...
    def fetch_open_orders(self, symbol: str | None = None) -> list[Mapping[str, Any]]: ...


class Predictor(Protocol):
    def predict(self, features: Sequence[Sequence[Sequence[float]]]) -> list[float]:
        """Probabilities for a batch of feature windows; raises TransientError when down."""
        ...

    def version(self) -> str: ...


class BarHistory(Protocol):
    def write(self, bars: Iterable[Bar]) -> int:
        """Store bars (idempotent on venue/symbol/timeframe/open_time); returns new count."""
        ...

    def read(
        self, venue: str, symbol: str, start: datetime, end: datetime, timeframe: str = "1m"
    ) -> list[Bar]: ...

    def last_time(self, venue: str, symbol: str, timeframe: str = "1m") -> datetime | None: ...
