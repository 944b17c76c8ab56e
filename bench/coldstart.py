"""Cold start of the Cloud Functions: a fresh process to the first message handled.

For each entry point of functions/main.py (signal, risk, notification, optimizer) a new
Python process (subprocess) loads the source the way the functions-framework does
(`create_app(target, source=functions/main.py, signature_type="cloudevent")`), puts the
local in-process ports where the cloud clients would be (`bootstrap.install`: SQLite store
in a temp dir, an in-memory bus, secrets from env files, the message clock, notifications
to a local file), and posts one Pub/Sub push body to the app's test client — a typical
first message of that step — then a second one (warm). Phases, in wall milliseconds:

- spawn: from the parent's `Popen` to the child's first line (interpreter start-up);
- app: importing the framework and functions/main.py, building the app;
- ports: importing the bootstrap and the local adapters, installing them (in the cloud:
  building the Firestore / Pub/Sub / Secret Manager clients instead);
- first: the first message, end to end (the composition root, the handler module and
  its dependencies are imported and built on it, then the step runs);
- total: the parent's `Popen` to the first message handled;
- warm: the second message, for comparison;
- cpu_*: the same phases on the child's CPU clock (`process_time`; cpu_start is the
  interpreter's own start-up), steadier than wall time on a busy host.

Messages: signal a closed 1-minute Bar; risk a Signal; notification a Notification;
optimizer the scheduler's split request (strategy "*": one request per enabled strategy,
no optimisation run in it). The signal step builds its LSTM predictor from config/ml.yaml
as in production (`--no-predictor` leaves it out).

    .venv/bin/python bench/coldstart.py [--runs 3] [--steps signal,risk] [--no-predictor] [--c-yaml]

`--c-yaml` adds a row per step with `yaml.safe_load` swapped for libyaml's CSafeLoader in
the child (the config loaders call `yaml.safe_load`): the saving that change would bring.
Third-party packages in the dev venv but not in the functions bundle can add to the
figures (httpx imports rich/pygments for its CLI, httpcore imports trio, when present).
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("signal", "risk", "notification", "optimizer")
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def first_messages(step: str) -> list:
    """Two messages of the kind the step's subscription carries (built in the child)."""
    from shared.contracts import Bar, Notification, OptimizerRequest, Side, Signal

    if step == "signal":
        return [Bar(venue="binance", symbol="BTC/USDT", open_time=T0.replace(minute=m), open=Decimal(65000),
                    high=Decimal(65010), low=Decimal(64990), close=Decimal(65005), volume=Decimal(3))
                for m in (0, 1)]
    if step == "risk":
        return [Signal(venue="binance", symbol="BTC/USDT", side=Side.BUY, confidence=0.7, price=Decimal(65000),
                       bar_time=T0.replace(minute=m)) for m in (0, 1)]
    if step == "notification":
        return [Notification(kind="startup", title=f"bench {i}", dedupe_key=f"bench-{i}", created_at=T0)
                for i in (0, 1)]
    return [OptimizerRequest(strategy="*", reason="nightly", window_start=T0.replace(day=1), window_end=T0.replace(day=d))
            for d in (4, 5)]


