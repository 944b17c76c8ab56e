"""The project's error taxonomy: what may be retried and what never will succeed."""


class TradewindsError(Exception):
    """Base of our errors."""


class TransientError(TradewindsError):
    """Worth retrying: network, timeout, 5xx, rate limit, contention."""


class PermanentError(TradewindsError):
    """Never retried: invalid payload, unknown type, schema violation, bad request."""


class RateLimited(TransientError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ExchangeError(TradewindsError):
    """Base of venue errors (mapped from ccxt by the adapter)."""


class ExchangeUnavailable(ExchangeError, TransientError):
    """The venue did not answer or answered 5xx: retry later."""


class ExchangeRateLimited(ExchangeError, RateLimited):
    """The venue asked us to slow down (429/418, DDoS protection)."""


class OrderRejected(ExchangeError, PermanentError):
    """The venue refused the order; sending it again will not help."""


class InsufficientFunds(OrderRejected):
    """Not enough balance on the venue for the order."""


class OrderNotFound(OrderRejected):
    """The venue does not know the order (by id or client order id)."""


class AuthenticationFailed(ExchangeError, PermanentError):
    """The venue refused our keys."""


class ConfigError(TradewindsError):
    """Configuration is invalid; raised at start-up with the file and field named."""


class NotSent(TransientError):
    """The order never reached the venue (e.g. its durable claim could not be written):
    not the venue's failure, no outcome to reconcile; the caller may try again later."""
