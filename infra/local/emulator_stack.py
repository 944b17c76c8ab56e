"""`tradewinds run --emulators`: the same replay as the local default, through the official
Pub/Sub and Firestore emulators.

- the topology is created on the Pub/Sub emulator; each push subscription points at its
  function, served by the functions-framework on its own 127.0.0.1 port (in a thread,
  one request at a time like a Cloud Functions instance with concurrency 1);
- the executor consumes `executor-orders` (exactly-once) and `executor-control` by
  streaming pull, with the paper exchange over the seeded market simulator;
- every step's state is in Firestore; handlers' clocks follow the envelope `ts`;
- each simulated minute waits until every delivery it caused is done (the `outbox` doc of
  each expected `consumer:message-id` says `sent`), so the replay is causally the same as
  the in-process one and yields the same summary for the same seed.

Everything started here is stopped by `close()`, at exit, and on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import atexit
import logging
import re
import signal
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any, Self

from infra.emulators import Emulators
from infra.local.pipeline import LocalPipeline, RunConfig
from infra.topology import Subscription, Topology, load
from shared.adapters.gcp.firestore_store import FirestoreStore
from shared.adapters.gcp.pubsub_bus import PubSubBus
from shared.contracts import Envelope
from shared.ports import Store

log = logging.getLogger("tradewinds.emulator_stack")
FUNCTION_SOURCE = Path(__file__).resolve().parents[2] / "functions" / "main.py"
FUNCTION_STEPS = ("signal", "risk", "notification", "optimizer")
_FILTER = re.compile(r'^\s*attributes\.(\w+)\s*=\s*"([^"]*)"\s*$')
POLL_S = 0.1


class FunctionServers:
    """The function entry points under the functions-framework, one port each."""

    def __init__(self, steps: tuple[str, ...] = FUNCTION_STEPS, source: Path = FUNCTION_SOURCE):
        self.steps, self.source = steps, source
        self._servers: list[tuple[Any, threading.Thread]] = []
        self.urls: dict[str, str] = {}

    def start(self) -> dict[str, str]:
        import functions_framework
        from werkzeug.serving import make_server

        for step in self.steps:
            app = functions_framework.create_app(target=step, source=str(self.source),
                                                 signature_type="cloudevent")
            server = make_server("127.0.0.1", 0, app, threaded=False)
            thread = threading.Thread(target=server.serve_forever, name=f"fn-{step}", daemon=True)
            thread.start()
            self._servers.append((server, thread))
            self.urls[step] = f"http://127.0.0.1:{server.server_port}"
        return self.urls

    def stop(self) -> None:
        while self._servers:
            server, thread = self._servers.pop()
            server.shutdown()
            thread.join(timeout=5)


def _filter_matches(sub: Subscription, attributes: dict[str, str]) -> bool:
    match = _FILTER.match(sub.filter or "")
    return True if not sub.filter or not match else attributes.get(match.group(1)) == match.group(2)


class TrackingBus:
    """A Bus that records, before publishing, which deliveries each message will cause
    (`consumer:message-id` for every running consumer's subscription on the topic)."""

    def __init__(self, inner: PubSubBus, topology: Topology, consumers: set[str]):
        self.inner, self.topology, self.consumers = inner, topology, consumers
        self.expected: dict[str, str] = {}  # key -> subscription
        self.done: set[str] = set()
        self.stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._lock = threading.Lock()

    def publish(self, topic: str, envelope: Envelope, ordering_key: str | None = None) -> str:
        with self._lock:
            for sub in self.topology.subscriptions_on(topic):
                if sub.consumer in self.consumers and _filter_matches(sub, envelope.attributes()):
                    key = f"{sub.consumer}:{envelope.id}"
                    if key not in self.expected:
                        self.expected[key] = sub.name
                        self.stats[sub.name]["published"] += 1
        return self.inner.publish(topic, envelope, ordering_key=ordering_key)

    def subscribe(self, subscription: str, handler) -> None:
        self.inner.subscribe(subscription, handler)

    def dead_letter(self, *args, **kwargs) -> str:
        return self.inner.dead_letter(*args, **kwargs)

    def wait_idle(self, store: Store, timeout: float = 120.0) -> None:
        """Until every expected delivery is processed and its outbox, if any, sent (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = [k for k in self.expected if k not in self.done]
            for key in pending:
                if store.get("processed", key) is None:
                    continue
                doc = store.get("outbox", key)  # none when the step published nothing
                if doc is None or doc.get("sent"):
                    with self._lock:
                        self.done.add(key)
                        self.stats[self.expected[key]]["acked"] += 1
            with self._lock:
                if all(k in self.done for k in self.expected):
                    return
            if time.monotonic() > deadline:
                left = sorted(k for k in self.expected if k not in self.done)
                raise TimeoutError(f"{len(left)} deliveries not done after {timeout}s: {left[:10]}")
            time.sleep(POLL_S)


class _ReplayBus:
    """What the replay loop sees as its bus: publish through Pub/Sub, drain = wait idle."""

    def __init__(self, tracking: TrackingBus, store: Store):
        self.tracking, self.store = tracking, store

    @property
    def stats(self):
        return self.tracking.stats

    def publish(self, topic: str, envelope: Envelope, ordering_key: str | None = None) -> str:
        return self.tracking.publish(topic, envelope, ordering_key=ordering_key)

    def subscribe(self, subscription: str, handler) -> None:
        """Not used: on the emulators the push subscriptions and the executor consumer deliver."""

    def drain(self, limit: int | None = None) -> int:
        self.tracking.wait_idle(self.store)
        return 0

    def pending(self) -> int:
        return 0

    def next_due(self) -> float | None:
        return None


class EmulatorPipeline(LocalPipeline):
    """`LocalPipeline` with Pub/Sub, Firestore, functions-framework and the executor
    consumer in place of the in-process bus and SQLite."""

    def __init__(self, cfg: RunConfig, topology: Topology | None = None, emulators: Emulators | None = None,
                 project: str | None = None):
        from functions import bootstrap
        from runtime.executor.consumer import ExecutorConsumer
        from shared.adapters.local.secrets import EnvFileSecrets

        self._closed = False
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per push is noise here
        self.emulators = (emulators or Emulators()).start()
        self.emulators.export()
        atexit.register(self.close)
        _stop_on_sigterm()
        topology = topology or load()
        self.project = project or f"tw-run-{uuid.uuid4().hex[:10]}"
        store = FirestoreStore(project=self.project)
        super().__init__(cfg, topology=topology, store=store)
        self.pubsub = PubSubBus(topology, project=self.project)
        self.tracking = TrackingBus(self.pubsub, topology, set(FUNCTION_STEPS) | {"executor"})
        self.servers = FunctionServers()
        try:
            urls = self.servers.start()
            self.pubsub.ensure_topology(topology, push_endpoints=urls)
            bootstrap.install(bootstrap.Infra(
                store=store, bus=self.tracking, clock=bootstrap.MessageClock(), secrets=EnvFileSecrets(),
                topology=topology, config_dir=str(cfg.config_dir), notify_local_dir=str(cfg.run_dir),
                predictor=cfg.predictor))
            self.bus = _ReplayBus(self.tracking, store)
            self.consumer = ExecutorConsumer(bus=self.tracking, store=store, clock=self.clock,
                                             topology=topology, deps=self.deps["executor"])
            self.consumer.start()
        except BaseException:
            self.close()
            raise

    def run(self, on_minute=None) -> None:
        try:
            super().run(on_minute=on_minute)
        finally:
            self._stop_services()

    def _stop_services(self) -> None:
        from functions import bootstrap

        if getattr(self, "consumer", None) is not None:
            self.pubsub.close()
            self.consumer = None
        self.servers.stop()
        bootstrap.install(None)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if hasattr(self, "servers"):
                self._stop_services()
        finally:
            self.emulators.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so `finally` blocks and atexit stop what we started."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_signal)


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)
