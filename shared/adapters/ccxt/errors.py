"""ccxt's exceptions mapped onto ours, and the bounded retry with backoff and jitter.

Order of the checks matters: ccxt's RateLimitExceeded and DDoSProtection are
NetworkError subclasses, InsufficientFunds is not an InvalidOrder, OrderNotFound is one.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import ccxt

from shared.errors import (
    AuthenticationFailed,
    ExchangeError,
    ExchangeRateLimited,
    ExchangeUnavailable,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    PermanentError,
)

log = logging.getLogger("tradewinds.ccxt")
T = TypeVar("T")


class VenueRequestFailed(ExchangeError, PermanentError):
    """The venue refused the request for a reason we do not classify; not retried."""


def map_error(exc: Exception, retry_after: float | None = None) -> ExchangeError:
    """Our error for a ccxt error (the caller raises it `from exc`)."""
    text = str(exc)
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return ExchangeRateLimited(text, retry_after=retry_after)
    if isinstance(exc, (ccxt.NetworkError, ccxt.BadResponse)):  # timeout, 5xx, maintenance
        return ExchangeUnavailable(text)
    if isinstance(exc, ccxt.AuthenticationError):
        return AuthenticationFailed(text)
    if isinstance(exc, ccxt.InsufficientFunds):
        return InsufficientFunds(text)
    if isinstance(exc, ccxt.OrderNotFound):
        return OrderNotFound(text)
    if isinstance(exc, (ccxt.InvalidOrder, ccxt.BadRequest, ccxt.OperationRejected)):
        return OrderRejected(text)
    return VenueRequestFailed(text)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a Retry-After header (Binance sends seconds); None when absent."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts; exponential backoff with full jitter, Retry-After honoured."""

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rand: Callable[[], float]) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        backoff = ceiling / 2 + rand() * ceiling / 2  # "equal jitter": never zero
        if retry_after is not None:
            return min(self.max_delay_s, max(retry_after, backoff))
        return backoff


def call_with_retry(
    fn: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    headers: Callable[[], Mapping[str, str] | None],
    retry_transient: bool,
    rand: Callable[[], float] = random.random,
) -> T:
    """Call `fn`; retry rate limits (and, when `retry_transient`, network errors) with
    backoff; map the final ccxt error to ours. Never retries permanent errors."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except ccxt.BaseError as exc:
            retry_after = None
            if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
                retry_after = retry_after_seconds(headers())
            mapped = map_error(exc, retry_after)
            retryable = isinstance(mapped, ExchangeRateLimited) or (
                retry_transient and isinstance(mapped, ExchangeUnavailable)
            )
            if not retryable or attempt >= policy.max_attempts:
                raise mapped from exc
            wait = policy.delay(attempt, retry_after, rand)
            log.warning("venue call failed, backing off", extra={
                "call": what, "attempt": attempt, "wait_s": round(wait, 3),
                "error": type(exc).__name__, "retry_after": retry_after})
            sleep(wait)
