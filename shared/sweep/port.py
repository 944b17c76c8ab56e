"""The one exchange call the sweep needs, as a Protocol (ccxt's `withdraw` shape).

Kept here rather than in `shared.ports.Exchange` so the sweep asks for nothing more than it
uses; a ccxt exchange object satisfies it as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Withdrawer(Protocol):
    id: str

    def withdraw(self, code: str, amount: Decimal, address: str, tag: str | None = None,
                 params: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
        """Send `amount` of `code` to `address`; returns ccxt's transaction structure."""
        ...
