"""The in-process host of `tradewinds up`: feed, executor and the four function steps in ONE
process, on ONE in-process bus and ONE SQLite store, each on its own port.

    python -m infra.local.services --state-dir D --config C --host H \
        --port feed=8080 --port executor=8081 --port signal=8083 ... [--predictor URL]
    python -m infra.local.services --step signal --host H --port signal=8083   (--emulators)

Why one process: the in-process bus is a Python object, so sharing it means sharing the
process. The executor's supervisor pumps the bus (`drain` every 50 ms), which delivers to
the executor's consumers and to the function steps' handlers (the composition root of
`functions.bootstrap`, installed with this process's store and bus), with the bus's
Pub/Sub semantics (retries, dead letters, durable queue in `bus_queue/`). So a manual order
filled through the executor API reaches the risk step and shows in `/v1/positions`.

Each ASGI app (feed, executor) is served by uvicorn in a thread on its own port; each
function step is served by the functions-framework (WSGI, werkzeug, in a thread) on its
own port with `GET /health` added, and takes Pub/Sub push bodies like the deployed function.
The executor runs in paper mode whatever TW_MODE says (a local dev stack never trades live).
With `--step NAME` the process serves only that step (functions-framework plus `/health`)
on the adapters its environment names: `tradewinds up --emulators` runs one per step.
SIGTERM, SIGINT or the death of the parent (`tradewinds up`) stops every server.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from functools import partial
from pathlib import Path

from functions.bootstrap import STEPS as FUNCTION_STEPS
from infra.topology import Topology, load
from shared.adapters.local.bus import InProcessBus
from shared.contracts import from_wire

log = logging.getLogger("tradewinds.up")
FUNCTION_SOURCE = Path(__file__).resolve().parents[2] / "functions" / "main.py"
START_TIMEOUT_S = 60.0


class LocalBus(InProcessBus):
    """The in-process bus plus `dead_letter`, which a function entry point calls when a
    pushed message is permanently bad (PubSubBus has it; deliveries on this bus dead-letter
    themselves)."""

    def dead_letter(self, topic: str, data: bytes, attributes, reason: str, **extra: str) -> str:
        try:
            envelope = from_wire(data, dict(attributes)).model_dump(mode="json")
        except Exception:  # noqa: BLE001 - a body too bad to decode is kept as the reason only
            envelope = None
        key = f"push:{extra.get('source_message_id') or time.time_ns()}"
        self.store.put("dlq", key, {
            "subscription": extra.get("source_step", "push"), "topic": topic,
            "dlq_topic": self.topology.topics[topic].dead_letter_topic, "message_id": key,
            "type": dict(attributes).get("type", "?"), "reason": reason[:1000], "attempts": 1,
            "dead_at": self.clock.now().isoformat(), "status": "dead", "envelope": envelope})
        return key


def bind(host: str, port: int, name: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"{name}: cannot listen on {host}:{port} ({exc.strerror})") from None
    return sock


class AsgiServer:
    """uvicorn on an already bound socket, in a thread (its own event loop)."""

    def __init__(self, name: str, app, sock: socket.socket):
        import uvicorn

        self.name, self.sock = name, sock
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on",
                                                    timeout_graceful_shutdown=5))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       name=f"up-{name}", daemon=True)

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"{self.name}: the server stopped during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: not started within {timeout} s")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.close()

    def close(self) -> None:
        self.sock.close()


class StepServer:
    """One function step under the functions-framework, plus `GET /health`."""

    def __init__(self, step: str, host: str, port: int, bus: InProcessBus | None, topology: Topology):
        import functions_framework
        from werkzeug.serving import make_server

        self.name, self.step, self.bus = step, step, bus
        self.subscriptions = [s.name for s in topology.subscriptions_of(step)]
        self.app = functions_framework.create_app(target=step, source=str(FUNCTION_SOURCE),
                                                  signature_type="cloudevent")
        try:
            self.server = make_server(host, port, self._dispatch, threaded=False)
        except OSError as exc:
            raise OSError(f"{step}: cannot listen on {host}:{port} ({exc.strerror})") from None
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"up-{step}", daemon=True)

    def _dispatch(self, environ, start_response):
        if environ.get("PATH_INFO") == "/health" and environ.get("REQUEST_METHOD") == "GET":
            stats = {s: dict(self.bus.stats.get(s, {})) if self.bus else {} for s in self.subscriptions}
            body = json.dumps({"status": "ok", "step": self.step, "subscriptions": stats}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():  # shutdown() waits for a serve_forever that never ran
            self.server.shutdown()
            self.thread.join(timeout=10)
        self.close()

    def close(self) -> None:
        self.server.server_close()


class Host:
    """Builds the one store, bus and clock, wires every component to them, serves them."""

    def __init__(self, *, state_dir: Path, config_dir: Path, host: str, ports: dict[str, int],
                 predictor: str | None = None):
        from functions import bootstrap
        from runtime.executor.bootstrap import attach, build_runtime
        from runtime.executor.settings import ExecutorSettings
        from runtime.feed.app import create_app as feed_app
        from runtime.feed.bootstrap import build_service
        from shared.adapters.local.secrets import EnvFileSecrets
        from shared.adapters.local.sqlite_store import SqliteStore
        from shared.clock import WallClock
        from shared.delivery import run_step

        state_dir.mkdir(parents=True, exist_ok=True)
        self.topology = topology = load()
        self.clock = clock = WallClock()
        self.store = store = SqliteStore(state_dir / "state.sqlite")
        self.bus = bus = LocalBus(topology, clock, store, durable=True)
        secrets = EnvFileSecrets()
        settings = ExecutorSettings.from_env(argv=[]).model_copy(update={
            "mode": "paper", "live_flag": False, "store": "sqlite", "bus": "inprocess", "secrets": "env",
            "sqlite_path": str(state_dir / "state.sqlite"), "config_dir": str(config_dir),
            "venues_path": str(config_dir / "venues.yaml")})
        # the function steps: their composition root on this process's adapters
        bootstrap.install(bootstrap.Infra(store=store, bus=bus, clock=clock, secrets=secrets, topology=topology,
                                          config_dir=str(config_dir), notify_local_dir=str(state_dir),
                                          predictor=predictor))
        for step in FUNCTION_STEPS:
            rt = bootstrap.runtime(step)
            for sub in topology.subscriptions_of(step):
                bus.subscribe(sub.name, partial(run_step, consumer=step, handle=rt.handle, store=store, bus=bus,
                                                clock=clock, topology=topology))
        executor = build_runtime(settings, store=store, bus=bus, clock=clock, secrets=secrets, topology=topology)
        feed = build_service(bus=bus, clock=clock, venues_path=str(config_dir / "venues.yaml"))
        self.servers: list = []
        try:
            self.servers.append(AsgiServer("executor", attach(executor), bind(host, ports["executor"], "executor")))
            self.servers.append(AsgiServer("feed", feed_app(feed), bind(host, ports["feed"], "feed")))
            self.servers += [StepServer(step, host, ports[step], bus, topology) for step in FUNCTION_STEPS]
        except BaseException:
            for server in self.servers:
                server.close()
            raise

    def start(self) -> None:
        started = []
        try:
            for server in self.servers:
                server.start()
                started.append(server)
        except BaseException:
            for server in reversed(started):
                server.stop()
            raise

    def stop(self) -> None:
        from functions import bootstrap

        for server in reversed(self.servers):  # steps, feed, then the executor (its final flush)
            try:
                server.stop()
            except Exception:  # stop the others whatever one does
                log.exception("stopping a server failed", extra={"server": server.name})
        bootstrap.install(None)


def _watch_parent(stop: threading.Event, parent: int) -> None:
    while not stop.wait(0.5):
        if os.getppid() != parent:  # `tradewinds up` is gone: nobody will stop us
            stop.set()


def main(argv: list[str] | None = None) -> int:
    from shared import logs

    parser = argparse.ArgumentParser(prog="python -m infra.local.services")
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--step", choices=FUNCTION_STEPS, help="serve this step only (adapters from env)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", action="append", default=[], help="NAME=PORT")
    parser.add_argument("--predictor", default=None)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    if not args.step and (args.state_dir is None or args.config is None):
        parser.error("--state-dir and --config are needed (or --step NAME)")
    logs.configure(level=args.log_level.upper())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per push or /health is noise
    ports = {k: int(v) for k, v in (p.split("=", 1) for p in args.port)}
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=_watch_parent, args=(stop, os.getppid()), daemon=True).start()
    try:
        if args.step:
            host = StepServer(args.step, args.host, ports[args.step], None, load())
        else:
            host = Host(state_dir=args.state_dir, config_dir=args.config, host=args.host, ports=ports,
                        predictor=args.predictor)
        host.start()
    except Exception as exc:  # noqa: BLE001 - one line for the parent to show
        print(f"cannot start the local services: {exc}", file=sys.stderr)
        return 2
    log.info("local services up", extra={"ports": ports})
    stop.wait()
    host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
