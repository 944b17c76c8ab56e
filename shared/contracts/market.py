"""Market data messages: closed bars and order-book tops/snapshots."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from shared.contracts.base import Message, Money, UtcDatetime


class Bar(Message):
    """A closed OHLCV bar of one symbol on one venue (event: the bar closed)."""

    TYPE: ClassVar[str] = "bar"
    venue: str = Field(min_length=1)
    symbol: str = Field(min_length=3)
    timeframe: str = "1m"
    open_time: UtcDatetime
    open: Money = Field(gt=0)
    high: Money = Field(gt=0)
    low: Money = Field(gt=0)
    close: Money = Field(gt=0)
    volume: Money = Field(ge=0)
    trades: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _ohlc_consistent(self) -> Bar:
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            raise ValueError("bar violates low <= open,close <= high")
        return self

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}:{self.timeframe}:{self.open_time.isoformat()}"


class BookLevel(Message):
    price: Money = Field(gt=0)
    size: Money = Field(gt=0)


class BookTop(Message):
    """Best bid and ask of one book at one moment."""

    TYPE: ClassVar[str] = "book_top"
    venue: str
    symbol: str
    ts: UtcDatetime
    bid: Money = Field(gt=0)
    bid_size: Money = Field(ge=0)
    ask: Money = Field(gt=0)
    ask_size: Money = Field(ge=0)

    @property
    def mid(self):
        return (self.bid + self.ask) / 2


class BookSnapshot(Message):
    """L2 depth: bids best-first (descending), asks best-first (ascending)."""

    TYPE: ClassVar[str] = "book_snapshot"
    venue: str
    symbol: str
    ts: UtcDatetime
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]

    @model_validator(mode="after")
    def _sorted(self) -> BookSnapshot:
        if any(a.price < b.price for a, b in zip(self.bids, self.bids[1:])):
            raise ValueError("bids must be sorted best (highest) first")
        if any(a.price > b.price for a, b in zip(self.asks, self.asks[1:])):
            raise ValueError("asks must be sorted best (lowest) first")
        return self

    def top(self) -> BookTop:
        if not self.bids or not self.asks:
            raise ValueError(f"book {self.venue}:{self.symbol} has an empty side")
        return BookTop(
            venue=self.venue, symbol=self.symbol, ts=self.ts,
            bid=self.bids[0].price, bid_size=self.bids[0].size,
            ask=self.asks[0].price, ask_size=self.asks[0].size,
        )
