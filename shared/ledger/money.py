"""Currency helpers: splitting symbols and converting to the quote currency with marks."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")


def split_symbol(symbol: str) -> tuple[str, str]:
    base, _, quote = symbol.partition("/")
    if not base or not quote:
        raise ValueError(f"symbol {symbol!r} is not BASE/QUOTE")
    return base, quote


def to_quote(amount: Decimal, currency: str, marks: Mapping[str, Decimal], quote: str = "USDT") -> Decimal:
    """Convert `amount` of `currency` into `quote` using marks like {'BTC/USDT': price}."""
    if currency == quote:
        return amount
    direct = marks.get(f"{currency}/{quote}")
    if direct:
        return amount * direct
    inverse = marks.get(f"{quote}/{currency}")
    if inverse:
        return amount / inverse
    raise KeyError(f"no mark to convert {currency} to {quote}")


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
