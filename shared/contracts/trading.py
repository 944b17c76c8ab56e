"""Trading messages: signals, orders, risk decisions and executions."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from shared.contracts.base import Message, Money, Side, UtcDatetime


def client_order_id(cause_id: str, leg: str = "0") -> str:
    """Deterministic order id from its cause: a retried order is the same order.

    32 characters of [a-z0-9], inside every major venue's clientOrderId limits.
    """
    digest = hashlib.sha256(f"{cause_id}|{leg}".encode()).hexdigest()
    return "tw" + digest[:30]


class Vote(Message):
    """One voter's opinion inside an ensemble decision."""

    voter: str
    side: Side | None  # None: no opinion (flat)
    confidence: float = Field(ge=0.0, le=1.0)
    weight: float = Field(ge=0.0)


class Signal(Message):
    """Event: the ensemble decided a side for a symbol; carries every component."""

    TYPE: ClassVar[str] = "signal"
    strategy: str = "ensemble"
    venue: str
    symbol: str
    side: Side
    confidence: float = Field(ge=0.0, le=1.0)
    price: Money = Field(gt=0)
    bar_time: UtcDatetime
    components: tuple[Vote, ...] = ()
    lstm_used: bool = False
    lstm_note: str = ""
    weights_version: int = 0
    params_version: int = 0


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT_IOC = "limit_ioc"
    TWAP = "twap"
    ICEBERG = "iceberg"


class OrderSource(StrEnum):
    SIGNAL = "signal"
    MANUAL = "manual"
    ARBITRAGE = "arbitrage"
    HEDGE = "hedge"
    REBALANCE = "rebalance"


class Order(Message):
    """Command: place this order."""

    TYPE: ClassVar[str] = "order"
    client_order_id: str = Field(min_length=8, max_length=36, pattern=r"^[A-Za-z0-9_-]+$")
    venue: str
    symbol: str
    side: Side
    quantity: Money = Field(gt=0)
    order_type: OrderType = OrderType.MARKET
    limit_price: Money | None = Field(default=None, gt=0)
    reference_price: Money = Field(gt=0)
    reduce_only: bool = False
    source: OrderSource = OrderSource.SIGNAL
    strategy: str = "ensemble"
    cause_id: str = ""
    created_at: UtcDatetime

    @model_validator(mode="after")
    def _limit_needs_price(self) -> Order:
        if self.order_type is OrderType.LIMIT_IOC and self.limit_price is None:
            raise ValueError("limit_ioc order needs limit_price")
        return self

    @property
    def notional(self) -> Decimal:
        return self.quantity * (self.limit_price or self.reference_price)


class RiskDecision(Message):
    """Event: risk approved or denied a signal/order, with every reason."""

    TYPE: ClassVar[str] = "risk_decision"
    cause_id: str
    approved: bool
    reasons: tuple[str, ...] = ()
    symbol: str
    venue: str
    side: Side
    requested_notional: Money = Decimal(0)
    approved_quantity: Money = Decimal(0)
    decided_at: UtcDatetime

    @model_validator(mode="after")
    def _denial_has_reason(self) -> RiskDecision:
        if not self.approved and not self.reasons:
            raise ValueError("a denial must say why")
        return self


class ExecutionStatus(StrEnum):
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Execution(Message):
    """Event: an order was (partially) filled, rejected or failed on a venue."""

    TYPE: ClassVar[str] = "execution"
    execution_id: str
    client_order_id: str
    venue: str
    symbol: str
    side: Side
    status: ExecutionStatus
    requested_quantity: Money = Field(ge=0)
    filled_quantity: Money = Field(ge=0)
    price: Money = Field(ge=0)  # average fill price; 0 when nothing filled
    expected_price: Money = Field(ge=0)
    fee: Money = Field(ge=0)
    fee_currency: str
    latency_ms: float = Field(ge=0)
    source: OrderSource = OrderSource.SIGNAL
    strategy: str = "ensemble"
    reason: str = ""
    executed_at: UtcDatetime

    @property
    def notional(self) -> Decimal:
        return self.filled_quantity * self.price

    @property
    def slippage_bps(self) -> float:
        if not self.expected_price or not self.filled_quantity:
            return 0.0
        raw = (self.price - self.expected_price) / self.expected_price * 10_000
        return float(raw * self.side.sign)
