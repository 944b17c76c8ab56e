"""What every Cloud Function entry point does: decode → validate → run_step → publish.

The event is either a structured CloudEvent from Eventarc or the CloudEvent the
functions-framework makes from a raw Pub/Sub push body; both carry
`data = {"message": {"data": b64, "attributes", "messageId", "publishTime"}, ...}`.

- older than TW_MAX_EVENT_AGE_S (by publish time, wall clock): dropped with a log line,
  so redeliveries of stale events cannot storm;
- PermanentError (bad payload, unknown type, schema violation): logged, published to the
  topic's dead-letter topic with the reason, and the function returns (the push is acked);
- anything else raises: the framework answers 500 and Pub/Sub redelivers with backoff.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contracts import from_wire
from shared.delivery import run_step
from shared.errors import PermanentError
from shared.logs import bind_trace

log = logging.getLogger("tradewinds.functions")
_TOPIC = re.compile(r"topics/([^/?]+)")
_SUBSCRIPTION = re.compile(r"subscriptions/([^/?]+)")
_FRACTION = re.compile(r"(\.\d{6})\d+")


@dataclass(frozen=True)
class PushedMessage:
    data: bytes
    attributes: dict[str, str]
    message_id: str
    publish_time: datetime
    topic: str | None
    subscription: str | None = None


def parse_time(value: str) -> datetime:
    """RFC 3339 from Pub/Sub (nanoseconds and `Z` allowed) → aware UTC datetime."""
    value = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def pubsub_message(event: Any) -> PushedMessage:
    """The Pub/Sub message inside a CloudEvent; PermanentError when there is none."""
    data = event.data
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        raise PermanentError("CloudEvent data carries no Pub/Sub `message`")
    try:
        payload = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise PermanentError(f"message data is not base64: {exc}") from exc
    message_id = message.get("messageId") or message.get("message_id") or event["id"]
    try:
        published = parse_time(message.get("publishTime") or message.get("publish_time") or event["time"])
    except (ValueError, TypeError, KeyError) as exc:
        raise PermanentError(f"bad publish time: {exc}") from exc
    match = _TOPIC.search(str(event.get("source") or ""))
    sub = _SUBSCRIPTION.search(str(data.get("subscription") or ""))  # our push subscription's name
    attributes = {str(k): str(v) for k, v in (message.get("attributes") or {}).items()}
    return PushedMessage(payload, attributes, str(message_id), published, match.group(1) if match else None,
                         sub.group(1) if sub else None)


def max_event_age(environ: dict[str, str] | None = None) -> timedelta | None:
    raw = (os.environ if environ is None else environ).get("TW_MAX_EVENT_AGE_S", "").strip()
    return timedelta(seconds=float(raw)) if raw and float(raw) > 0 else None


def handle_event(step: str, event: Any) -> None:
    from functions import bootstrap  # the composition root is built on first use only

    rt = bootstrap.runtime(step)
    try:
        msg = pubsub_message(event)
    except PermanentError as exc:  # nothing to dead-letter: say why and ack
        log.error("event is not a Pub/Sub message: dropped", extra={
            "step": step, "event_id": event.get("id"), "reason": str(exc)})
        return
    bind_trace(msg.attributes.get("trace_id"))
    try:
        limit = max_event_age()
        age = datetime.now(UTC) - msg.publish_time
        if limit is not None and age > limit:
            log.warning("dropping stale event", extra={
                "step": step, "message_id": msg.message_id, "type": msg.attributes.get("type"),
                "age_s": round(age.total_seconds(), 3), "max_age_s": limit.total_seconds()})
            return
        try:
            envelope = from_wire(msg.data, msg.attributes, message_id=msg.message_id,
                                 publish_time=msg.publish_time)
            with rt.at(envelope.ts):
                run_step(envelope, consumer=step, handle=rt.handle, store=rt.infra.store,
                         bus=rt.infra.bus, clock=rt.infra.clock, topology=rt.infra.topology,
                         topic=_source_topic(rt, msg))  # a type its topic does not carry: dead letter
        except PermanentError as exc:
            topic = _home_topic(rt, step, msg)
            log.error("permanent error: dead-lettered", extra={
                "step": step, "message_id": msg.message_id, "type": msg.attributes.get("type"),
                "dlq_topic": f"{topic}-dlq", "reason": str(exc)})
            rt.infra.bus.dead_letter(topic, msg.data, msg.attributes, f"permanent: {exc}",
                                     source_step=step, source_message_id=msg.message_id)
    finally:
        bind_trace(None)


def _source_topic(rt, msg: PushedMessage) -> str | None:
    """The topic the message came from: its push subscription's topic (Terraform pushes to
    the bare function URL, so the CloudEvent source may not name it), else the CloudEvent's."""
    topology = rt.infra.topology
    sub = topology.subscriptions.get(msg.subscription or "")
    if sub is not None:
        return sub.topic
    return msg.topic if msg.topic in topology.topics else None


def _home_topic(rt, step: str, msg: PushedMessage) -> str:
    """The topic the message came from (`_source_topic`), else its type's home, else the
    first topic the step subscribes to."""
    topology = rt.infra.topology
    source = _source_topic(rt, msg)
    if source is not None:
        return source
    kind = msg.attributes.get("type")
    homes = [t.name for t in topology.topics.values() if kind in t.message_types]
    if len(homes) == 1:
        return homes[0]
    return topology.subscriptions_of(step)[0].topic
