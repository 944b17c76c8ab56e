"""In-process bus with the delivery semantics of Pub/Sub as DESIGN states them.

- at-least-once: a delivery is done only when the handler returns;
- a raised error (TransientError or anything unexpected) schedules a redelivery after
  the subscription's exponential backoff, measured on the injected clock;
- after `max_delivery_attempts` the message goes to `<topic>-dlq`;
- a PermanentError goes to the dead-letter topic at once, and delivery goes on;
- dead letters are kept in the store (`dlq/`), so they can be listed and requeued later;
- `durable=True` (the executor service's local wiring): a message published to a subscription
  with a handler is kept in the store (`bus_queue/{subscription}:{id}`) until its handler
  succeeds or it is dead-lettered, and handed again to the handler subscribed after a restart,
  as Pub/Sub keeps what was published but not acknowledged. The replay keeps it off (a
  resumed replay replays the minute).

Handler times are kept per subscription for the benchmarks, bounded: the last
`LATENCY_SAMPLES` in `latency_ms` (a deque), the largest of all in `latency_max_ms` and
the sum of all in `latency_total_ms` (the count of all is in `stats`), so a month's replay
holds no more than an hour's.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import timedelta

from infra.topology import Subscription, Topology
from shared.contracts import Envelope
from shared.delivery import check_topic
from shared.errors import PermanentError
from shared.ports import Clock, Handler, Store

log = logging.getLogger("tradewinds.bus")
QUEUE = "bus_queue"
LATENCY_SAMPLES = 10_000  # per subscription: the handler times of its latest deliveries


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    subscription: str = field(compare=False)
    envelope: Envelope = field(compare=False)
    attempt: int = field(compare=False, default=1)


class InProcessBus:
    def __init__(self, topology: Topology, clock: Clock, store: Store, durable: bool = False):
        self.topology = topology
        self.clock = clock
        self.store = store
        self.durable = durable  # undelivered messages kept in the store (`bus_queue/`)
        self._restored: set[str] = set()
        self._handlers: dict[str, Handler] = {}
        self._queue: list[_Delivery] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.latency_ms: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=LATENCY_SAMPLES))
        self.latency_max_ms: dict[str, float] = defaultdict(float)
        self.latency_total_ms: dict[str, float] = defaultdict(float)

    # -- Bus port ---------------------------------------------------------------------
    def publish(self, topic: str, envelope: Envelope, ordering_key: str | None = None) -> str:
        if topic not in self.topology.topics:
            raise ValueError(f"unknown topic {topic!r}")
        with self._lock:
            for sub in self.topology.subscriptions_on(topic):
                if sub.name in self._handlers:
                    self._keep(sub.name, envelope)
                    self._push(sub.name, envelope, attempt=1, delay=0.0)
                    self.stats[sub.name]["published"] += 1
            return str(next(self._ids))

    def subscribe(self, subscription: str, handler: Handler) -> None:
        if subscription not in self.topology.subscriptions:
            raise ValueError(f"unknown subscription {subscription!r}")
        self._handlers[subscription] = handler
        if self.durable and subscription not in self._restored:
            self._restored.add(subscription)
            for _, doc in self.store.query(QUEUE, [("subscription", "==", subscription)]):
                with self._lock:
                    self._push(subscription, Envelope.model_validate(doc["envelope"]), doc.get("attempt", 1), 0.0)

    # -- durability (durable=True): what a crash must not lose -----------------------------
    def _keep(self, sub: str, envelope: Envelope) -> None:
        if self.durable:
            self.store.put(QUEUE, f"{sub}:{envelope.id}", {
                "subscription": sub, "envelope": envelope.model_dump(mode="json"), "attempt": 1})

    def _done(self, sub: str, envelope: Envelope) -> None:
        if self.durable:
            self.store.delete(QUEUE, f"{sub}:{envelope.id}")

    # -- delivery ---------------------------------------------------------------------
    def _push(self, sub: str, envelope: Envelope, attempt: int, delay: float) -> None:
        due = self.clock.now().timestamp() + delay
        heapq.heappush(self._queue, _Delivery(due, next(self._seq), sub, envelope, attempt))

    def pending(self) -> int:
        return len(self._queue)

    def next_due(self) -> float | None:
        return self._queue[0].due if self._queue else None

    def drain(self, limit: int | None = None) -> int:
        """Deliver everything due now (including what handlers publish meanwhile)."""
        done = 0
        while limit is None or done < limit:
            with self._lock:
                if not self._queue or self._queue[0].due > self.clock.now().timestamp():
                    return done
                item = heapq.heappop(self._queue)
            self._deliver(item)
            done += 1
        return done

    def _deliver(self, item: _Delivery) -> None:
        sub = self.topology.subscriptions[item.subscription]
        handler = self._handlers[item.subscription]
        started = time.perf_counter()
        try:
            check_topic(item.envelope, sub.topic, self.topology)  # an Order on `control`: dead letter
            handler(item.envelope)
        except PermanentError as exc:
            self._dead_letter(sub, item, f"permanent: {exc}")
            self._done(sub.name, item.envelope)
        except Exception as exc:  # noqa: BLE001 - transient or unexpected: redeliver, like a nack
            self.stats[sub.name]["failed_attempts"] += 1
            if item.attempt >= sub.max_delivery_attempts:
                self._dead_letter(sub, item, f"gave up after {item.attempt} attempts: {exc!r}")
                self._done(sub.name, item.envelope)
            else:
                delay = sub.retry.delay(item.attempt)
                log.warning(
                    "delivery failed, will retry",
                    extra={"subscription": sub.name, "message_id": item.envelope.id,
                           "attempt": item.attempt, "retry_in_s": delay, "error": repr(exc)},
                )
                self._push(sub.name, item.envelope, item.attempt + 1, delay)
        else:
            self.stats[sub.name]["acked"] += 1
            self._done(sub.name, item.envelope)
        finally:
            ms = (time.perf_counter() - started) * 1000
            self.latency_ms[sub.name].append(ms)
            self.latency_max_ms[sub.name] = max(self.latency_max_ms[sub.name], ms)
            self.latency_total_ms[sub.name] += ms

    def _dead_letter(self, sub: Subscription, item: _Delivery, reason: str) -> None:
        topic = self.topology.topics[sub.topic]
        self.stats[sub.name]["dead_lettered"] += 1
        log.error(
            "message dead-lettered",
            extra={"subscription": sub.name, "dlq_topic": topic.dead_letter_topic,
                   "message_id": item.envelope.id, "type": item.envelope.type, "reason": reason},
        )
        self.store.put("dlq", f"{sub.name}:{item.envelope.id}", {
            "subscription": sub.name,
            "topic": sub.topic,
            "dlq_topic": topic.dead_letter_topic,
            "message_id": item.envelope.id,
            "type": item.envelope.type,
            "reason": reason,
            "attempts": item.attempt,
            "dead_at": self.clock.now().isoformat(),
            "status": "dead",
            "envelope": item.envelope.model_dump(mode="json"),
        })

    # -- dead letters -----------------------------------------------------------------
    def dead_letters(self, status: str = "dead") -> list[dict]:
        return [doc for _, doc in self.store.query("dlq", [("status", "==", status)], order_by="dead_at")]

    def requeue(self, keys: list[str] | None = None) -> int:
        """Deliver dead letters again to their original subscription (all when keys is None)."""
        count = 0
        for key, doc in self.store.query("dlq", [("status", "==", "dead")]):
            if keys is not None and key not in keys and doc["message_id"] not in keys:
                continue
            envelope = Envelope.model_validate(doc["envelope"])
            with self._lock:
                self._push(doc["subscription"], envelope, attempt=1, delay=0.0)
            self.store.put("dlq", key, {**doc, "status": "requeued",
                                        "requeued_at": self.clock.now().isoformat()})
            count += 1
        return count

    def advance_to_next(self, horizon: timedelta) -> bool:
        """For replays: when only future redeliveries remain, report if one is within horizon."""
        nxt = self.next_due()
        return nxt is not None and nxt <= (self.clock.now() + horizon).timestamp()
