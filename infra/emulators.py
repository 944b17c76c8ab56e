"""The official Pub/Sub and Firestore emulators, started on 127.0.0.1 when none is reachable.

    python -m infra.emulators start|stop|status|env

`start` launches what is missing (each in its own process group), waits until both answer
(bounded), and writes PIDs, ports and an `env` file of exports to `.emulators/`. `stop`
ends only the process groups recorded there. In Python, `Emulators` is a context manager
that stops what it started on exit, and on SIGTERM/Ctrl-C through the usual unwinding.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

PROJECT = "tradewinds-local"
STATE_DIR = Path(".emulators")
START_TIMEOUT_S = 60.0
POLL_S = 0.1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable(host: str, timeout: float = 0.5) -> bool:
    """Both emulators answer `GET /` with 200 "Ok"."""
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _command(kind: str, host: str, project: str) -> list[str]:
    if kind == "pubsub":
        return ["gcloud", "beta", "emulators", "pubsub", "start", f"--host-port={host}",
                f"--project={project}", "--quiet"]
    return ["gcloud", "emulators", "firestore", "start", f"--host-port={host}", "--quiet"]


@dataclass
class Emulator:
    kind: str  # "pubsub" | "firestore"
    host: str
    proc: subprocess.Popen | None = None  # None: found running, not ours

    @property
    def env_name(self) -> str:
        return "PUBSUB_EMULATOR_HOST" if self.kind == "pubsub" else "FIRESTORE_EMULATOR_HOST"

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        _kill_group(self.proc.pid, timeout, wait=self.proc.wait)


def _kill_group(pid: int, timeout: float, wait=None) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wait is not None:
                try:
                    wait(timeout=POLL_S)
                    return
                except subprocess.TimeoutExpired:
                    continue
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(POLL_S)


@dataclass
class Emulators:
    """Reuse reachable emulators (env or given hosts); start the missing ones."""

    project: str = PROJECT
    pubsub_host: str | None = None
    firestore_host: str | None = None
    log_dir: Path | None = None
    started: list[Emulator] = field(default_factory=list)

    def start(self, timeout: float = START_TIMEOUT_S) -> Emulators:
        wanted = []
        for kind in ("pubsub", "firestore"):
            env = "PUBSUB_EMULATOR_HOST" if kind == "pubsub" else "FIRESTORE_EMULATOR_HOST"
            host = getattr(self, f"{kind}_host") or os.environ.get(env)
            if host and reachable(host):
                setattr(self, f"{kind}_host", host)
                continue
            host = f"127.0.0.1:{free_port()}" if not host or not host.startswith("127.0.0.1") else host
            setattr(self, f"{kind}_host", host)
            wanted.append(self._launch(kind, host))
        deadline = time.monotonic() + timeout
        for emu in wanted:
            while not reachable(emu.host):
                if emu.proc is not None and emu.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{emu.kind} emulator exited with {emu.proc.returncode}"
                                       f" (log in {self.log_dir or 'stderr'})")
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"{emu.kind} emulator not reachable on {emu.host} in {timeout}s")
                time.sleep(POLL_S)
        return self

    def _launch(self, kind: str, host: str) -> Emulator:
        out = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{kind}.log", "ab")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(_command(kind, host, self.project), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        emu = Emulator(kind, host, proc)
        self.started.append(emu)
        return emu

    def env(self) -> dict[str, str]:
        return {"PUBSUB_EMULATOR_HOST": self.pubsub_host or "",
                "FIRESTORE_EMULATOR_HOST": self.firestore_host or "",
                "GOOGLE_CLOUD_PROJECT": self.project}

    def export(self) -> None:
        """Point the official clients in this process at the emulators."""
        os.environ.update(self.env())

    def stop(self) -> None:
        while self.started:
            self.started.pop().stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def reset_firestore(host: str, project: str) -> None:
    """Delete every document of a project (emulator-only endpoint)."""
    url = f"http://{host}/emulator/v1/projects/{project}/databases/(default)/documents"
    urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=5).close()


# -- CLI: python -m infra.emulators start|stop|status|env --------------------------------

def _state_file(state_dir: Path) -> Path:
    return state_dir / "state.json"


def cli_start(state_dir: Path = STATE_DIR) -> dict:
    state_dir.mkdir(parents=True, exist_ok=True)
    emus = Emulators(
        pubsub_host=os.environ.get("PUBSUB_EMULATOR_HOST") or f"127.0.0.1:{os.environ.get('TW_PUBSUB_PORT', '8085')}",
        firestore_host=os.environ.get("FIRESTORE_EMULATOR_HOST")
        or f"127.0.0.1:{os.environ.get('TW_FIRESTORE_PORT', '8086')}",
        log_dir=state_dir,
    ).start()
    state = {"project": emus.project, "hosts": emus.env(),
             "pids": {e.kind: e.proc.pid for e in emus.started if e.proc}}
    previous = cli_status(state_dir, quiet=True)
    state["pids"] = {**previous.get("pids", {}), **state["pids"]}
    _state_file(state_dir).write_text(json.dumps(state, indent=2))
    (state_dir / "env").write_text("".join(f"export {k}={v}\n" for k, v in emus.env().items()))
    emus.started.clear()  # leave them running: `stop` ends them
    return state


def cli_status(state_dir: Path = STATE_DIR, quiet: bool = False) -> dict:
    path = _state_file(state_dir)
    state = json.loads(path.read_text()) if path.exists() else {}
    if not quiet:
        for name, host in state.get("hosts", {}).items():
            if name.endswith("_HOST"):
                print(f"{name}={host} {'up' if reachable(host) else 'down'}")
        if not state:
            print("no emulators recorded in", state_dir)
    return state


def cli_stop(state_dir: Path = STATE_DIR) -> None:
    state = cli_status(state_dir, quiet=True)
    for kind, pid in state.get("pids", {}).items():
        _kill_group(pid, timeout=10.0)
        print(f"stopped {kind} (pgid {pid})")
    for name in ("state.json", "env"):
        (state_dir / name).unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "start":
        state = cli_start()
        print(f"emulators up: {state['hosts']}; `source {STATE_DIR}/env` to use them")
    elif command == "stop":
        cli_stop()
    elif command == "status":
        cli_status()
    elif command == "env":
        for key, value in cli_status(quiet=True).get("hosts", {}).items():
            print(f"export {key}={value}")
    else:
        print("usage: python -m infra.emulators start|stop|status|env", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
