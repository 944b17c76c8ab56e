"""Live mode: venues through the ccxt adapter with keys from the Secrets port.

Live trading needs BOTH `TW_MODE=live` in the environment AND the explicit flag
`--i-understand-live`; anything less raises LiveModeRefused with a clear message.
ccxt is imported lazily (inside `build_live_venues`), so importing this module pulls in
no SDK. `CcxtVenue` adapts the Exchange port to the executor's `execute(order)`:
IOC limit orders are sent with timeInForce=IOC, market orders as market; the venue's
answer (a ccxt unified order) becomes an Execution with the measured latency.

An answer that is not final yet (status "open"/None, common right after a market order)
is polled with `fetch_order` (bounded; `sleep` injected) until it is. A send that failed
without a clear answer (timeout, network error: `ExchangeUnavailable`) may still have
reached the venue: the order is looked up by its client order id, with the same bound.
When neither gives a final answer the Execution says the outcome is unknown
(`routing.outcome_unknown`): the order stays open for reconciliation, it is never taken
for a cancel or a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from shared.config.venues import MarketConfig
from shared.contracts import Execution, ExecutionStatus, Order, OrderType
from shared.contracts.envelope import derive_id
from shared.errors import ConfigError, ExchangeUnavailable, OrderNotFound
from shared.execution.routing import UNKNOWN, no_fill, sanitise
from shared.ports import Clock, Secrets

LIVE_FLAG = "--i-understand-live"


class LiveModeRefused(ConfigError):
    """Live trading was not asked for explicitly, or its keys are missing."""


def require_live(environ: Mapping[str, str], argv: list[str] | tuple[str, ...]) -> None:
    mode = environ.get("TW_MODE", "paper")
    if mode != "live" or LIVE_FLAG not in argv:
        raise LiveModeRefused(
            "live trading refused: it needs TW_MODE=live in the environment AND the flag "
            f"{LIVE_FLAG} on the command line (got TW_MODE={mode!r}, flag "
            f"{'present' if LIVE_FLAG in argv else 'absent'}). Paper mode is the default.")


_STATUS = {"closed": ExecutionStatus.FILLED, "canceled": ExecutionStatus.CANCELLED,
           "cancelled": ExecutionStatus.CANCELLED, "expired": ExecutionStatus.CANCELLED,
           "rejected": ExecutionStatus.REJECTED}


def final(remote: Mapping[str, Any]) -> bool:
    """Has the venue finished with the order (filled, cancelled, expired, rejected)?"""
    return remote.get("status") in _STATUS


def to_execution(order: Order, remote: Mapping[str, Any], now, latency_ms: float) -> Execution:
    """A final ccxt order as an Execution; one still open (or without a status) is an
    unknown outcome, never a cancel."""
    if not final(remote):
        return no_fill(order, now, ExecutionStatus.FAILED,
                       f"{UNKNOWN}: venue says {remote.get('status')!r}, filled {remote.get('filled') or 0}",
                       latency_ms)
    filled = Decimal(str(remote.get("filled") or 0))
    avg = remote.get("average") or (remote.get("cost") and filled and Decimal(str(remote["cost"])) / filled) or 0
    fee = remote.get("fee") or {}
    status = _STATUS[remote["status"]]
    if status is ExecutionStatus.CANCELLED and filled > 0:
        status = ExecutionStatus.PARTIALLY_FILLED
    if status is ExecutionStatus.FILLED and filled < order.quantity:
        status = ExecutionStatus.PARTIALLY_FILLED
    return Execution(
        execution_id=derive_id(order.client_order_id, "fill"), client_order_id=order.client_order_id,
        venue=order.venue, symbol=order.symbol, side=order.side, status=status,
        requested_quantity=order.quantity, filled_quantity=filled, price=Decimal(str(avg)),
        expected_price=order.reference_price, fee=Decimal(str(fee.get("cost") or 0)),
        fee_currency=fee.get("currency") or order.symbol.partition("/")[2], latency_ms=latency_ms,
        source=order.source, strategy=order.strategy, executed_at=now)


class CcxtVenue:
    def __init__(self, exchange, clock: Clock, timer: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep, polls: int = 5, poll_s: float = 0.2):
        self.exchange, self.clock, self.timer = exchange, clock, timer
        self.sleep, self.polls, self.poll_s = sleep, polls, poll_s

    def execute(self, order: Order) -> Execution:
        started = self.timer()
        try:
            if order.order_type is OrderType.LIMIT_IOC:
                remote = self.exchange.create_order(
                    order.symbol, "limit", order.side.value, order.quantity, order.limit_price,
                    {"timeInForce": "IOC"}, client_order_id=order.client_order_id,
                    reference_price=order.reference_price)
            else:
                remote = self.exchange.create_order(
                    order.symbol, "market", order.side.value, order.quantity, None, None,
                    client_order_id=order.client_order_id, reference_price=order.reference_price)
        except ExchangeUnavailable as exc:  # the request may have reached the venue
            remote = self._settle(order, None)
            if remote is None:
                return no_fill(order, self.clock.now(), ExecutionStatus.FAILED,
                               f"{UNKNOWN}: {sanitise(f'{type(exc).__name__}: {exc}')}; "
                               "the venue does not show the order (yet)", (self.timer() - started) * 1000)
        else:
            if not final(remote):
                remote = self._settle(order, remote)
        return to_execution(order, remote, self.clock.now(), (self.timer() - started) * 1000)

    def resolve(self, order: Order) -> Execution | None:
        """The venue's answer for an order sent before (by client order id); None when the
        venue does not know it. An order still open is an unknown outcome."""
        try:
            remote = self.exchange.fetch_order_by_client_id(order.client_order_id, order.symbol)
        except OrderNotFound:
            return None
        if not final(remote):
            remote = self._settle(order, remote)
        return to_execution(order, remote, self.clock.now(), 0.0)

    def _settle(self, order: Order, remote: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """Poll the order (by venue id, else client order id) until final, at most `polls`
        times; the last view otherwise (None when the venue never showed it)."""
        last = remote
        for _ in range(self.polls):
            self.sleep(self.poll_s)
            try:
                if last is not None and last.get("id"):
                    seen = self.exchange.fetch_order(str(last["id"]), order.symbol)
                else:
                    seen = self.exchange.fetch_order_by_client_id(order.client_order_id, order.symbol)
            except Exception:  # noqa: BLE001, S112 - not there (yet) or unreachable: a poll never decides
                continue
            last = seen
            if final(seen):
                break
        return last


def venue_credentials(secrets: Secrets, venue: str) -> dict[str, Any]:
    """{api_key, secret, password, sandbox} of a venue: from the one `exchange-keys` secret
    (JSON `{"<venue>": {"api_key": "...", "secret": "...", "password": "...", "sandbox": false}}`,
    `password` and `sandbox` optional: `shared.adapters.ccxt.config.parse_exchange_keys`), else,
    locally, from the secrets `<venue>-api-key` / `<venue>-api-secret`. Values never logged."""
    from shared.adapters.ccxt.config import parse_exchange_keys  # lazy: the package imports ccxt

    try:
        text = secrets.get("exchange-keys")
    except KeyError:
        text = None
    if text is not None:
        try:
            keys = parse_exchange_keys(text)
        except ValueError as exc:
            raise LiveModeRefused(str(exc)) from None
        if venue not in keys:
            raise LiveModeRefused(f"secret exchange-keys has no api_key/secret for venue {venue!r}")
        k = keys[venue]
        return {"api_key": k.api_key.get_secret_value(), "secret": k.secret.get_secret_value(),
                "password": k.password.get_secret_value() if k.password else None, "sandbox": k.sandbox}
    return {"api_key": secrets.get(f"{venue}-api-key"), "secret": secrets.get(f"{venue}-api-secret"),
            "password": None, "sandbox": False}


def venue_keys(secrets: Secrets, venue: str) -> tuple[str, str]:
    """(API key, secret) of a venue (`venue_credentials`)."""
    creds = venue_credentials(secrets, venue)
    return creds["api_key"], creds["secret"]


def build_live_venues(market: MarketConfig, secrets: Secrets, clock: Clock, environ: Mapping[str, str],
                      argv: list[str] | tuple[str, ...], urls_override: str | None = None) -> dict:
    """{venue: (CcxtExchange, CcxtVenue)} for every enabled ccxt venue; refuses unless live is
    explicitly asked for. Keys: see `venue_credentials`."""
    require_live(environ, argv)
    from shared.adapters.ccxt import CcxtExchange  # lazy: ccxt only in live mode

    out = {}
    for v in market.enabled_venues:
        if v.kind != "ccxt":
            continue
        ex = CcxtExchange(v.ccxt_id, **venue_credentials(secrets, v.name), venue=v.name,
                          urls_override=urls_override)
        out[v.name] = (ex, CcxtVenue(ex, clock))
    if not out:
        raise LiveModeRefused("live mode asked for, but no enabled venue has kind: ccxt in venues.yaml")
    return out
