"""The executor's bus consumer: `executor-orders` (exactly-once pull) and `executor-control`.

Each delivery runs the executor step through `shared.delivery.run_step`, so our own
idempotency (the `processed` claim and the order's `submitted` flag) holds even when the
transport redelivers. Acks, nacks and dead-lettering are the bus adapter's business
(`PubSubBus.subscribe`: streaming pull with flow control, `ack_with_response` on the
exactly-once subscription).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from infra.topology import Topology
from shared.contracts import Envelope
from shared.crashpoints import crashpoint
from shared.delivery import run_step
from shared.handlers import executor
from shared.ports import Bus, Clock, Store

log = logging.getLogger("tradewinds.executor.consumer")
SUBSCRIPTIONS = ("executor-orders", "executor-control")


@dataclass
class ExecutorConsumer:
    bus: Bus
    store: Store
    clock: Clock
    topology: Topology
    deps: Any  # executor.ExecutorDeps
    subscriptions: tuple[str, ...] = SUBSCRIPTIONS
    handled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self) -> None:
        for name in self.subscriptions:
            self.bus.subscribe(name, self.deliver)
        log.info("executor consumer started", extra={"subscriptions": list(self.subscriptions)})

    def deliver(self, envelope: Envelope) -> None:
        # one order at a time: the venue adapter and the cached halt flag are not re-entrant
        with self._lock:
            crashpoint("mid_batch")
            run_step(envelope, consumer="executor", handle=partial(executor.handle, deps=self.deps),
                     store=self.store, bus=self.bus, clock=self.clock, topology=self.topology)
            self.handled += 1

    def stop(self) -> None:
        close = getattr(self.bus, "close", None)
        if close is not None:
            close()
