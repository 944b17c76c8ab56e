"""CcxtExchange: the Exchange port over ccxt's real (sync) exchange classes.

- every call runs through a bounded retry: rate limits (429/418, ccxt RateLimitExceeded /
  DDoSProtection) back off exponentially with jitter and honour Retry-After; network
  errors are retried on reads and cancels, never on order creation (the client order id
  makes a resend safe to query, not safe to repeat blindly);
- ccxt errors leave this module as shared.errors types, `raise ... from` the original;
- orders are rounded to the venue's tick and step and checked against its minimum amount
  and notional before anything is sent;
- `fetch_ohlcv_range` pages through history and resumes from any `since`.
`sleep` and `rand` are injected so backoff is observable and tests are fast.
"""

from __future__ import annotations

import decimal
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import ccxt

from shared.adapters.ccxt.config import CcxtSettings, apply_sandbox, ccxt_config
from shared.adapters.ccxt.convert import timeframe_ms, to_bar, to_ms
from shared.adapters.ccxt.errors import RetryPolicy, call_with_retry, map_error
from shared.contracts import Bar
from shared.errors import ConfigError, OrderRejected

Ms = int


@dataclass(frozen=True)
class PreparedOrder:
    """Amount and price after venue rounding; what will be sent."""

    symbol: str
    amount: Decimal
    price: Decimal | None
    reference_price: Decimal | None


def exchange_class(exchange_id: str) -> type:
    cls = getattr(ccxt, exchange_id, None)
    if exchange_id not in ccxt.exchanges or not isinstance(cls, type):
        raise ConfigError(f"unknown ccxt exchange id {exchange_id!r}")
    return cls


class DecimalIsolated:
    """Runs every ccxt method in a private decimal context.

    ccxt's number formatting sets the thread's decimal context to ROUND_HALF_UP and traps
    Underflow; without this our ledger's Decimal arithmetic would silently change rounding
    after the first ccxt call."""

    def __init__(self, inner: Any):
        object.__setattr__(self, "_inner", inner)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def isolated(*args: Any, **kwargs: Any) -> Any:
            with decimal.localcontext():
                return value(*args, **kwargs)

        return isolated

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)


