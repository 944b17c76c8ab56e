"""A position on one venue and symbol, average-cost accounting with fees in the basis.

Buying adds `price*qty + fee` to the cost basis; selling realises
`price*qty - fee - avg_cost*qty`. So over any sequence of fills
`realised + unrealised == sum(sell proceeds) - sum(buy costs) - sum(fees) + mark*qty`.
Quantities never go negative (spot, long-only inventory).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from shared.contracts import Side

ZERO = Decimal(0)


@dataclass(frozen=True)
class Position:
    venue: str
    symbol: str
    quantity: Decimal = ZERO
    avg_cost: Decimal = ZERO  # per unit, fees included, in the symbol's quote currency
    realised_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    mark_price: Decimal = ZERO

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"

    @property
    def unrealised_pnl(self) -> Decimal:
        if not self.quantity or not self.mark_price:
            return ZERO
        return (self.mark_price - self.avg_cost) * self.quantity

    @property
    def market_value(self) -> Decimal:
        return self.quantity * self.mark_price

    def apply_fill(self, side: Side, quantity: Decimal, price: Decimal, fee: Decimal) -> tuple[Position, Decimal]:
        """Return the new position and the PnL this fill realised (quote currency)."""
        if quantity <= 0 or price <= 0 or fee < 0:
            raise ValueError(f"bad fill qty={quantity} price={price} fee={fee}")
        if side is Side.BUY:
            basis = self.avg_cost * self.quantity + price * quantity + fee
            qty = self.quantity + quantity
            return replace(self, quantity=qty, avg_cost=basis / qty, fees=self.fees + fee,
                           mark_price=self.mark_price or price), ZERO
        if quantity > self.quantity:
            raise ValueError(f"sell {quantity} exceeds position {self.quantity} on {self.key}")
        realised = price * quantity - fee - self.avg_cost * quantity
        qty = self.quantity - quantity
        return replace(
            self, quantity=qty, avg_cost=self.avg_cost if qty else ZERO,
            realised_pnl=self.realised_pnl + realised, fees=self.fees + fee,
            mark_price=self.mark_price or price,
        ), realised

    def to_doc(self) -> dict:
        return {
            "venue": self.venue, "symbol": self.symbol, "quantity": str(self.quantity),
            "avg_cost": str(self.avg_cost), "realised_pnl": str(self.realised_pnl),
            "fees": str(self.fees), "mark_price": str(self.mark_price),
        }

    @classmethod
    def from_doc(cls, doc: dict | None, venue: str, symbol: str) -> Position:
        if not doc:
            return cls(venue, symbol)
        return cls(
            venue=venue, symbol=symbol, quantity=Decimal(doc["quantity"]),
            avg_cost=Decimal(doc["avg_cost"]), realised_pnl=Decimal(doc["realised_pnl"]),
            fees=Decimal(doc["fees"]), mark_price=Decimal(doc.get("mark_price", "0")),
        )
