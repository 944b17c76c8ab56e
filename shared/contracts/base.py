"""Common pieces of every message: the frozen base model, Decimal and UTC types."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware (UTC)")
    return value.astimezone(UTC)


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""A timezone-aware timestamp, normalised to UTC."""

Money = Annotated[
    Decimal,
    AfterValidator(_finite),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
"""A Decimal amount; serialised as a plain string so JSON never loses precision."""


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class Message(BaseModel):
    """Base of every message body: frozen; unknown bus fields are ignored (DESIGN)."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_enum_values=False)
