"""Message contracts: one frozen pydantic model per message, and the envelope."""

from shared.contracts.base import Message, Money, Side, UtcDatetime
from shared.contracts.envelope import (
    MESSAGE_TYPES,
    SCHEMA_VERSION,
    Envelope,
    derive_id,
    from_wire,
    wrap,
)
from shared.contracts.market import Bar, BookLevel, BookSnapshot, BookTop
from shared.contracts.ops import (
    Button,
    Command,
    Control,
    Notification,
    OptimizerRequest,
    OptimizerResult,
    Severity,
)
from shared.contracts.trading import (
    Execution,
    ExecutionStatus,
    Order,
    OrderSource,
    OrderType,
    RiskDecision,
    Signal,
    Vote,
    client_order_id,
)

__all__ = [
    "MESSAGE_TYPES",
    "SCHEMA_VERSION",
    "Bar",
    "BookLevel",
    "BookSnapshot",
    "BookTop",
    "Button",
    "Command",
    "Control",
    "Envelope",
    "Execution",
    "ExecutionStatus",
    "Message",
    "Money",
    "Notification",
    "OptimizerRequest",
    "OptimizerResult",
    "Order",
    "OrderSource",
    "OrderType",
    "RiskDecision",
    "Severity",
    "Side",
    "Signal",
    "UtcDatetime",
    "Vote",
    "client_order_id",
    "derive_id",
    "from_wire",
    "wrap",
]