def push_body(envelope, message_id: str, subscription: str) -> dict:
    msg = {"data": base64.b64encode(envelope.to_json()).decode(), "attributes": envelope.attributes(),
           "messageId": message_id, "publishTime": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    return {"message": msg, "subscription": f"projects/p/subscriptions/{subscription}"}


class MemoryBus:
    """The Bus port in memory: what the step publishes is kept, nothing is delivered (a function
    is called by its push subscription: a handler subscribed here is recorded, never called)."""

    def __init__(self):
        self.published: list[tuple[str, str]] = []
        self.dead: list[tuple[str, str]] = []
        self.handlers: dict[str, object] = {}

    def publish(self, topic, envelope, ordering_key=None) -> str:
        self.published.append((topic, envelope.id))
        return str(len(self.published))

    def subscribe(self, subscription, handler) -> None:
        self.handlers[subscription] = handler

    def dead_letter(self, topic, data, attributes, reason, **extra) -> str:
        self.dead.append((topic, reason))
        return f"dlq-{len(self.dead)}"


def child(step: str, predictor: bool, c_yaml: bool) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    if c_yaml:  # what the config loaders would gain from libyaml (same documents, parsed in C)
        import yaml

        yaml.safe_load = lambda stream: yaml.load(stream, Loader=yaml.CSafeLoader)
    import functions_framework

    app = functions_framework.create_app(target=step, source=str(ROOT / "functions" / "main.py"),
                                         signature_type="cloudevent")
    client = app.test_client()
    t_app, c_app = time.perf_counter(), time.process_time()
    from functions import bootstrap
    from infra.topology import load
    from shared.adapters.local.secrets import EnvFileSecrets
    from shared.adapters.local.sqlite_store import SqliteStore

    tmp = Path(tempfile.mkdtemp(prefix="tw-coldstart-"))
    bus = MemoryBus()
    topology = load()
    bootstrap.install(bootstrap.Infra(
        store=SqliteStore(str(tmp / "state.sqlite")), bus=bus, clock=bootstrap.MessageClock(),
        secrets=EnvFileSecrets(tmp), topology=topology, config_dir=str(ROOT / "config"),
        notify_local_dir=str(tmp), predictor="config" if predictor else None))
    t_ports, c_ports = time.perf_counter(), time.process_time()
    from shared.contracts import wrap

    subscription = topology.subscriptions_of(step)[0].name
    times, answers = [], []
    for i, body in enumerate(first_messages(step)):
        envelope = wrap(body, ts=T0, id=f"coldstart-{step}-{i}")
        s0, u0 = time.perf_counter(), time.process_time()
        answers.append(client.post("/", json=push_body(envelope, str(1000 + i), subscription)).status_code)
        times.append(time.perf_counter() - s0)
        if i == 0:
            first_at, cpu_first = time.time(), time.process_time() - u0
    print(json.dumps({"step": step, "first_at": first_at, "start_at": time.time() - (time.perf_counter() - t0),
                      "app": t_app - t0, "ports": t_ports - t_app, "first": times[0], "warm": times[1],
                      "cpu_start": c0, "cpu_app": c_app - c0, "cpu_ports": c_ports - c_app, "cpu_first": cpu_first,
                      "status": answers, "published": len(bus.published), "dead": len(bus.dead),
                      "modules": len(sys.modules)}))


def run_one(step: str, predictor: bool, c_yaml: bool) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step]
    cmd += ([] if predictor else ["--no-predictor"]) + (["--c-yaml"] if c_yaml else [])
    spawned = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{step}: child failed\n{out.stderr[-3000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["spawn"] = res["start_at"] - spawned
    res["total"] = res["first_at"] - spawned
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, default=3, help="fresh processes per step (the median is printed)")
    ap.add_argument("--steps", default=",".join(STEPS))
    ap.add_argument("--no-predictor", action="store_true", help="the signal step without its LSTM predictor")
    ap.add_argument("--c-yaml", action="store_true",
                    help="also each step with yaml.safe_load parsing in C (libyaml CSafeLoader)")
    args = ap.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        child(args.child, not args.no_predictor, args.c_yaml)
        return
    baseline = []
    for _ in range(args.runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        baseline.append(time.perf_counter() - t)
    print(f"python start + exit, no imports: median {statistics.median(baseline) * 1e3:.0f} ms")
    cols = ("spawn", "app", "ports", "first", "total", "warm", "cpu_start", "cpu_app", "cpu_ports", "cpu_first")
    print(f"{'step':<20}" + "".join(f"{c:>10}" for c in cols) + "   status  published  modules  (ms, median of "
          f"{args.runs})")
    for step in args.steps.split(","):
        for c_yaml in (False, True) if args.c_yaml else (False,):
            runs = [run_one(step, not args.no_predictor, c_yaml) for _ in range(args.runs)]
            med = {c: statistics.median(r[c] for r in runs) * 1e3 for c in cols}
            last = runs[-1]
            name = f"{step}{' C-yaml' if c_yaml else ''}"
            print(f"{name:<20}" + "".join(f"{med[c]:10.0f}" for c in cols)
                  + f"   {','.join(map(str, last['status'])):<7} {last['published']:>9} {last['modules']:>8}")


if __name__ == "__main__":
    main()