class CcxtExchange:
    def __init__(
        self,
        exchange_id: str,
        *,
        api_key: str | None = None,
        secret: str | None = None,
        password: str | None = None,
        sandbox: bool = False,
        urls_override: str | dict[str, Any] | None = None,
        venue: str | None = None,
        timeout_ms: int = 10_000,
        rate_limit_ms: float | None = None,
        options: dict[str, Any] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ):
        self.settings = CcxtSettings(
            exchange_id=exchange_id, venue=venue, api_key=api_key, secret=secret, password=password,
            sandbox=sandbox, urls_override=urls_override, timeout_ms=timeout_ms, rate_limit_ms=rate_limit_ms,
            options=options or {},
        )
        cls = exchange_class(exchange_id)
        inner = cls(ccxt_config(self.settings, cls().describe()))
        apply_sandbox(inner, self.settings)  # testnet keys: every call goes to the venue's sandbox
        self._ex = DecimalIsolated(inner)
        self.id = exchange_id
        self.venue = self.settings.venue_name
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rand = rand

    def __repr__(self) -> str:  # never shows credentials
        return f"CcxtExchange(id={self.id!r}, venue={self.venue!r})"

    # -- plumbing ------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], Any], retry_transient: bool = True) -> Any:
        return call_with_retry(
            fn, what=what, policy=self.retry, sleep=self._sleep, rand=self._rand,
            headers=lambda: getattr(self._ex, "last_response_headers", None),
            retry_transient=retry_transient,
        )

    # -- market data ---------------------------------------------------------------------
    def load_markets(self, reload: bool = False) -> Mapping[str, Mapping[str, Any]]:
        return self._call("load_markets", lambda: self._ex.load_markets(reload))

    def market(self, symbol: str) -> Mapping[str, Any]:
        markets = self.load_markets()
        if symbol not in markets:
            raise OrderRejected(f"{self.id} has no market {symbol!r}")
        return markets[symbol]

    def fetch_order_book(self, symbol: str, limit: int | None = None) -> Mapping[str, Any]:
        return self._call("fetch_order_book", lambda: self._ex.fetch_order_book(symbol, limit))

    def fetch_ticker(self, symbol: str) -> Mapping[str, Any]:
        return self._call("fetch_ticker", lambda: self._ex.fetch_ticker(symbol))

    def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None,
        limit: int | None = None, until: int | None = None,
    ) -> list[list[float]]:
        params = {"until": until} if until is not None else {}
        return self._call("fetch_ohlcv", lambda: self._ex.fetch_ohlcv(
            symbol, timeframe, since, limit, params))

    def fetch_ohlcv_range(
        self, symbol: str, timeframe: str = "1m", since: datetime | Ms = 0,
        until: datetime | Ms | None = None, page_limit: int = 1000,
    ) -> Iterator[list[list[float]]]:
        """Pages of OHLCV rows with open time in [since, until), ascending, no repeats.

        Resume by calling again with `since` = last stored open time + one timeframe.
        `until` defaults to "bars closed by now" on the venue: the bar still forming is
        never yielded when `until` is the current time rounded down to the timeframe."""
        step = timeframe_ms(timeframe)
        cursor = to_ms(since) if isinstance(since, datetime) else int(since)
        end = to_ms(until) if isinstance(until, datetime) else until
        if end is None:
            end = (self._ex.milliseconds() // step) * step
        while cursor < end:
            rows = self.fetch_ohlcv(symbol, timeframe, since=cursor, limit=page_limit,
                                    until=end - 1)
            page = [r for r in rows if cursor <= r[0] < end]
            if not page:
                return
            yield page
            cursor = int(page[-1][0]) + step

    def fetch_bars(
        self, symbol: str, since: datetime | Ms, until: datetime | Ms | None = None,
        timeframe: str = "1m", page_limit: int = 1000,
    ) -> Iterator[list[Bar]]:
        """`fetch_ohlcv_range` as pages of Bars of this venue."""
        for page in self.fetch_ohlcv_range(symbol, timeframe, since, until, page_limit):
            yield [to_bar(self.venue, symbol, row, timeframe) for row in page]

    # -- account and orders --------------------------------------------------------------
    def fetch_balance(self) -> Mapping[str, Any]:
        return self._call("fetch_balance", self._ex.fetch_balance)

    def prepare_order(
        self, symbol: str, side: str, amount: Decimal, price: Decimal | None = None,
        reference_price: Decimal | None = None,
    ) -> PreparedOrder:
        """Round to the venue's step and tick; refuse what the venue would refuse."""
        market = self.market(symbol)
        try:
            rounded = Decimal(self._ex.amount_to_precision(symbol, str(amount)))
            limit_price = (Decimal(self._ex.price_to_precision(symbol, str(price)))
                           if price is not None else None)
        except ccxt.BaseError as exc:
            raise OrderRejected(f"{self.id} {symbol}: amount {amount} rounds to nothing "
                                f"at the venue's step: {exc}") from exc
        limits = market.get("limits") or {}
        _check_range(f"{symbol} amount", rounded, limits.get("amount"))
        ref = limit_price or reference_price
        if ref is not None:
            _check_range(f"{symbol} notional", rounded * ref, limits.get("cost"))
        elif (limits.get("cost") or {}).get("min"):
            raise OrderRejected(f"{symbol}: a reference price is needed to check min notional")
        return PreparedOrder(symbol, rounded, limit_price, ref)

    def create_order(
        self, symbol: str, type: str, side: str, amount: Decimal, price: Decimal | None = None,
        params: Mapping[str, Any] | None = None, *, client_order_id: str | None = None,
        reference_price: Decimal | None = None,
    ) -> Mapping[str, Any]:
        """Round, check, then send. For market orders `price` (or `reference_price`, or
        else the ticker) is used only for the min-notional check and is not sent."""
        is_market = type == "market"
        ref = reference_price or (price if is_market else None)
        if is_market and ref is None:
            ticker = self.fetch_ticker(symbol)
            last = ticker.get("ask" if side == "buy" else "bid") or ticker.get("last")
            ref = Decimal(str(last)) if last else None
        prepared = self.prepare_order(symbol, side, amount, None if is_market else price, ref)
        extra = dict(params or {})
        if client_order_id:
            extra["clientOrderId"] = client_order_id  # ccxt: binance newClientOrderId, ...
        send_price = None if is_market else float(prepared.price) if prepared.price else None
        return self._call("create_order", lambda: self._ex.create_order(
            symbol, type, side, float(prepared.amount), send_price, extra), retry_transient=False)

    def cancel_order(
        self, id: str | None, symbol: str, params: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        return self._call("cancel_order", lambda: self._ex.cancel_order(id, symbol, dict(params or {})))

    def cancel_order_by_client_id(self, client_order_id: str, symbol: str) -> Mapping[str, Any]:
        return self.cancel_order(None, symbol, {"clientOrderId": client_order_id})

    def fetch_order(
        self, id: str | None, symbol: str, params: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        return self._call("fetch_order", lambda: self._ex.fetch_order(id, symbol, dict(params or {})))

    def fetch_order_by_client_id(self, client_order_id: str, symbol: str) -> Mapping[str, Any]:
        return self.fetch_order(None, symbol, {"clientOrderId": client_order_id})

    def fetch_open_orders(self, symbol: str | None = None) -> list[Mapping[str, Any]]:
        return self._call("fetch_open_orders", lambda: self._ex.fetch_open_orders(symbol))

    def milliseconds(self) -> int:
        return int(self._ex.milliseconds())


def _check_range(what: str, value: Decimal, limit: Mapping[str, Any] | None) -> None:
    if not limit:
        return
    low, high = limit.get("min"), limit.get("max")
    if low is not None and value < Decimal(str(low)):
        raise OrderRejected(f"{what} {value} is below the venue minimum {low}")
    if high is not None and Decimal(str(high)) > 0 and value > Decimal(str(high)):
        raise OrderRejected(f"{what} {value} is above the venue maximum {high}")


__all__ = ["CcxtExchange", "PreparedOrder", "exchange_class", "map_error"]
