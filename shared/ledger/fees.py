"""What a fill does to the books once its fee currency is taken into account.

Venues charge the fee in the quote (most), in the base (Binance takes it from what you
buy) or in a third asset (BNB). Whatever the currency, the position's cost basis carries
the fee's value in the symbol's quote, and the balances move by what really moved."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared.contracts import Execution, Side
from shared.ledger.money import split_symbol, to_quote

log = logging.getLogger("tradewinds.ledger")
ZERO = Decimal(0)


@dataclass(frozen=True)
class FillTerms:
    base: str
    quantity: Decimal        # base units the position moves by (net of a base-currency fee)
    price: Decimal           # price per unit for the position so that cost = what was paid
    fee_in_basis: Decimal    # fee value (quote) to fold into the position's basis
    fee_value: Decimal       # the fee's value in the symbol's quote, whatever it was paid in
    balances: dict[str, Decimal]  # asset -> delta on the venue

    @property
    def base_delta(self) -> Decimal:
        return self.balances[self.base]

    def quote_delta(self, quote: str) -> Decimal:
        """Cash flow in the symbol's quote, with a third-asset fee counted at its value."""
        flow = self.balances.get(quote, ZERO)
        other = self.fee_value if len(self.balances) > 2 else ZERO
        return flow - other


def terms(ex: Execution, marks: Mapping[str, Decimal],
          prices: Mapping[str, Decimal] | None = None) -> FillTerms:
    """`prices` (USD per asset, `shared.ledger.nav.asset_prices`) value a third-currency fee
    through any route (BNB/USDT, or BNB/BTC × BTC/USDT); else the marks' direct pair."""
    base, quote = split_symbol(ex.symbol)
    qty, price, fee = ex.filled_quantity, ex.price, ex.fee
    notional = qty * price
    sign = ex.side.sign
    if ex.fee_currency == quote or not fee:
        return FillTerms(base, qty, price, fee, fee, {base: sign * qty, quote: -sign * notional - fee})
    if ex.fee_currency == base:
        # buy: you receive qty - fee; sell: you give qty + fee. The quote leg is the notional.
        moved = qty - fee if ex.side is Side.BUY else qty + fee
        return FillTerms(base, moved, notional / moved, ZERO, fee * price,
                         {base: sign * moved, quote: -sign * notional})
    try:
        if prices and ex.fee_currency in prices and prices.get(quote):
            value = fee * prices[ex.fee_currency] / prices[quote]
        else:
            value = to_quote(fee, ex.fee_currency, marks, quote)
    except KeyError:
        log.warning("fee currency has no mark: its value is left out of the PnL",
                    extra={"execution_id": ex.execution_id, "fee_currency": ex.fee_currency})
        value = ZERO
    return FillTerms(base, qty, price, value, value,
                     {base: sign * qty, quote: -sign * notional, ex.fee_currency: -fee})
