"""The Cloud Functions composition root, built lazily once per instance.

Environment:
- TW_STORE: `firestore` (default) or `sqlite` (TW_SQLITE_PATH, default .tradewinds/state.sqlite);
- TW_CLOCK: `wall` (default) or `envelope` (each handler's clock reads the `ts` of the
  message being handled, so replays are deterministic across processes);
- TW_SECRETS: `secret-manager` (default) or `env` (TW_SECRET_<NAME> / .secrets files);
- TW_CONFIG_DIR: configuration directory (default `config`);
- TW_NOTIFY_LOCAL_DIR: send notifications to a local file there instead of the channels;
- GOOGLE_CLOUD_PROJECT: the project (the emulators honour any id).

Cloud SDKs are imported here, inside functions, never at import time of `functions.main`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import Any

from infra.topology import Topology, load
from shared.clock import WallClock
from shared.ports import Bus, Clock, Secrets, Store

STEPS = ("signal", "risk", "notification", "optimizer")


class MessageClock:
    """A Clock that reads the `ts` of the message this thread is handling (wall time
    outside a message). Handlers then stamp outputs with event time, not arrival time."""

    def __init__(self, fallback: Clock | None = None):
        self._local = threading.local()
        self._fallback = fallback or WallClock()

    def now(self) -> datetime:
        return getattr(self._local, "at", None) or self._fallback.now()

    @contextmanager
    def following(self, at: datetime) -> Iterator[None]:
        previous = getattr(self._local, "at", None)
        self._local.at = at
        try:
            yield
        finally:
            self._local.at = previous


@dataclass
class Infra:
    store: Store
    bus: Bus
    clock: Clock
    secrets: Secrets
    topology: Topology
    config_dir: str = "config"
    notify_local_dir: str | None = None  # notifications to <dir>/notifications.jsonl only
    predictor: str | None = "config"  # LSTM voter: "config" (config/ml.yaml), None, or a URL


@dataclass
class Runtime:
    step: str
    infra: Infra
    handle: Callable[..., list]

    @contextmanager
    def at(self, ts: datetime) -> Iterator[None]:
        following = getattr(self.infra.clock, "following", None)
        if following is None:
            yield
        else:
            with following(ts):
                yield


_lock = threading.Lock()
_infra: Infra | None = None
_runtimes: dict[str, Runtime] = {}


def build_infra(environ: dict[str, str] | None = None) -> Infra:
    env = os.environ if environ is None else environ
    topology = load()
    project = env.get("GOOGLE_CLOUD_PROJECT") or "tradewinds-local"
    if env.get("TW_STORE", "firestore") == "sqlite":
        from shared.adapters.local.sqlite_store import SqliteStore

        store: Any = SqliteStore(env.get("TW_SQLITE_PATH", ".tradewinds/state.sqlite"))
    else:
        from shared.adapters.gcp.firestore_store import FirestoreStore

        store = FirestoreStore(project=project)
    from shared.adapters.gcp.pubsub_bus import PubSubBus

    bus = PubSubBus(topology, project=project)
    clock: Clock = MessageClock() if env.get("TW_CLOCK", "wall") == "envelope" else WallClock()
    if env.get("TW_SECRETS", "secret-manager") == "env":
        from shared.adapters.local.secrets import EnvFileSecrets

        secrets: Any = EnvFileSecrets()
    else:
        from shared.adapters.gcp.secret_manager import SecretManagerSecrets

        secrets = SecretManagerSecrets(project=project)
    predictor = env.get("TW_PREDICTOR", "config")
    return Infra(store, bus, clock, secrets, topology, env.get("TW_CONFIG_DIR", "config"),
                 env.get("TW_NOTIFY_LOCAL_DIR") or None, None if predictor == "none" else predictor)


def infra() -> Infra:
    global _infra
    with _lock:
        if _infra is None:
            _infra = build_infra()
        return _infra


def install(new: Infra | None) -> None:
    """Use these adapters instead of the environment's (tests, in-process hosting)."""
    global _infra
    with _lock:
        _infra = new
        _runtimes.clear()


def runtime(step: str) -> Runtime:
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}; known: {STEPS}")
    base = infra()
    with _lock:
        rt = _runtimes.get(step)
        if rt is None:
            module = import_module(f"shared.handlers.{step}")
            rt = _runtimes[step] = Runtime(step, base, partial(module.handle, deps=_deps(step, module, base)))
        return rt


def _deps(step: str, module: Any, base: Infra) -> Any:
    if step == "notification":  # its builder takes the config file and an optional local sink
        return module.build_deps(store=base.store, clock=base.clock, secrets=base.secrets,
                                 config_path=Path(base.config_dir) / "notifications.yaml",
                                 local_dir=base.notify_local_dir)
    extra = {"predictor": base.predictor} if step == "signal" else {}
    return module.build_deps(store=base.store, clock=base.clock, bus=base.bus, secrets=base.secrets,
                             config_dir=base.config_dir, **extra)
