"""Dead letters over Pub/Sub: the `DeadLetters` port of the executor's /v1/dlq endpoints.

Every topic `T` has a dead-letter topic `T-dlq` and a pull subscription `T-dlq-sub` on it
(infra/topology.yaml). `sync()` pulls what waits there, records each message in the store's
`dlq/` collection (the same documents the in-process bus keeps, key
`<subscription>:<envelope id>`) and only then acks it, so a dead letter is never lost
between the two and stays listed until requeued. `requeue()` republishes to the source
topic `T`: the same envelope (same id, so every consumer that already handled it skips it
as a duplicate) with the dead-letter attributes removed. Pub/Sub cannot publish to one
subscription, so every subscription of `T` sees a requeued message; idempotency makes that
safe. Ordering keys are not restored.
"""

from __future__ import annotations

import base64
import logging
import warnings
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from google.api_core import exceptions as gexc

from shared.contracts import Envelope, from_wire
from shared.errors import PermanentError
from shared.ports import Clock, Store

log = logging.getLogger("tradewinds.executor.dlq")
COLLECTION = "dlq"
_OURS = ("reason", "source_topic", "source_subscription", "source_message_id")
_NATIVE = "CloudPubSubDeadLetterSource"  # attributes Pub/Sub adds when it dead-letters


class PubSubDeadLetters:
    def __init__(self, bus: Any, store: Store, clock: Clock, topics: Sequence[str] | None = None,
                 batch: int = 100, max_batches: int = 10, pull_timeout_s: float = 10.0):
        self.bus, self.store, self.clock = bus, store, clock
        topology = bus.topology
        names = topics or list(topology.topics)
        self.topics = {topology.topics[t].dead_letter_subscription: topology.topics[t] for t in names}
        self.batch, self.max_batches, self.pull_timeout_s = batch, max_batches, pull_timeout_s

    # -- the port --------------------------------------------------------------------
    def dead_letters(self, status: str = "dead") -> list[dict]:
        self.sync()
        return [doc for _, doc in self.store.query(COLLECTION, [("status", "==", status)], order_by="dead_at")]

    def requeue(self, keys: list[str] | None = None) -> int:
        self.sync()
        count = 0
        for key, doc in self.store.query(COLLECTION, [("status", "==", "dead")]):
            if keys is not None and key not in keys and doc.get("message_id") not in keys:
                continue
            self._republish(doc)
            self.store.put(COLLECTION, key, {**doc, "status": "requeued",
                                             "requeued_at": self.clock.now().isoformat()})
            count += 1
        if count:
            log.info("dead letters requeued", extra={"count": count})
        return count

    # -- pulling ---------------------------------------------------------------------
    def sync(self) -> int:
        """Move what waits on the dead-letter subscriptions into `dlq/`; returns how many."""
        recorded = 0
        for sub_name, topic in self.topics.items():
            for _ in range(self.max_batches):
                received = self._pull(sub_name)
                if not received:
                    break
                for item in received:
                    recorded += self._record(topic.name, item.message)
                self.bus.subscriber.acknowledge(request={
                    "subscription": self.bus.subscription_path(sub_name),
                    "ack_ids": [item.ack_id for item in received]})
                if len(received) < self.batch:
                    break
        return recorded

    def _pull(self, sub_name: str) -> list:
        # return_immediately: an empty subscription answers at once instead of holding the
        # request (~2 s on the emulator, up to the deadline in the cloud) for each of the
        # topics; the client marks it deprecated, the API still honours it. A message it
        # misses is picked up by the next sync.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                resp = self.bus.subscriber.pull(
                    request={"subscription": self.bus.subscription_path(sub_name),
                             "max_messages": self.batch, "return_immediately": True},
                    timeout=self.pull_timeout_s)
        except gexc.DeadlineExceeded:
            return []
        except gexc.NotFound:
            log.warning("dead-letter subscription missing", extra={"subscription": sub_name})
            return []
        return list(resp.received_messages)

    def _record(self, source_topic: str, message) -> int:
        attrs = dict(message.attributes)
        dead_at = message.publish_time.astimezone(UTC)
        source_id = attrs.get("source_message_id") or message.message_id
        subscription = attrs.get("source_subscription") or \
            attrs.get(f"{_NATIVE}Subscription", "").rsplit("/", 1)[-1] or source_topic
        try:
            envelope = from_wire(message.data, attrs, message_id=source_id, publish_time=dead_at)
            stored: dict = envelope.model_dump(mode="json")
            message_id, kind = envelope.id, envelope.type
        except PermanentError:  # a poison message: kept byte for byte
            stored = {"raw_b64": base64.b64encode(message.data).decode(), "attributes": _clean(attrs)}
            message_id, kind = source_id, attrs.get("type", "")
        key = f"{subscription}:{message_id}"
        existing = self.store.get(COLLECTION, key)
        if existing and existing.get("dlq_message_id") == message.message_id:
            return 0  # the same dead letter delivered again (an ack was lost)
        attempts = attrs.get(f"{_NATIVE}DeliveryCount") or (existing or {}).get("attempts") or 1
        self.store.put(COLLECTION, key, {
            "subscription": subscription, "topic": source_topic, "dlq_topic": f"{source_topic}-dlq",
            "message_id": message_id, "type": kind,
            "reason": attrs.get("reason") or "max delivery attempts exceeded",
            "attempts": int(attempts), "dead_at": dead_at.isoformat(), "status": "dead",
            "dlq_message_id": message.message_id, "envelope": stored,
        })
        return 1

    # -- republishing ----------------------------------------------------------------
    def _republish(self, doc: dict) -> None:
        stored = doc["envelope"]
        if "raw_b64" in stored:
            attrs = {**stored["attributes"], "requeued": "true"}
            path = self.bus.topic_path(doc["topic"])
            self.bus.publisher.publish(path, base64.b64decode(stored["raw_b64"]), **attrs).result(timeout=30)
            return
        self.bus.publish(doc["topic"], Envelope.model_validate(stored))


def _clean(attrs: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in attrs.items() if k not in _OURS and not k.startswith(_NATIVE)}
