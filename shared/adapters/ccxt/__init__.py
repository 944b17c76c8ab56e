"""The ccxt adapter: the only package in the project that imports ccxt.

`CcxtExchange` (sync REST, the Exchange port), `to_book_snapshot`/`to_bar` converters and,
in `shared.adapters.ccxt.ws`, the async websocket order-book stream with REST fallback.
"""

from shared.adapters.ccxt.config import CcxtSettings
from shared.adapters.ccxt.convert import from_ms, timeframe_ms, to_bar, to_book_snapshot, to_ms
from shared.adapters.ccxt.errors import OrderNotFound, RetryPolicy, VenueRequestFailed, map_error
from shared.adapters.ccxt.exchange import CcxtExchange, PreparedOrder

__all__ = [
    "CcxtExchange", "CcxtSettings", "OrderNotFound", "PreparedOrder", "RetryPolicy",
    "VenueRequestFailed", "from_ms", "map_error", "timeframe_ms", "to_bar", "to_book_snapshot",
    "to_ms",
]
