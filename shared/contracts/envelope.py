"""The bus envelope, the type registry and the Pub/Sub wire mapping.

Every bus message is `{id, type, v, ts, trace_id, causation_id, body}`. The id is stable
across redeliveries; messages derived from another carry a deterministic id
(`derive_id`), so a handler that runs twice publishes the same ids twice and the
consumers' idempotency absorbs the copy.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.contracts.base import Message, UtcDatetime
from shared.contracts.market import Bar, BookSnapshot, BookTop
from shared.contracts.ops import Control, Notification, OptimizerRequest, OptimizerResult
from shared.contracts.trading import Execution, Order, RiskDecision, Signal
from shared.errors import PermanentError

SCHEMA_VERSION = 1

MESSAGE_TYPES: dict[str, type[Message]] = {
    model.TYPE: model
    for model in (
        Bar, BookTop, BookSnapshot, Signal, Order, RiskDecision, Execution,
        Notification, OptimizerRequest, OptimizerResult, Control,
    )
}


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    type: str
    v: int = SCHEMA_VERSION
    ts: UtcDatetime
    trace_id: str = Field(min_length=1)
    causation_id: str | None = None
    body: dict[str, Any]

    def decode(self) -> Message:
        """Validate the body into its contract; a mismatch is a permanent error."""
        model = MESSAGE_TYPES.get(self.type)
        if model is None:
            raise PermanentError(f"unknown message type {self.type!r}")
        if self.v > SCHEMA_VERSION:
            raise PermanentError(f"{self.type} v{self.v} is newer than this build (v{SCHEMA_VERSION})")
        try:
            return model.model_validate(self.body)
        except ValidationError as exc:
            raise PermanentError(f"invalid {self.type} body: {_short(exc)}") from exc

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    def attributes(self) -> dict[str, str]:
        """Pub/Sub attributes carried on every published message."""
        return {"type": self.type, "v": str(self.v), "trace_id": self.trace_id}


def derive_id(causation_id: str, tag: str) -> str:
    return hashlib.sha256(f"{causation_id}/{tag}".encode()).hexdigest()[:32]


def wrap(
    body: Message,
    *,
    ts: datetime,
    cause: Envelope | None = None,
    tag: str = "0",
    id: str | None = None,
) -> Envelope:
    """Put a body in an envelope. With a cause, the id is derived from it and the tag."""
    if id is None:
        id = derive_id(cause.id, f"{body.TYPE}/{tag}") if cause else uuid.uuid4().hex
    trace_id = cause.trace_id if cause else id
    return Envelope(
        id=id,
        type=body.TYPE,
        ts=ts,
        trace_id=trace_id,
        causation_id=cause.id if cause else None,
        body=body.model_dump(mode="json"),
    )


def from_wire(
    data: bytes,
    attributes: Mapping[str, str] | None = None,
    *,
    message_id: str | None = None,
    publish_time: datetime | None = None,
) -> Envelope:
    """Decode published bytes. A bare body (e.g. a Cloud Scheduler payload) is wrapped
    using the `type` attribute and the transport's message id. Raises PermanentError."""
    attributes = dict(attributes or {})
    try:
        raw = json.loads(data.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PermanentError(f"payload is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise PermanentError("payload must be a JSON object")
    try:
        if "body" in raw and "type" in raw:
            return Envelope.model_validate(raw)
        if "type" not in attributes or not message_id or publish_time is None:
            raise PermanentError("bare payload without a `type` attribute and message id")
        if not str(attributes.get("v", "1")).isdigit():
            raise PermanentError(f"attribute v={attributes.get('v')!r} is not a schema version")
        return Envelope(
            id=f"ps-{message_id}", type=attributes["type"], v=int(attributes.get("v", 1)),
            ts=publish_time, trace_id=attributes.get("trace_id") or f"ps-{message_id}", body=raw,
        )
    except ValidationError as exc:
        raise PermanentError(f"invalid envelope: {_short(exc)}") from exc


def _short(exc: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)
