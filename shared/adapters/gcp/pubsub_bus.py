"""The Bus port over Google Cloud Pub/Sub (the official client; the emulator alike).

- publish: low-latency batching, attributes `type`, `v`, `trace_id`, and an ordering key
  only on topics that an ordered subscription reads (publisher message ordering on);
- subscribe: streaming pull with flow control. The handler returning acks; PermanentError
  publishes the message to `<topic>-dlq` with a `reason` attribute, then acks; any other
  error nacks (Pub/Sub redelivers with the subscription's backoff, then dead-letters);
  exactly-once subscriptions ack with `ack_with_response` and wait for the outcome;
- `ensure_topology` creates topics, dead-letter topics and their pull subscriptions, and
  every subscription with its retry, dead-letter, ordering, exactly-once, filter and push
  settings (used against the emulator; Terraform does this in the cloud).

Clients are created lazily, once per instance.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.subscriber.exceptions import AcknowledgeError
from google.protobuf import duration_pb2

from infra.topology import Subscription, Topology, seconds
from shared.contracts import Envelope, from_wire
from shared.delivery import check_topic
from shared.errors import PermanentError
from shared.logs import bind_trace
from shared.ports import Handler

log = logging.getLogger("tradewinds.pubsub")

LOW_LATENCY_BATCH = pubsub_v1.types.BatchSettings(max_messages=100, max_bytes=1_000_000, max_latency=0.002)
PUBLISH_TIMEOUT_S = 30.0
ACK_TIMEOUT_S = 30.0


def _duration(value: str) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=int(seconds(value)))


class PubSubBus:
    """Implements `shared.ports.Bus`. Topic and subscription ids are the topology names."""

    def __init__(
        self,
        topology: Topology,
        project: str | None = None,
        *,
        flow_control: pubsub_v1.types.FlowControl | None = None,
        batch_settings: pubsub_v1.types.BatchSettings = LOW_LATENCY_BATCH,
    ):
        self.topology = topology
        self.project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or "tradewinds-local"
        self.flow_control = flow_control or pubsub_v1.types.FlowControl(max_messages=32)
        self.batch_settings = batch_settings
        self._publisher: pubsub_v1.PublisherClient | None = None
        self._subscriber: pubsub_v1.SubscriberClient | None = None
        self._lock = threading.Lock()
        self._streams: dict[str, Any] = {}
        self._ordered_topics = {s.topic for s in topology.subscriptions.values() if s.ordering}

    # -- clients ----------------------------------------------------------------------
    @property
    def publisher(self) -> pubsub_v1.PublisherClient:
        with self._lock:
            if self._publisher is None:
                self._publisher = pubsub_v1.PublisherClient(
                    batch_settings=self.batch_settings,
                    publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True),
                )
            return self._publisher

    @property
    def subscriber(self) -> pubsub_v1.SubscriberClient:
        with self._lock:
            if self._subscriber is None:
                self._subscriber = pubsub_v1.SubscriberClient()
            return self._subscriber

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.project}/topics/{topic}"

    def subscription_path(self, subscription: str) -> str:
        return f"projects/{self.project}/subscriptions/{subscription}"

    # -- Bus port ---------------------------------------------------------------------
    def publish(self, topic: str, envelope: Envelope, ordering_key: str | None = None) -> str:
        if topic not in self.topology.topics:
            raise ValueError(f"unknown topic {topic!r}")
        key = ordering_key if (ordering_key and topic in self._ordered_topics) else ""
        return self._publish(topic, envelope.to_json(), envelope.attributes(), key)

    def _publish(self, topic: str, data: bytes, attributes: Mapping[str, str], key: str = "") -> str:
        path = self.topic_path(topic)
        future = self.publisher.publish(path, data, ordering_key=key, **dict(attributes))
        try:
            return future.result(timeout=PUBLISH_TIMEOUT_S)
        except Exception:
            if key:  # an ordered key pauses after a failure until resumed
                self.publisher.resume_publish(path, key)
            raise

    def dead_letter(self, topic: str, data: bytes, attributes: Mapping[str, str], reason: str,
                    **extra: str) -> str:
        """Publish a message to `<topic>-dlq` with the reason (and origin) as attributes."""
        dlq = self.topology.topics[topic].dead_letter_topic
        attrs = {**dict(attributes), "reason": reason[:1000], "source_topic": topic, **extra}
        return self._publish(dlq, data, attrs)

    def subscribe(self, subscription: str, handler: Handler) -> None:
        sub = self.topology.subscriptions.get(subscription)
        if sub is None:
            raise ValueError(f"unknown subscription {subscription!r}")
        future = self.subscriber.subscribe(
            self.subscription_path(subscription), self._callback(sub, handler),
            flow_control=self.flow_control,
        )
        self._streams[subscription] = future

    def _callback(self, sub: Subscription, handler: Handler) -> Callable[[Any], None]:
        def on_message(message) -> None:
            attributes = dict(message.attributes)
            bind_trace(attributes.get("trace_id"))
            try:
                envelope = from_wire(
                    message.data, attributes, message_id=message.message_id,
                    publish_time=message.publish_time.astimezone(UTC),
                )
                check_topic(envelope, sub.topic, self.topology)  # a type its topic does not carry
                handler(envelope)
            except PermanentError as exc:
                log.error("permanent error: dead-lettering", extra={
                    "subscription": sub.name, "message_id": message.message_id, "reason": str(exc)})
                try:
                    self.dead_letter(sub.topic, message.data, attributes, f"permanent: {exc}",
                                     source_subscription=sub.name, source_message_id=message.message_id)
                except Exception:  # could not dead-letter: let Pub/Sub redeliver
                    log.exception("dead-letter publish failed", extra={"subscription": sub.name})
                    self._settle(sub, message, ack=False)
                    return
                self._settle(sub, message, ack=True)
            except Exception as exc:  # noqa: BLE001 - any other failure: nack, Pub/Sub retries
                log.warning("delivery failed, nack for redelivery", extra={
                    "subscription": sub.name, "message_id": message.message_id,
                    "attempt": message.delivery_attempt, "error": repr(exc)})
                self._settle(sub, message, ack=False)
            else:
                self._settle(sub, message, ack=True)
            finally:
                bind_trace(None)

        return on_message

    @staticmethod
    def _settle(sub: Subscription, message, ack: bool) -> None:
        if not sub.exactly_once:
            message.ack() if ack else message.nack()
            return
        future = message.ack_with_response() if ack else message.nack_with_response()
        try:
            future.result(timeout=ACK_TIMEOUT_S)
        except AcknowledgeError as exc:  # expired/invalid ack id: it will come back; we are idempotent
            log.warning("exactly-once settle failed", extra={
                "subscription": sub.name, "message_id": message.message_id, "code": str(exc.error_code)})

    # -- synchronous pull (dead-letter inspection, tests, CLI) -------------------------
    def pull(self, subscription: str, max_messages: int = 100, timeout: float = 5.0,
             ack: bool = True) -> list[tuple[bytes, dict[str, str], str]]:
        """One synchronous pull: (data, attributes, message_id) of what was available."""
        try:
            resp = self.subscriber.pull(
                request={"subscription": self.subscription_path(subscription),
                         "max_messages": max_messages}, timeout=timeout)
        except gexc.DeadlineExceeded:
            return []
        received = list(resp.received_messages)
        if ack and received:
            self.subscriber.acknowledge(request={
                "subscription": self.subscription_path(subscription),
                "ack_ids": [r.ack_id for r in received]})
        return [(r.message.data, dict(r.message.attributes), r.message.message_id) for r in received]

    # -- lifecycle --------------------------------------------------------------------
    def close(self, timeout: float = 10.0) -> None:
        for name, future in list(self._streams.items()):
            future.cancel()
            try:
                future.result(timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - a cancelled stream ends with an error
                log.debug("stream closed", extra={"subscription": name, "error": repr(exc)})
            self._streams.pop(name, None)
        if self._publisher is not None:
            self._publisher.stop()
            self._publisher = None
        if self._subscriber is not None:
            self._subscriber.close()
            self._subscriber = None

    # -- topology ---------------------------------------------------------------------
    def ensure_topology(self, topology: Topology | None = None,
                        push_endpoints: Mapping[str, str] | None = None) -> None:
        """Create what is missing. A push subscription whose consumer has no endpoint in
        `push_endpoints` is created as pull (tests pull it). Endpoints get
        `/projects/P/topics/T` appended, so the functions-framework names the topic in
        the CloudEvent source."""
        topology = topology or self.topology
        for topic in topology.topics.values():
            for name in (topic.name, topic.dead_letter_topic):
                self._create_topic(name)
            self._create_subscription({
                "name": self.subscription_path(topic.dead_letter_subscription),
                "topic": self.topic_path(topic.dead_letter_topic),
                "ack_deadline_seconds": 60,
            })
        for sub in topology.subscriptions.values():
            request: dict[str, Any] = {
                "name": self.subscription_path(sub.name),
                "topic": self.topic_path(sub.topic),
                "ack_deadline_seconds": sub.ack_deadline_seconds,
                "retry_policy": pubsub_v1.types.RetryPolicy(
                    minimum_backoff=_duration(sub.retry.minimum_backoff),
                    maximum_backoff=_duration(sub.retry.maximum_backoff)),
                "dead_letter_policy": pubsub_v1.types.DeadLetterPolicy(
                    dead_letter_topic=self.topic_path(topology.topics[sub.topic].dead_letter_topic),
                    max_delivery_attempts=sub.max_delivery_attempts),
                "enable_message_ordering": sub.ordering,
                "enable_exactly_once_delivery": sub.exactly_once,
            }
            if sub.filter:
                request["filter"] = sub.filter
            endpoint = (push_endpoints or {}).get(sub.consumer) if sub.delivery == "push" else None
            if endpoint:
                url = f"{endpoint.rstrip('/')}/{self.topic_path(sub.topic)}"
                request["push_config"] = pubsub_v1.types.PushConfig(push_endpoint=url)
            self._create_subscription(request)

    def _create_topic(self, name: str) -> None:
        try:
            self.publisher.create_topic(request={"name": self.topic_path(name)})
        except gexc.AlreadyExists:
            return  # created by an earlier run: ensure_topology is idempotent

    def _create_subscription(self, request: dict[str, Any]) -> None:
        try:
            self.subscriber.create_subscription(request=request)
        except gexc.AlreadyExists:
            if "push_config" in request:
                self.subscriber.modify_push_config(request={
                    "subscription": request["name"], "push_config": request["push_config"]})
