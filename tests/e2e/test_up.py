"""`tradewinds up` as a user runs it: the installed command in a subprocess from a folder
outside the repository, every service on its own free port, one shared bus and store: the
in-process bus and SQLite (one child process), and the emulators (a process per component;
run when the emulators are up, as under `make test`).

A manual order placed through the executor API with the printed admin token changes
`/v1/positions` and `/v1/balances` (the risk step books the fill the executor published:
that needs the ONE bus); then SIGINT to the parent stops every child process (bounded).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]
INSTALLED = Path(sys.executable).with_name("tradewinds")
TRADEWINDS = [str(INSTALLED)] if INSTALLED.exists() else [sys.executable, "-m", "infra.cli.app"]
SERVICES = ("feed", "executor", "signal", "risk", "notification", "optimizer")
READY_LINE = "Ctrl-C stops everything."


def call(method: str, url: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def read_banner(proc: subprocess.Popen, lines: queue.Queue, timeout: float) -> list[str]:
    """stdout lines (fed to `lines` by a reader thread) up to the ready line."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            assert proc.poll() is None, f"tradewinds up exited: {proc.stderr.read()}"
            continue
        seen.append(line.rstrip("\n"))
        if seen[-1] == READY_LINE:
            return seen
    raise AssertionError(f"no '{READY_LINE}' within {timeout} s: {seen}")


@pytest.mark.parametrize("mode", ["in-process", "emulators"])
def test_up_is_one_system_and_ctrl_c_stops_every_child(tmp_path, mode):
    if mode == "emulators" and not (os.environ.get("PUBSUB_EMULATOR_HOST") and os.environ.get("FIRESTORE_EMULATOR_HOST")):
        pytest.skip("the emulators are not running (make test starts them)")
    state = tmp_path / "up"
    proc = subprocess.Popen(
        [*TRADEWINDS, "up", "--config", str(REPO / "config"), "--state-dir", str(state), "--port-base", "0",
         "--model-dir", str(tmp_path / "no-model"), "--timeout", "30", *(["--emulators"] if mode == "emulators" else [])],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines: queue.Queue = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
        reader.start()
        banner = read_banner(proc, lines, timeout=35)
        text = "\n".join(banner)
        urls = dict(re.findall(r"^\s+(\w+)\s+(http://127\.0\.0\.1:\d+)", text, re.MULTILINE))
        assert set(urls) == set(SERVICES), text  # the predictor: no model here
        assert len({u.rsplit(":", 1)[1] for u in urls.values()}) == 6  # distinct ports
        assert re.search(r"^\s+predictor\s+skipped: no model in", text, re.MULTILINE)
        admin = re.search(r"^\s+admin\s+(\S+)$", text, re.MULTILINE).group(1)
        read = re.search(r"^\s+read\s+(\S+)$", text, re.MULTILINE).group(1)
        assert len(admin) >= 32 and len(read) >= 32 and admin != read
        tokens = state / "tokens.env"
        assert tokens.stat().st_mode & 0o777 == 0o600
        assert f"TW_ADMIN_TOKEN={admin}" in tokens.read_text() and f"TW_READ_TOKEN={read}" in tokens.read_text()
        children = descendants(proc.pid)
        printed = {int(p) for p in re.findall(r"=(\d+)", re.search(r"^pids: (.*)$", text, re.MULTILINE).group(1))}
        assert printed and printed <= children

        for name, url in urls.items():
            status, body = call("GET", f"{url}/health")
            assert status == 200, (name, body)
        executor = urls["executor"]
        assert call("GET", f"{executor}/v1/positions")[0] == 401  # the tokens are the printed ones
        assert call("GET", f"{executor}/v1/positions", read) == (200, {"positions": []})
        _, before = call("GET", f"{executor}/v1/balances", read)
        held = {(b["venue"], b["asset"]): Decimal(b["total"]) for b in before["balances"]}
        assert held[("binance", "BTC")] == Decimal("0.1")  # config/risk.yaml start balances
        assert held[("binance", "USDT")] == Decimal(20000)

        order = {"idempotency_key": "up-test-0001", "venue": "binance", "symbol": "BTC/USDT", "side": "buy",
                 "quantity": "0.01"}
        assert call("POST", f"{executor}/v1/orders", read, order)[0] == 403  # read scope cannot trade
        deadline, status = time.monotonic() + 10, 503
        while status == 503 and time.monotonic() < deadline:  # 503: no current book yet (same key: one order)
            status, placed = call("POST", f"{executor}/v1/orders", admin, order)
        assert status == 201 and placed["order"]["state"] == "filled", placed
        price = Decimal(placed["order"]["avg_price"])  # the simulated book's ask at that moment

        deadline, positions = time.monotonic() + 10, []
        while not positions and time.monotonic() < deadline:  # the risk step books the fill
            positions = call("GET", f"{executor}/v1/positions", read)[1]["positions"]
            time.sleep(0.1)
        assert [(p["venue"], p["symbol"], Decimal(p["quantity"])) for p in positions] == [
            ("binance", "BTC/USDT", Decimal("0.01"))]
        _, after = call("GET", f"{executor}/v1/balances", read)
        now = {(b["venue"], b["asset"]): Decimal(b["total"]) for b in after["balances"]}
        assert now[("binance", "BTC")] == Decimal("0.11")  # 0.1 + 0.01 bought
        # USDT: 20000 - 0.01 * price paid - taker fee 7.5 bps (config/venues.yaml) of that notional;
        # the fee is kept to 8 decimals (e.g. price 65030.57: 20000 - 650.3057 - 0.48772928 = 19349.20657072)
        expected = Decimal(20000) - Decimal("0.01") * price * Decimal("1.00075")
        assert abs(now[("binance", "USDT")] - expected) <= Decimal("0.00000001")
        assert now[("okx", "USDT")] == Decimal(20000)  # another venue untouched
        logged = "".join(p.read_text(errors="replace") for p in (state / "logs").iterdir())
        assert admin not in logged and read not in logged  # never logged

        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        err = proc.stderr.read()
        reader.join(timeout=5)
        out = "".join(lines.queue)
        assert proc.returncode == 0, err
        assert out.splitlines()[-2:] == ["stopping ...", "stopped"] and "Traceback" not in err
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if alive(pid)]
        assert time.monotonic() - started < 30
        for url in urls.values():  # nobody listens any more
            with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), 1):
                pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_a_port_in_use_is_one_line_and_starts_nothing(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        base = busy.getsockname()[1]  # the feed's port (BASE + 0) is taken
        result = subprocess.run(
            [*TRADEWINDS, "up", "--config", str(REPO / "config"), "--state-dir", str(tmp_path / "up"),
             "--port-base", str(base), "--model-dir", str(tmp_path / "no-model")],
            cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"tradewinds up: feed: port {base} on 127.0.0.1 is in use "
                                     "(pick another --port-base)")
    assert not (tmp_path / "up").exists()
