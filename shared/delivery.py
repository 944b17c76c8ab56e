"""Running a step handler with the delivery semantics of DESIGN.

`run_step` decodes the envelope, drops events older than `max_age`, claims the message id
with create-if-absent in the SAME transaction as the handler's state change, records the
outgoing messages in an outbox inside that transaction, commits, then publishes. A
duplicate delivery is acknowledged and skipped, but any outbox entry a crash left
unpublished is published again (ids are deterministic, so consumers absorb repeats).

A message must be of a type its topic carries (`message_types` in infra/topology.yaml):
an Order arriving on `control` is a PermanentError ("wrong type for topic"), so it is
dead-lettered with that reason before any claim or handler runs. `run_step(topic=...)`
checks it where the caller knows the topic; `accepting(topology, subscription, handler)`
wraps a bus subscriber so every delivery on that subscription is checked.

Errors: PermanentError propagates untouched (the transport dead-letters it at once);
anything else propagates for redelivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from infra.topology import Topology
from shared.contracts import Envelope, Message, wrap
from shared.errors import PermanentError
from shared.ports import Bus, Clock, Handler, Store, Transaction

log = logging.getLogger("tradewinds.delivery")

StepFn = Callable[[Message, Envelope, Transaction], list[Message]]
PROCESSED_TTL = timedelta(days=7)


@dataclass(frozen=True)
class Outgoing:
    topic: str
    envelope: Envelope
    ordering_key: str | None = None


def ordering_key(body: Message) -> str | None:
    return getattr(body, "symbol", None)


def outgoing_for(bodies: list[Message], cause: Envelope, topology: Topology, clock: Clock) -> list[Outgoing]:
    out = []
    for index, body in enumerate(bodies):
        envelope = wrap(body, ts=clock.now(), cause=cause, tag=str(index))
        out.append(Outgoing(topology.topic_for(body.TYPE), envelope, ordering_key(body)))
    return out


def publish_all(bus: Bus, out: list[Outgoing]) -> None:
    for item in out:
        bus.publish(item.topic, item.envelope, ordering_key=item.ordering_key)


def check_topic(envelope: Envelope, topic: str, topology: Topology) -> None:
    """PermanentError unless `topic` is a topology topic that carries the envelope's type."""
    spec = topology.topics.get(topic)
    if spec is None:
        raise PermanentError(f"unknown topic {topic!r}")
    if envelope.type not in spec.message_types:
        raise PermanentError(
            f"wrong type for topic: {topic} carries {list(spec.message_types)}, not {envelope.type!r}")


def accepting(topology: Topology, subscription: str, handler: Handler) -> Handler:
    """`handler` for `subscription`, refusing (PermanentError: the bus dead-letters it with the
    reason) any message of a type its topic does not carry, before the handler sees it."""
    topic = topology.subscriptions[subscription].topic

    def deliver(envelope: Envelope) -> None:
        check_topic(envelope, topic, topology)
        handler(envelope)

    return deliver


def run_step(
    envelope: Envelope,
    *,
    consumer: str,
    handle: StepFn,
    store: Store,
    bus: Bus,
    clock: Clock,
    topology: Topology,
    max_age: timedelta | None = None,
    topic: str | None = None,
) -> list[Outgoing]:
    if topic is not None:  # a wrong type for its topic: straight to the DLQ, nothing claimed
        check_topic(envelope, topic, topology)
    body = envelope.decode()  # PermanentError on a bad body: straight to the DLQ
    age = clock.now() - envelope.ts
    if max_age is not None and age > max_age:
        log.warning(
            "dropping stale event",
            extra={"consumer": consumer, "message_id": envelope.id, "type": envelope.type,
                   "age_s": round(age.total_seconds(), 3), "max_age_s": max_age.total_seconds()},
        )
        return []
    key = f"{consumer}:{envelope.id}"
    with store.transaction() as tx:
        claimed = tx.create_if_absent("processed", key, {
            "consumer": consumer, "message_id": envelope.id, "type": envelope.type,
            "at": clock.now().isoformat(), "expires_at": (clock.now() + PROCESSED_TTL).isoformat(),
        })
        if claimed:
            out = outgoing_for(handle(body, envelope, tx), envelope, topology, clock)
            if out:  # kept until published, so a crash before publishing loses nothing
                tx.put("outbox", key, {
                    "sent": False, "expires_at": (clock.now() + PROCESSED_TTL).isoformat(),
                    "messages": [
                        {"topic": o.topic, "ordering_key": o.ordering_key,
                         "envelope": o.envelope.model_dump(mode="json")}
                        for o in out
                    ],
                })
        else:
            pending = tx.get("outbox", key)
    if not claimed:
        if pending and not pending.get("sent"):
            out = [
                Outgoing(m["topic"], Envelope.model_validate(m["envelope"]), m.get("ordering_key"))
                for m in pending["messages"]
            ]
            log.info("duplicate delivery: republishing unsent outbox",
                     extra={"consumer": consumer, "message_id": envelope.id, "count": len(out)})
            publish_all(bus, out)
            store.put("outbox", key, {**pending, "sent": True, "messages": []})
            return out
        log.info("duplicate delivery skipped", extra={"consumer": consumer, "message_id": envelope.id})
        return []
    publish_all(bus, out)
    if out:
        store.put("outbox", key, {"sent": True, "messages": [],
                                  "expires_at": (clock.now() + PROCESSED_TTL).isoformat()})
    return out
