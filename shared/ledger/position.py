"""A position on one venue and symbol, average-cost accounting with fees in the basis.

Opening or adding folds the fee into the average entry price (a long's cost rises by the
fee, a short's entry falls by it); reducing realises `(price - avg) * qty - fee` for a
long and `(avg - price) * qty - fee` for a short. So over any sequence of fills
`realised + unrealised == sum(sell proceeds) - sum(buy costs) - sum(fees) + mark*qty`.

Strategy books are spot and long-only (a sell larger than the position is an error);
the arbitrage book is signed: it records inventory moved between venues relative to the
start, so a sell on one venue may take it below zero (`allow_short=True`).
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

    def apply_fill(
        self, side: Side, quantity: Decimal, price: Decimal, fee: Decimal, *, allow_short: bool = False
    ) -> tuple[Position, Decimal]:
        """Return the new position and the PnL this fill realised (quote currency)."""
        if quantity <= 0 or price <= 0 or fee < 0:
            raise ValueError(f"bad fill qty={quantity} price={price} fee={fee}")
        delta = quantity * side.sign
        q = self.quantity
        if not allow_short and q + delta < 0:
            raise ValueError(f"sell {quantity} exceeds position {q} on {self.key}")
        if q == 0 or (q > 0) == (delta > 0):
            return self._open(delta, price, fee), ZERO
        closing = min(quantity, abs(q))
        closing_fee = fee * closing / quantity
        direction = 1 if q > 0 else -1
        realised = (price - self.avg_cost) * closing * direction - closing_fee
        left = q + closing * side.sign
        reduced = replace(self, quantity=left, avg_cost=self.avg_cost if left else ZERO,
                          realised_pnl=self.realised_pnl + realised, fees=self.fees + closing_fee,
                          mark_price=self.mark_price or price)
        rest = quantity - closing
        if rest > 0:  # the fill crossed zero: the remainder opens the other side
            reduced = reduced._open(rest * side.sign, price, fee - closing_fee)
        return reduced, realised

    def _open(self, delta: Decimal, price: Decimal, fee: Decimal) -> Position:
        """Add to (or start) a position in the direction of `delta` (signed quantity)."""
        q = self.quantity + delta
        fee_per_unit_signed = fee if delta > 0 else -fee
        basis = self.avg_cost * abs(self.quantity) + price * abs(delta) + fee_per_unit_signed
        return replace(self, quantity=q, avg_cost=basis / abs(q), fees=self.fees + fee,
                       mark_price=self.mark_price or price)

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
