"""What `tradewinds up` runs: child processes on distinct ports, one shared bus and store.

- default: ONE child, `python -m infra.local.services`, hosts the feed, the executor and the
  four function steps on the in-process bus and one SQLite store (`<state>/state.sqlite`);
  the in-process bus cannot be shared between processes, so they share a process;
- `--emulators`: the Pub/Sub and Firestore emulators (reused when reachable), the topology
  created on them with push subscriptions to the steps, and one process per component:
  the executor and the feed under uvicorn, each step under the functions-framework
  (`python -m infra.local.services --step NAME`, which adds `/health`);
- the predictor (LSTM) is its own process in both modes, when tensorflow is importable and
  a model directory exists; otherwise it is skipped and the signal step has no LSTM voter.

Dev tokens (admin, read) are generated fresh at every start, given to the children in
their environment (`TW_SECRET_ADMIN_TOKEN`, `TW_SECRET_READ_TOKEN`) and written to
`<state>/tokens.env` (mode 0600); they are never logged. Every child runs in a session of
its own; `stop()` ends each by its pid (SIGTERM to its process group, SIGKILL after a
bounded wait), newest first, then the emulators it started.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from functions.bootstrap import STEPS as FUNCTION_STEPS

SERVICES = ("feed", "executor", "predictor", *FUNCTION_STEPS)  # port = base + index
STOP_WAIT_S = 15.0
READY = {"feed": "/ready", "executor": "/ready"}  # data flowing; reconciled. The others: /health


class StackError(RuntimeError):
    """A start-up problem worth one line to the user."""


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log: Path


@dataclass
class LocalStack:
    config_dir: Path
    state_dir: Path
    host: str = "127.0.0.1"
    port_base: int = 8080  # 0: a free port for each service
    emulators: bool = False
    model_dir: Path = Path("artifacts/lstm")
    ports: dict[str, int] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    predictor_note: str = ""  # why the predictor is skipped ("" when it runs)
    tokens: dict[str, str] = field(default_factory=dict)
    tokens_path: Path | None = None
    _emulators: object = None

    # -- plan ------------------------------------------------------------------------
    def plan(self) -> None:
        if not (self.config_dir / "venues.yaml").is_file():
            raise StackError(f"no venues.yaml in {self.config_dir} (pass --config DIR)")
        self.predictor_note = predictor_skip_reason(self.model_dir)
        wanted = [s for s in SERVICES if s != "predictor" or not self.predictor_note]
        for i, name in enumerate(SERVICES):
            if name not in wanted:
                continue
            port = free_port(self.host) if self.port_base == 0 else self.port_base + i
            if not port_free(self.host, port):
                raise StackError(f"{name}: port {port} on {self.host} is in use (pick another --port-base)")
            self.ports[name] = port

    def describe(self) -> str:
        if self._emulators is not None:
            return f"the Pub/Sub + Firestore emulators (project {self._emulators.project})"
        return f"an in-process bus and the SQLite store {self.state_dir / 'state.sqlite'}"

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def write_tokens(self) -> Path:
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.tokens = {"admin": secrets.token_urlsafe(32), "read": secrets.token_urlsafe(32)}
        path = self.state_dir / "tokens.env"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an older file may have had other bits
        with os.fdopen(fd, "w") as fh:
            fh.write("# tradewinds up: dev tokens of the running stack (new at every start)\n"
                     f"TW_ADMIN_TOKEN={self.tokens['admin']}\nTW_READ_TOKEN={self.tokens['read']}\n")
        self.tokens_path = path
        return path

    # -- start -----------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        self.plan()
        self.write_tokens()
        try:
            env = self._base_env()
            if "predictor" in self.ports:
                self._spawn("predictor", [sys.executable, "-m", "uvicorn", "runtime.predictor.app:app",
                                          *self._bind("predictor"), "--no-access-log"],
                            {**env, "TRADEWINDS_MODEL_DIR": str(self.model_dir)})
            predictor = self.url("predictor") if "predictor" in self.ports else None
            if self.emulators:
                self._start_separate(env, predictor)
            else:
                ports = [a for s in ("feed", "executor", *FUNCTION_STEPS) for a in ("--port", f"{s}={self.ports[s]}")]
                self._spawn("services", [sys.executable, "-m", "infra.local.services", "--state-dir",
                                         str(self.state_dir), "--config", str(self.config_dir), "--host", self.host,
                                         *ports, *(["--predictor", predictor] if predictor else [])], env)
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("TRADEWINDS_BACKEND", "TRADEWINDS_MODE", "PORT")}
        env.update(TW_MODE="paper", TW_SECRETS="env", TW_CONFIG_DIR=str(self.config_dir),
                   TRADEWINDS_VENUES=str(self.config_dir / "venues.yaml"), PYTHONUNBUFFERED="1",
                   TW_SECRET_ADMIN_TOKEN=self.tokens["admin"], TW_SECRET_READ_TOKEN=self.tokens["read"])
        return env

    def _bind(self, name: str) -> list[str]:
        return ["--host", self.host, "--port", str(self.ports[name])]

    def _start_separate(self, env: dict[str, str], predictor: str | None) -> None:
        from infra.emulators import Emulators
        from infra.topology import load
        from shared.adapters.gcp.pubsub_bus import PubSubBus

        project = f"tw-up-{uuid.uuid4().hex[:8]}"
        self._emulators = Emulators(project=project, log_dir=self.state_dir / "logs").start()
        env = {**env, **self._emulators.env(), "TW_STORE": "firestore", "TRADEWINDS_BUS": "pubsub"}
        os.environ.update(self._emulators.env())  # this process creates the topology
        topology = load()
        PubSubBus(topology, project=project).ensure_topology(
            topology, push_endpoints={s: self.url(s) for s in FUNCTION_STEPS})
        for step in FUNCTION_STEPS:
            self._spawn(step, [sys.executable, "-m", "infra.local.services", "--step", step, "--host", self.host,
                               "--port", f"{step}={self.ports[step]}"],
                        {**env, "TW_NOTIFY_LOCAL_DIR": str(self.state_dir), "TW_PREDICTOR": predictor or "none"})
        self._spawn("executor", [sys.executable, "-m", "uvicorn", "runtime.executor.bootstrap:create_app",
                                 "--factory", *self._bind("executor"), "--no-access-log"], env)
        self._spawn("feed", [sys.executable, "-m", "uvicorn", "runtime.feed.app:create_app", "--factory",
                             *self._bind("feed"), "--no-access-log"], env)

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> Child:
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        path = logs / f"{name}.log"
        with open(path, "ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True,
                                    preexec_fn=_die_with_parent)  # noqa: PLW1509 - one prctl call
        child = Child(name, proc, path)
        self.children.append(child)
        return child

    def wait_healthy(self, timeout: float) -> None:
        """Until the feed and the executor are ready and the others healthy (bounded)."""
        deadline = time.monotonic() + timeout
        waiting = set(self.ports)
        while waiting:
            self.check_children()
            waiting = {name for name in waiting if not http_ok(self.url(name) + READY.get(name, "/health"))}
            if waiting and time.monotonic() > deadline:
                raise StackError(f"not healthy after {timeout:g} s: {', '.join(sorted(waiting))}"
                                 f" (logs in {self.state_dir / 'logs'})")
            time.sleep(0.2)

    def check_children(self) -> None:
        for child in self.children:
            code = child.proc.poll()
            if code is not None:
                tail = _last_line(child.log)
                raise StackError(f"{child.name} exited with {code}: {tail} (log: {child.log})")

    # -- stop ------------------------------------------------------------------------
    def stop(self) -> None:
        while self.children:
            end_group(self.children.pop().proc)
        if self._emulators is not None:
            self._emulators.stop()
            self._emulators = None


def end_group(proc: subprocess.Popen, wait_s: float = STOP_WAIT_S) -> None:
    """SIGTERM to the child's process group (its pid: it leads its own session), SIGKILL
    when it has not exited after `wait_s`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def predictor_skip_reason(model_dir: Path) -> str:
    if importlib.util.find_spec("tensorflow") is None:
        return "tensorflow is not installed (pip install -e '.[ml]')"
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        return f"no model in {model_dir} (train one: tradewinds ml train; or pass --model-dir)"
    return ""


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


_PRCTL = None
if sys.platform.startswith("linux"):  # loaded here, before any fork: the child only calls it
    with contextlib.suppress(OSError, AttributeError):
        _PRCTL = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when `tradewinds up` dies (even by SIGKILL)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
