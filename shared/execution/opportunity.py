"""What the scanner finds: opportunities with their legs, and near misses with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shared.contracts import Order, OrderSource, OrderType, Side, client_order_id

BPS = Decimal(10_000)
ZERO = Decimal(0)


class MissReason(StrEnum):
    FEES = "fees"            # a gross edge that the taker fees (or the minimum edge) eat
    DEPTH = "depth"          # the edge exists only for less than the minimum order size
    INVENTORY = "inventory"  # not enough balance on a venue for the minimum order size
    SLIPPAGE = "slippage"    # the latest book (less what earlier opportunities of the scan
                             # take) no longer gives the edge / VWAP too far off
    STALE_BOOK = "stale_book"
    RISK = "risk"            # the pre-trade check refused (halt, limits)
    BREAKER = "breaker"      # a leg's venue has its circuit breaker open or half-open


@dataclass(frozen=True)
class Leg:
    venue: str
    symbol: str
    side: Side
    quantity: Decimal       # base units
    expected_price: Decimal  # VWAP of the planned quantity on the scanned book
    touch: Decimal
    limit_price: Decimal     # IOC limit: touch -/+ the slippage bound


@dataclass(frozen=True)
class Opportunity:
    kind: str                 # "cross" | "triangle"
    key: str                  # e.g. cross:BTC/USDT:binance>okx, triangle:kraken:USDT>BTC>ETH
    home: str                 # the asset profit is counted in
    legs: tuple[Leg, ...]
    gross_bps: Decimal        # at the touch, before fees
    net_bps: Decimal          # VWAP for the size, net of fees
    expected_profit: Decimal  # in `home`
    notional_usd: Decimal
    detected_at: datetime

    @property
    def id(self) -> str:
        return f"{self.key}@{self.detected_at.isoformat()}"

    def orders(self) -> list[Order]:
        """The IOC limit orders of the legs, with deterministic client order ids."""
        return [
            Order(client_order_id=client_order_id(self.id, f"leg{i}"), venue=leg.venue,
                  symbol=leg.symbol, side=leg.side, quantity=leg.quantity,
                  order_type=OrderType.LIMIT_IOC, limit_price=leg.limit_price,
                  reference_price=leg.expected_price, source=OrderSource.ARBITRAGE,
                  strategy=f"arb_{self.kind}", cause_id=self.id, created_at=self.detected_at)
            for i, leg in enumerate(self.legs)
        ]

    def to_doc(self) -> dict:
        return {
            "kind": self.kind, "key": self.key, "home": self.home, "gross_bps": str(self.gross_bps),
            "net_bps": str(self.net_bps), "expected_profit": str(self.expected_profit),
            "notional_usd": str(self.notional_usd), "detected_at": self.detected_at.isoformat(),
            "legs": [{"venue": leg.venue, "symbol": leg.symbol, "side": leg.side.value,
                      "quantity": str(leg.quantity), "expected_price": str(leg.expected_price),
                      "limit_price": str(leg.limit_price)} for leg in self.legs],
        }


@dataclass(frozen=True)
class NearMiss:
    kind: str
    key: str
    reason: MissReason
    gross_bps: Decimal
    net_bps: Decimal
    at: datetime
    detail: str = ""

    @property
    def id(self) -> str:
        return f"{self.key}@{self.at.isoformat()}".replace("/", "-")

    def to_doc(self) -> dict:
        return {"kind": self.kind, "key": self.key, "reason": self.reason.value,
                "gross_bps": str(self.gross_bps), "net_bps": str(self.net_bps),
                "at": self.at.isoformat(), "detail": self.detail}


@dataclass
class ScanResult:
    opportunities: list[Opportunity] = field(default_factory=list)
    near_misses: list[NearMiss] = field(default_factory=list)

    def extend(self, other: ScanResult) -> None:
        self.opportunities.extend(other.opportunities)
        self.near_misses.extend(other.near_misses)
